"""Per-network adapters: framework conventions in (image in [0,1], mask 1 = hole), a dict out.

Each network keeps its authors' input conventions (hole fill, mask channel, polarity, value range);
its adapter is the one place that converts, so LightningModules and the evaluator never need to
know them. Every adapter returns at least ``pred`` (the raw, uncomposited output in [0,1]-image
convention).
"""
from __future__ import annotations

import torch
from torch import nn

from inpainting.nets.uncertainty import uncertainty_map


class PFUNetInpainter(nn.Module):
    """JPGNet's PFUNet: 3-channel masked image with holes = 0 and no mask channel (method-spec 5.1).

    Returns ``pred``, the predicted ``kernels`` and the ``uncertainty`` map derived from them.
    """

    def __init__(self, kpn: nn.Module, uncertainty: str = "avg", uncertainty_normalize: str = "batch"):
        super().__init__()
        self.kpn = kpn
        self.uncertainty_reduce = uncertainty
        self.uncertainty_normalize = uncertainty_normalize

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pred, kernels = self.kpn(image * (1 - mask))
        uncertainty = uncertainty_map(kernels.detach(), self.uncertainty_reduce, self.uncertainty_normalize)
        return {"pred": pred, "kernels": kernels, "uncertainty": uncertainty}
