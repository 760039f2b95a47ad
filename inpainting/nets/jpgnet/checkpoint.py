"""JPGNet's released PFUNet / UAFNet files: bare state dicts of 54 keys (official ``kpn/network.py`` names).

Our PFUNet runs keep the KPN under ``net.kpn.*`` (the adapter's attribute).
"""
from __future__ import annotations

import os

from torch import nn

from inpainting.nets.checkpoints import load_run_or_official
from inpainting.utils.checkpoint_read import load_state_dict_strict, read_checkpoint

PFUNET_RUN_PREFIX = "net.kpn."


def load_jpgnet_kpn(kpn: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a JPGNet PFUNet/UAFNet file, a bare state dict of 54 keys.

    The official loader silently keeps only matching keys; this one is strict.
    """
    return load_state_dict_strict(kpn, read_checkpoint(path), str(path))


def load_pfunet(kpn: nn.Module, path: str | os.PathLike) -> nn.Module:
    """PFUNet's KPN from the official file, one of our ``jpgnet_pfunet`` runs' ``.ckpt`` or its run folder."""
    return load_run_or_official(kpn, path, PFUNET_RUN_PREFIX, load_jpgnet_kpn)
