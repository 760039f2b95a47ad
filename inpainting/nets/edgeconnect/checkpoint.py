"""EdgeConnect's released generator files, ``EdgeModel_gen.pth`` / ``InpaintingModel_gen.pth``.

Both hold ``{'iteration', 'generator': G.state_dict()}`` (G1 in the spectral-norm layout ``weight_orig``,
``weight_u``, ``weight_v``). Our runs' checkpoints hold the same generators under
``net.edge_generator.*`` / ``net.inpaint_generator.*`` (the adapter's attribute names).
"""
from __future__ import annotations

import os

from torch import nn

from inpainting.nets.checkpoints import load_run_or_official
from inpainting.utils.checkpoint_read import checkpoint_entry, load_state_dict_strict, read_checkpoint

RUN_PREFIX = {"edge": "net.edge_generator.", "inpaint": "net.inpaint_generator."}


def load_edgeconnect_generator(generator: nn.Module, path: str | os.PathLike) -> int:
    """Load an EdgeConnect ``{'iteration', 'generator'}`` file (edge or inpainting G); returns the iteration."""
    content = read_checkpoint(path)
    load_state_dict_strict(generator, checkpoint_entry(content, "generator", str(path)), str(path))
    return int(content.get("iteration", 0))


def load_generator(generator: nn.Module, path: str | os.PathLike, which: str) -> nn.Module:
    """G1 (``which="edge"``) or G2 (``"inpaint"``) from an official file, one of our runs' ``.ckpt`` or a run folder."""
    return load_run_or_official(generator, path, RUN_PREFIX[which], load_edgeconnect_generator)
