"""CTSDG's losses (``criteria/loss.py``, weights of ``options/train_options.py``; docs/ctsdg.md).

Everything is computed in CTSDG's own scale: images in [-1, 1], mask ``M`` = 1 on valid pixels,
edges and probabilities in [0, 1]; ``nn.L1Loss``/``nn.BCELoss`` means over all elements.

Generator, ``total = 60 hole + 10 valid + 0.1 perceptual + 250 style + 0.1 adversarial + 1 intermediate``:

* hole ``L1((1-M) O, (1-M) I)``, valid ``L1(M O, M I)`` (not normalized by the hole ratio);
* perceptual: sum over VGG16 pool1-3 of ``L1(phi(O), phi(I)) + L1(phi(C), phi(I))``, C the composite;
* style: the same with Gram matrices ``f f^T / (C H W)``;
* adversarial: ``BCE(D(O), 1)`` over both branches' scores + ``BCE(edge detector(O), Canny(I))``;
* intermediate: ``BCE(projected edge, Canny(I)) + L1(projected image, I)``.

Discriminator: ``BCE(D(I), 1) + BCE(D(O), 0) + BCE(edge detector(I), Canny) + BCE(edge detector(O), Canny)``.

With the perceptual and style weights both 0 no VGG16 is built (training without its weight file).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.losses._validation import loss_weights
from inpainting.losses.feature_losses import gram_matrix
from inpainting.losses.vgg16 import VGG16PoolFeatures


@dataclass(frozen=True)
class CTSDGLossWeights:
    """Official ``--HOLE_LOSS`` ... ``--INTERMEDIATE_LOSS`` defaults."""

    hole: float = 60.0
    valid: float = 10.0
    perceptual: float = 0.1
    style: float = 250.0
    adversarial: float = 0.1
    intermediate: float = 1.0


class CTSDGLoss(nn.Module):
    """``generator_loss(...) -> (total, parts)`` and ``discriminator_loss(...)``; see the module docstring.

    Args:
        weights: :class:`CTSDGLossWeights`, or a mapping by its field names (``loss_weights``).
        vgg_weights_path: torchvision's ``vgg16-397923af.pth``; default: the torch hub cache.
    """

    def __init__(self, weights: CTSDGLossWeights | Mapping[str, float] = CTSDGLossWeights(),
                 vgg_weights_path: str | Path | None = None):
        super().__init__()
        self.weights = loss_weights(CTSDGLossWeights, weights)
        self.vgg = VGG16PoolFeatures(weights_path=vgg_weights_path) if self.weights.perceptual or self.weights.style else None

    def _feature_terms(self, output, composite, target) -> tuple[torch.Tensor, torch.Tensor]:
        zero = output.new_zeros(())
        if self.vgg is None:
            return zero, zero
        target_features = self.vgg(target)
        perceptual, style = zero, zero
        for image in (output, composite):
            for feature, reference in zip(self.vgg(image), target_features):
                perceptual = perceptual + F.l1_loss(feature, reference)
                style = style + F.l1_loss(gram_matrix(feature), gram_matrix(reference))
        return perceptual, style

    def generator_loss(self, output: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, edge: torch.Tensor,
                       fake_scores: torch.Tensor, fake_edge: torch.Tensor, projected_image: torch.Tensor,
                       projected_edge: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """All images in [-1, 1]; ``valid`` (B, 1, H, W) 1 = known; ``fake_scores`` = sigmoid D(O)."""
        hole = 1 - valid
        perceptual, style = self._feature_terms(output, target * valid + output * hole, target)
        parts = {
            "hole": F.l1_loss(hole * output, hole * target),
            "valid": F.l1_loss(valid * output, valid * target),
            "perceptual": perceptual,
            "style": style,
            "adversarial": F.binary_cross_entropy(fake_scores, torch.ones_like(fake_scores))
            + F.binary_cross_entropy(fake_edge, edge),
            "intermediate": F.binary_cross_entropy(projected_edge, edge) + F.l1_loss(projected_image, target),
        }
        total = sum(getattr(self.weights, name) * value for name, value in parts.items())
        return total, parts

    @staticmethod
    def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, real_edge: torch.Tensor,
                           fake_edge: torch.Tensor, edge: torch.Tensor) -> torch.Tensor:
        return (F.binary_cross_entropy(real_scores, torch.ones_like(real_scores))
                + F.binary_cross_entropy(fake_scores, torch.zeros_like(fake_scores))
                + F.binary_cross_entropy(real_edge, edge) + F.binary_cross_entropy(fake_edge, edge))
