"""MISF's generator loss as one module (docs/authors-code.md#misf-training), for the training wrapper.

    total = w_adv * adversarial + w_l1 * L1/hole-ratio + w_perc * perceptual + w_style * style

(summed in that order, as the official code does), on the raw generator output O, not the composite.
A term whose weight is 0 is neither built nor computed: with perceptual and style at 0 no VGG19 is
built, so training runs without the VGG weight file. The discriminator's loss is
:meth:`InpaintingGeneratorLoss.discriminator_loss` (the same adversarial kind).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

from inpainting.losses._validation import loss_weights
from inpainting.losses.adversarial import AdversarialLoss
from inpainting.losses.feature_losses import PerceptualLoss, StyleLoss
from inpainting.losses.reconstruction import HoleNormalizedL1Loss


@dataclass(frozen=True)
class InpaintingLossWeights:
    """Weights of the generator loss terms; defaults are MISF's released config."""

    adversarial: float = 0.1
    l1: float = 1.0
    perceptual: float = 0.1
    style: float = 250.0


class InpaintingGeneratorLoss(nn.Module):
    """MISF generator loss; ``forward`` returns ``(total, parts)``.

    Args:
        weights: :class:`InpaintingLossWeights`, or a mapping by its field names (``loss_weights``).
        gan_kind: ``"nsgan"`` (MISF), ``"lsgan"`` or ``"hinge"``; see :mod:`inpainting.losses.adversarial`.
        normalize_l1_by_hole_ratio: divide the L1 by the batch hole ratio (MISF, quirk M8).
        vgg_imagenet_norm: ImageNet-normalize the VGG input (default False, quirk M10).
        vgg_weights_path: torchvision's VGG19 file (see ``VGG19Features``); perceptual and style build one each.
    """

    def __init__(self, weights: InpaintingLossWeights | Mapping[str, float] = InpaintingLossWeights(),
                 gan_kind: str = "nsgan", normalize_l1_by_hole_ratio: bool = True,
                 vgg_imagenet_norm: bool = False, vgg_weights_path: str | Path | None = None):
        super().__init__()
        self.weights = weights = loss_weights(InpaintingLossWeights, weights)
        self.adversarial = AdversarialLoss(gan_kind)
        self.l1 = HoleNormalizedL1Loss(normalize_l1_by_hole_ratio)
        vgg_args = dict(imagenet_norm=vgg_imagenet_norm, weights_path=vgg_weights_path)
        self.perceptual = PerceptualLoss(**vgg_args) if weights.perceptual else None
        self.style = StyleLoss(**vgg_args) if weights.style else None

    def forward(self, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                fake_outputs: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total generator loss and its unweighted terms.

        Args:
            output: raw generator output O in [0, 1], (B, 3, H, W).
            target: ground truth I, (B, 3, H, W).
            mask: (B, 1, H, W), 1 = hole.
            fake_outputs: D(O) (not detached); may be None only when the adversarial weight is 0.

        Returns:
            ``(total, parts)``: ``parts`` maps each computed term ("adversarial", "l1", "perceptual",
            "style") to its value before weighting; terms with weight 0 are absent.
        """
        parts: dict[str, torch.Tensor] = {}
        if self.weights.adversarial:
            if fake_outputs is None:
                raise ValueError("InpaintingGeneratorLoss: fake_outputs = D(output) is required while the "
                                 "adversarial weight is non-zero")
            parts["adversarial"] = self.adversarial.generator_loss(fake_outputs)
        if self.weights.l1:
            parts["l1"] = self.l1(output, target, mask)
        if self.perceptual is not None:
            parts["perceptual"] = self.perceptual(output, target)
        if self.style is not None:
            parts["style"] = self.style(output, target, mask)
        if not parts:
            raise ValueError("InpaintingGeneratorLoss: every loss weight is 0")
        weights = asdict(self.weights)
        total = sum(weights[name] * value for name, value in parts.items())
        return total, parts

    def discriminator_loss(self, real_outputs: torch.Tensor, fake_outputs: torch.Tensor) -> torch.Tensor:
        """D loss ``(term(D(I), real) + term(D(O.detach()), fake)) / 2``."""
        return self.adversarial.discriminator_loss(real_outputs, fake_outputs)

    def extra_repr(self) -> str:
        return f"weights={self.weights}"
