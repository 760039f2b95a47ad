"""The authors' RFRNet checkpoint layout (``utils/io.py`` ``save_ckpt``): ``{'n_iter', 'generator', 'optimizer_G'}``.

Saved as ``g_<iter>.pth`` (e.g. the released ``checkpoint_celeba.pth``, JPGNet's
``RFR_duhuang_g_113000.pth``). The official loader uses ``strict=False`` inside a bare
try/except, so a wrong file silently leaves the network random; this one is strict and names the
missing and unexpected keys. The optimizer state is not read.
"""
from __future__ import annotations

import os

from torch import nn

from inpainting.utils.checkpoint_read import CheckpointError, load_state_dict_strict, read_checkpoint


def load_rfrnet_checkpoint(generator: nn.Module, path: str | os.PathLike) -> int:
    """Load the ``generator`` entry of an official RFRNet file strictly; returns its ``n_iter``."""
    content = read_checkpoint(path)
    if "generator" not in content:
        raise CheckpointError(f"{path}: not an RFRNet checkpoint (expected entries 'n_iter', 'generator', "
                              f"'optimizer_G'); the file has entries {sorted(content)}")
    load_state_dict_strict(generator, content["generator"], str(path))
    return int(content.get("n_iter", 0))
