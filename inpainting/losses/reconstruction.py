"""MISF's reconstruction term: whole-image L1 divided by the batch hole ratio (docs/authors-code.md#misf-training, quirk
M8).

The official code takes ``mean|O - I|`` over every pixel of the batch (holes and known region alike)
and divides it by ``mean(M)``, the fraction of hole pixels in the whole batch. Small holes therefore
get a proportionally larger weight. This is kept by default (``normalize_by_hole_ratio=True``).

A batch with no hole at all would divide by 0 (inf/NaN in the official code). Here such a batch
falls back to dividing by 1, i.e. the plain L1: with nothing to inpaint there is no ratio to
normalize by, and the result stays finite. The choice is made on the tensor (``torch.where``), so
it needs no host synchronisation. The hole ratio is a constant of the batch, not differentiated.
"""
from __future__ import annotations

import torch
from torch import nn

from inpainting.utils.shapes import check_image_pair, check_mask


def hole_normalized_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                       normalize_by_hole_ratio: bool = True) -> torch.Tensor:
    """MISF L1: ``mean|pred - target| / mean(mask)`` (mask 1 = hole, (B, 1, H, W)); scalar.

    With ``normalize_by_hole_ratio=False`` it is the plain whole-image ``mean|pred - target|``.
    A batch without holes is divided by 1 instead of 0 (see the module docstring).
    """
    check_image_pair(pred, target, "hole_normalized_l1")
    check_mask(mask, pred, "hole_normalized_l1")
    l1 = (pred - target).abs().mean()
    if not normalize_by_hole_ratio:
        return l1
    hole_ratio = mask.detach().to(l1.dtype).mean()
    return l1 / torch.where(hole_ratio > 0, hole_ratio, torch.ones_like(hole_ratio))


class HoleNormalizedL1Loss(nn.Module):
    """Module form of :func:`hole_normalized_l1`; ``forward(pred, target, mask)`` returns a scalar."""

    def __init__(self, normalize_by_hole_ratio: bool = True):
        super().__init__()
        self.normalize_by_hole_ratio = normalize_by_hole_ratio

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return hole_normalized_l1(pred, target, mask, self.normalize_by_hole_ratio)

    def extra_repr(self) -> str:
        return f"normalize_by_hole_ratio={self.normalize_by_hole_ratio}"
