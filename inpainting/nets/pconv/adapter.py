"""PConv U-Net in the framework's conventions (image in [0,1], mask (B,1,H,W) with 1 = hole)."""
from __future__ import annotations

import os

import torch

from inpainting.nets.adapter import Adapter
from inpainting.nets.pconv.checkpoint import load_pconv_unet
from inpainting.nets.pconv.network import META, PConvUNet


class PConvInpainter(Adapter):
    """Feeds the U-Net ``(I * V, V3)`` with ``V = 1 - mask`` repeated to 3 channels (1 = valid, holes 0).

    Returns ``pred``: the raw output (no activation, not composited). ``weights``: a bare
    ``PConvUNet`` state dict loaded strictly (see :mod:`inpainting.nets.pconv.checkpoint`). The authors
    released no network weights, so no ``official=pconv`` exists.
    """

    meta = META
    weight_files = ("weights",)

    def __init__(self, generator: PConvUNet, weights: str | None = None):
        super().__init__()
        self.generator = generator
        if weights:
            self.load_weights(weights)

    def load_weights(self, weights: str | os.PathLike) -> None:
        load_pconv_unet(self.generator, weights)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        valid = (1 - mask).expand(-1, 3, -1, -1)
        return {"pred": self.generator(image * valid, valid)}
