"""PConv U-Net in the framework's conventions (image in [0,1], mask (B,1,H,W) with 1 = hole)."""
from __future__ import annotations

import torch

from inpainting.nets.adapter import GeneratorAdapter
from inpainting.nets.pconv.checkpoint import load_pconv_unet
from inpainting.nets.pconv.network import META


class PConvInpainter(GeneratorAdapter):
    """Feeds the U-Net ``(I * V, V3)`` with ``V = 1 - mask`` repeated to 3 channels (1 = valid, holes 0).

    Returns ``pred``: the raw output (no activation, not composited). ``load_weights(weights=...)``: a bare
    ``PConvUNet`` state dict (see :mod:`inpainting.nets.pconv.checkpoint`), one of our runs' ``.ckpt`` or its run
    folder, strictly. The authors released no network weights, so no ``official=pconv`` exists.
    """

    meta = META
    file_loader = staticmethod(load_pconv_unet)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        valid = (1 - mask).expand(-1, 3, -1, -1)
        return {"pred": self.generator(image * valid, valid)}
