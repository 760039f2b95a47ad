"""Our runs or the authors' files, into one network (``load_run_or_official``), and where each family loads
its authors' files. The readers themselves (strict, weights-only) are network-independent:
:mod:`inpainting.utils.checkpoint_read`.

| format | file content | loader |
|---|---|---|
| MISF generator / discriminator | ``{'iteration', 'generator'}`` / ``{'discriminator'}`` | ``inpainting.nets.misf.checkpoint`` |
| JPGNet PFUNet / UAFNet | bare state dict (54 keys) | :func:`inpainting.nets.jpgnet.load_jpgnet_kpn` |
| EdgeConnect generators (``EdgeModel_gen.pth``, ``InpaintingModel_gen.pth``) | ``{'iteration', 'generator'}`` | :func:`inpainting.nets.edgeconnect.load_edgeconnect_generator` |
| RFRNet, CTSDG, PConv, StructureFlow | see each family's ``checkpoint.py`` | |
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from torch import nn

from inpainting.utils.checkpoint_read import (
    CheckpointError,
    handed_on_checkpoint,
    load_state_dict_strict,
    read_checkpoint,
)

__all__ = ["CheckpointError", "load_run_or_official"]  # CheckpointError: what callers of the loaders catch


def load_run_or_official(
    module: nn.Module, path: str | os.PathLike, lightning_prefix: str, official_loader: Callable[[nn.Module, str], object]
) -> nn.Module:
    """Load ``path`` into ``module``: one of our runs or the authors' file.

    ``path`` may be a run folder (the checkpoint it hands on: see :func:`handed_on_checkpoint`),
    a Lightning ``.ckpt`` (the keys under ``lightning_prefix``, e.g. ``net.kpn.``) or an official file
    (read by ``official_loader``). Strict in every case.
    """
    if Path(path).is_dir():
        path = handed_on_checkpoint(path)
    content = read_checkpoint(path)
    if "state_dict" not in content:
        official_loader(module, str(path))
        return module
    state = {k[len(lightning_prefix):]: v for k, v in content["state_dict"].items() if k.startswith(lightning_prefix)}
    if not state:
        raise CheckpointError(
            f"{path}: Lightning checkpoint without '{lightning_prefix}*' keys (first keys: "
            f"{list(content['state_dict'])[:4]}); is it the right stage's run?"
        )
    return load_state_dict_strict(module, state, f"{path} ({lightning_prefix}*)")
