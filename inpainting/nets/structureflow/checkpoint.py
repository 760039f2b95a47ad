"""Loaders for StructureFlow's checkpoint files (official ``src/base_model.py``).

Each network is its own file ``<PATH>/<NAME>/checkpoints/<which>_net_<net>.pth``, a flat
``torch.save(net.state_dict())`` (no wrapper, no ``module.`` prefix), ``<net>`` one of ``s_gen``
(Gs), ``s_dis``, ``f_gen`` (Gt), ``f_dis``; the released models are tested with
``latest_net_s_gen.pth`` and ``latest_net_f_gen.pth``. The official loader falls back to the
matching keys when a strict load fails; these loaders are strict and list every missing and
unexpected key.
"""
from __future__ import annotations

import os

from torch import nn

from inpainting.utils.checkpoint_read import load_state_dict_strict, read_checkpoint

STRUCTURE_GENERATOR_FILE = "latest_net_s_gen.pth"
FLOW_GENERATOR_FILE = "latest_net_f_gen.pth"


def load_structureflow_network(network: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load one official StructureFlow file (Gs, Gt or a discriminator: a plain state dict) strictly."""
    return load_state_dict_strict(network, read_checkpoint(path), str(path))
