"""PConv U-Net weights: no inpainting checkpoint was ever released (NVIDIA published only the layer), so the
one file format is a bare ``PConvUNet.state_dict()`` (``torch.save(net.state_dict(), path)``, e.g. exported
from a run of ``experiment=pconv``), loaded strictly."""
from __future__ import annotations

import os

from torch import nn

from inpainting.utils.checkpoint_read import load_state_dict_strict, read_checkpoint


def load_pconv_unet(generator: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a bare PConv U-Net state dict; a key mismatch lists the missing and unexpected keys."""
    return load_state_dict_strict(generator, read_checkpoint(path), str(path))
