"""Per-network adapters: framework conventions in (image in [0,1], mask 1 = hole), a dict out.

Each network keeps its authors' input conventions (hole fill, mask channel, polarity, value range);
its adapter is the one place that converts, so LightningModules and the evaluator never need to
know them. Every adapter returns at least ``pred`` (the raw, uncomposited output in [0,1]-image
convention).
"""
from __future__ import annotations

import torch
from torch import nn

from inpainting.nets.checkpoints import load_misf_generator
from inpainting.nets.misf import MISFGenerator


class MISFInpainter(nn.Module):
    """MISF generator or one of its ablation variants (the generator takes the framework convention).

    Returns ``pred`` (raw ``(tanh + 1) / 2`` output) and, for variants that filter the image logits,
    the 27 image ``kernels`` (read from the kernel-prediction branch with a forward hook, so the
    generator's own forward stays the official one). ``weights``: an official
    ``*_InpaintingModel_gen.pth`` loaded strictly (``variant="misf"`` only), e.g. to evaluate it.
    """

    def __init__(self, generator: MISFGenerator, weights: str | None = None):
        super().__init__()
        self.generator = generator
        self._image_kernels: torch.Tensor | None = None
        if generator.plan.image_filter:
            generator.kpn_model.register_forward_hook(self._keep_image_kernels)
        if weights:
            load_misf_generator(generator, weights)

    def _keep_image_kernels(self, module, inputs, outputs) -> None:
        self._image_kernels = outputs[1]

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        self._image_kernels = None
        out = {"pred": self.generator(image, mask)}
        if self._image_kernels is not None:
            out["kernels"], self._image_kernels = self._image_kernels, None
        return out
