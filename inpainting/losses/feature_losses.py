"""MISF's perceptual and style losses on frozen VGG19 features (docs/authors-code.md#misf-training).

* Perceptual: sum over relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (weight 1 each) of
  ``mean|phi(output) - phi(target)|`` on the full images.
* Style: sum over relu2_2, relu3_4, relu4_4, relu5_2 of ``mean|Gram(phi(output*M)) - Gram(phi(target*M))|``
  with the per-sample Gram ``f f^T / (C*H*W)``. The hole masking (M = 1 in the hole) happens inside
  :class:`StyleLoss`, which therefore takes ``(output, target, mask)``.

Faithful defaults: raw [0, 1] input to VGG (``imagenet_norm=False``, quirk M10) and one VGG19 per loss.
Passing an existing :class:`VGG19Features` as ``vgg`` shares it instead (same values, half the memory).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.losses.vgg import VGG19Features
from inpainting.utils.shapes import check_image_pair, check_mask

PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_LAYERS = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Per-sample Gram matrix ``f f^T / (C*H*W)`` of (B, C, H, W) features, shape (B, C, C)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


class _VGGFeatureLoss(nn.Module):
    """Holds the VGG (own or shared) and the optional ImageNet normalization of its input.

    Args:
        vgg: a :class:`VGG19Features` to share; default: build this loss's own (faithful).
        imagenet_norm: ImageNet mean/std normalization before VGG (default False, as MISF).
        weights_path: passed to :class:`VGG19Features` when building one.
    """

    def __init__(self, vgg: VGG19Features | None = None, imagenet_norm: bool = False,
                 weights_path: str | Path | None = None):
        super().__init__()
        self.vgg = vgg if vgg is not None else VGG19Features(weights_path)
        self.imagenet_norm = imagenet_norm
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def features(self, x: torch.Tensor, layers) -> dict[str, torch.Tensor]:
        if self.imagenet_norm:
            x = (x - self.mean) / self.std
        return self.vgg(x, layers)

    def extra_repr(self) -> str:
        return f"imagenet_norm={self.imagenet_norm}"


class PerceptualLoss(_VGGFeatureLoss):
    """``forward(output, target)``: sum of per-layer mean L1 distances of VGG19 activations (scalar).

    Constructor arguments: see ``_VGGFeatureLoss`` (vgg, imagenet_norm, weights_path).
    """

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_image_pair(output, target, "PerceptualLoss")
        out_feats = self.features(output, PERCEPTUAL_LAYERS)
        tgt_feats = self.features(target, PERCEPTUAL_LAYERS)
        return sum(F.l1_loss(out_feats[name], tgt_feats[name]) for name in PERCEPTUAL_LAYERS)


class StyleLoss(_VGGFeatureLoss):
    """``forward(output, target, mask)``: Gram-matrix L1 over VGG19 layers of the hole-masked images.

    Both images are multiplied by ``mask`` ((B, 1, H, W), 1 = hole) here, as MISF does, so only the
    hole content is compared. Same constructor arguments as :class:`PerceptualLoss`.
    """

    def forward(self, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        check_image_pair(output, target, "StyleLoss")
        check_mask(mask, output, "StyleLoss")
        out_feats = self.features(output * mask, STYLE_LAYERS)
        tgt_feats = self.features(target * mask, STYLE_LAYERS)
        return sum(F.l1_loss(gram_matrix(out_feats[name]), gram_matrix(tgt_feats[name])) for name in STYLE_LAYERS)
