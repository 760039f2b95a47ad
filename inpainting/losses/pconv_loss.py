"""The partial-convolution inpainting loss (Liu et al., ECCV 2018), which RFRNet uses with the same weights.

    total = 1 * valid + 6 * hole + 0.05 * perceptual + 120 * style + 0.1 * tv

with O the raw output, I the ground truth, C = O*hole + I*valid the composite, M the hole mask:

* ``valid`` / ``hole``: ``mean(|O - I| * (1-M))`` / ``mean(|O - I| * M)``, both averaged over all pixels;
* ``perceptual``: sum over VGG16 pool1..pool3 of ``mean|phi(O) - phi(I)| + mean|phi(C) - phi(I)|``;
* ``style``: the same with per-sample Gram matrices ``f f^T / (C*H*W)`` (:func:`gram_matrix`);
* ``tv``: ``tv_region="hole"`` (RFRNet's ``model.py``): TV of ``C * M`` over the whole image, mean of the
  absolute vertical differences plus mean of the horizontal ones; ``"dilated_hole"`` (the PConv paper):
  the absolute differences ``C[i, j+1] - C[i, j]`` and ``C[i+1, j] - C[i, j]`` summed over the pixels
  (i, j) of the 1-pixel dilation of the hole, divided by the number of elements of C.

The VGG sees raw [0,1] images by default (RFRNet); ``vgg_imagenet_norm=True`` normalizes them with the
ImageNet mean/std first, as NVIDIA's released VGG16 loss (``models/loss.py``) does. Terms with weight 0
are not computed; with perceptual and style at 0 no VGG16 is built.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.losses._validation import loss_weights
from inpainting.losses.feature_losses import IMAGENET_MEAN, IMAGENET_STD, gram_matrix
from inpainting.losses.vgg16 import VGG16PoolFeatures
from inpainting.utils.shapes import check_image_pair, check_mask

TV_REGIONS = ("hole", "dilated_hole")


@dataclass(frozen=True)
class PConvLossWeights:
    """Weights of the terms; the defaults are the PConv paper's and RFRNet's ``model.py``'s."""

    valid: float = 1.0
    hole: float = 6.0
    perceptual: float = 0.05
    style: float = 120.0
    tv: float = 0.1


def total_variation(composite: torch.Tensor, mask: torch.Tensor, region: str) -> torch.Tensor:
    """TV term of the composite (see the module docstring); ``mask`` (B,1,H,W), 1 = hole."""
    if region == "hole":
        x = composite * mask
        return (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()
    if region == "dilated_hole":
        region_mask = F.max_pool2d(mask, 3, stride=1, padding=1)
        horizontal = (composite[:, :, :, 1:] - composite[:, :, :, :-1]).abs() * region_mask[:, :, :, :-1]
        vertical = (composite[:, :, 1:, :] - composite[:, :, :-1, :]).abs() * region_mask[:, :, :-1, :]
        return (horizontal.sum() + vertical.sum()) / composite.numel()
    raise ValueError(f"unknown tv_region {region!r}; expected one of {TV_REGIONS}")


class PConvLoss(nn.Module):
    """``forward(output, target, mask) -> (total, parts)``; ``parts`` holds every computed term unweighted.

    Args:
        weights: :class:`PConvLossWeights`, or a mapping by its field names (``loss_weights``).
        tv_region: ``"hole"`` (RFRNet) or ``"dilated_hole"`` (PConv paper); see the module docstring.
        vgg_imagenet_norm: ImageNet-normalize the VGG16 input (NVIDIA's loss) or not (RFRNet).
        vgg_weights_path: torchvision's VGG16 file (see :class:`VGG16PoolFeatures`).
    """

    def __init__(self, weights: PConvLossWeights | Mapping[str, float] = PConvLossWeights(), tv_region: str = "hole",
                 vgg_imagenet_norm: bool = False,
                 vgg_weights_path: str | Path | None = None):
        super().__init__()
        weights = loss_weights(PConvLossWeights, weights)
        if tv_region not in TV_REGIONS:
            raise ValueError(f"unknown tv_region {tv_region!r}; expected one of {TV_REGIONS}")
        self.weights = weights
        self.tv_region = tv_region
        self.vgg_imagenet_norm = vgg_imagenet_norm
        needs_vgg = bool(weights.perceptual or weights.style)
        self.vgg = VGG16PoolFeatures(vgg_weights_path) if needs_vgg else None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def _vgg_terms(self, output, target, composite) -> dict[str, torch.Tensor]:
        batch = torch.cat([output, composite, target])  # one VGG pass (VGG has no batch-dependent layer)
        if self.vgg_imagenet_norm:
            batch = (batch - self.mean) / self.std
        perceptual = style = 0
        for features in self.vgg(batch):
            out, comp, real = features.chunk(3)
            real_gram = gram_matrix(real)
            for fake in (out, comp):
                perceptual = perceptual + F.l1_loss(fake, real)
                style = style + F.l1_loss(gram_matrix(fake), real_gram)
        terms = {}
        if self.weights.perceptual:
            terms["perceptual"] = perceptual
        if self.weights.style:
            terms["style"] = style
        return terms

    def forward(self, output: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``output``: raw prediction (B,3,H,W); ``target``: ground truth; ``mask``: (B,1,H,W), 1 = hole."""
        check_image_pair(output, target, "PConvLoss")
        check_mask(mask, output, "PConvLoss")
        mask = mask.to(output.dtype)
        composite = output * mask + target * (1 - mask)
        diff = (output - target).abs()
        parts: dict[str, torch.Tensor] = {}
        if self.weights.valid:
            parts["valid"] = (diff * (1 - mask)).mean()
        if self.weights.hole:
            parts["hole"] = (diff * mask).mean()
        if self.vgg is not None:
            parts.update(self._vgg_terms(output, target, composite))
        if self.weights.tv:
            parts["tv"] = total_variation(composite, mask, self.tv_region)
        if not parts:
            raise ValueError("PConvLoss: every loss weight is 0")
        weights = asdict(self.weights)
        return sum(weights[name] * value for name, value in parts.items()), parts

    def extra_repr(self) -> str:
        return f"weights={self.weights}, tv_region={self.tv_region!r}, vgg_imagenet_norm={self.vgg_imagenet_norm}"
