"""MISF in the framework's conventions: ``forward(image, mask) -> {"pred", ["kernels"]}``."""
from __future__ import annotations

import torch

from inpainting.nets.adapter import GeneratorAdapter
from inpainting.nets.misf.checkpoint import load_misf_generator
from inpainting.nets.misf.network import META


class MISFInpainter(GeneratorAdapter):
    """MISF generator or one of its ablation variants.

    Returns ``pred`` (raw ``(tanh + 1) / 2`` output) and, for variants that filter the image logits,
    the 27 image ``kernels``. ``load_weights(weights=...)``: an official ``*_InpaintingModel_gen.pth`` (``variant="misf"``
    only), one of our runs' ``.ckpt`` or its run folder, strictly, e.g. to evaluate it or to serve as a frozen stage.
    """

    meta = META
    file_loader = staticmethod(load_misf_generator)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pred, kernels = self.generator(image, mask, return_kernels=True)
        return {"pred": pred} if kernels is None else {"pred": pred, "kernels": kernels}
