"""MISF in the framework's conventions: ``forward(image, mask) -> {"pred", ["kernels"]}``."""
from __future__ import annotations

import os

import torch

from inpainting.nets.adapter import Adapter
from inpainting.nets.misf.checkpoint import load_misf_generator
from inpainting.nets.misf.network import META, MISFGenerator


class MISFInpainter(Adapter):
    """MISF generator or one of its ablation variants.

    Returns ``pred`` (raw ``(tanh + 1) / 2`` output) and, for variants that filter the image logits,
    the 27 image ``kernels``. ``weights``: an official ``*_InpaintingModel_gen.pth`` loaded strictly
    (``variant="misf"`` only), e.g. to evaluate it or to serve as a frozen stage.
    """

    meta = META
    weight_files = ("weights",)

    def __init__(self, generator: MISFGenerator, weights: str | None = None):
        super().__init__()
        self.generator = generator
        if weights:
            self.load_weights(weights)

    def load_weights(self, weights: str | os.PathLike) -> None:
        load_misf_generator(self.generator, weights)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pred, kernels = self.generator(image, mask, return_kernels=True)
        return {"pred": pred} if kernels is None else {"pred": pred, "kernels": kernels}
