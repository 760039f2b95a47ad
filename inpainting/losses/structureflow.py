"""StructureFlow's training losses (official ``src/loss.py``, ``src/models.py``; docs/structureflow.md).

Everything is computed in StructureFlow's [-1,1] image range (the weights are the authors' for it):

* generator: ``l1 * L1(fake, target) + adversarial * mean_scales LSGAN(D(fake), real)``, plus for Gt
  ``correctness * sampling correctness`` and, in the joint stage, ``style * style(fake*M, target*M) +
  perceptual * perceptual(fake, target)`` (the same VGG19 terms as MISF/EdgeConnect; VGG on raw
  [-1,1] input, as officially);
* discriminator: mean over the two scales of ``(LSGAN(D(real), real) + LSGAN(D(fake), fake)) / 2``.

:class:`SamplingCorrectnessLoss`: VGG19 relu3_1 features of the target ``T`` and of the masked input
``S``; the flow is average-pooled to that grid (H/4 already: a no-op, values not rescaled); per
position the cosine similarity of ``T`` with ``S`` Gaussian-sampled (4 taps, sigma 2) along the
flow, divided by the best cosine similarity of ``T`` with any position of ``S``; ``exp(-ratio)``
averaged over the hole positions (mask resized with nearest neighbour).

One VGG19 serves all three VGG terms (the official code loads three identical copies).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.losses._validation import loss_weights
from inpainting.losses.adversarial import AdversarialLoss
from inpainting.losses.feature_losses import PerceptualLoss, StyleLoss
from inpainting.losses.vgg import VGG19Features
from inpainting.ops.resample2d import resample2d

EPS = 1e-8


class SamplingCorrectnessLoss(nn.Module):
    """``forward(target, masked_input, flow, mask)`` (images in [-1,1], mask 1 = hole); see the module doc."""

    def __init__(self, vgg: VGG19Features, layer: str = "relu3_1", kernel_size: int = 4, sigma: float = 2.0):
        super().__init__()
        self.vgg, self.layer, self.kernel_size, self.sigma = vgg, layer, kernel_size, sigma

    def forward(self, target: torch.Tensor, masked_input: torch.Tensor, flow: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        t = self.vgg(target, [self.layer])[self.layer]
        s = self.vgg(masked_input, [self.layer])[self.layer]
        b, c, h, w = t.shape
        hole = F.interpolate(mask, [h, w]).view(b, -1)
        flow = F.adaptive_avg_pool2d(flow, [h, w])
        t_all = t.reshape(b, c, -1)
        s_all = s.reshape(b, c, -1).transpose(1, 2)
        s_unit = s_all / (s_all.norm(dim=2, keepdim=True) + EPS)
        t_unit = t_all / (t_all.norm(dim=1, keepdim=True) + EPS)
        best = torch.bmm(s_unit, t_unit).max(dim=1).values  # (B, N): best input match of each target position
        sampled = resample2d(s, flow, self.kernel_size, self.sigma).reshape(b, c, -1)
        ratio = F.cosine_similarity(sampled, t_all) / (best + EPS)
        return (torch.exp(-ratio) * hole).sum() / (hole.sum() + EPS)


@dataclass(frozen=True)
class StructureFlowLossWeights:
    l1: float = 5.0
    adversarial: float = 1.0
    correctness: float = 0.25
    style: float = 0.0
    perceptual: float = 0.0


class StructureFlowLoss(nn.Module):
    """Generator loss of one stage (weights: ``model_config.yaml``) and the discriminator loss.

    Stage defaults: Gs ``l1=4, adversarial=1`` (others 0); Gt ``l1=5, adversarial=1, correctness=0.25``;
    joint adds ``style=250, perceptual=0.1``. The VGG19 (``vgg_weights_path``, default the torch hub
    cache) is built only when a VGG term has a weight.
    """

    def __init__(self, weights: Mapping[str, float] | None = None, gan_kind: str = "lsgan",
                 vgg_weights_path: str | Path | None = None):
        super().__init__()
        self.weights = loss_weights(StructureFlowLossWeights, weights)
        self.adversarial = AdversarialLoss(gan_kind)
        needs_vgg = self.weights.correctness or self.weights.style or self.weights.perceptual
        vgg = VGG19Features(vgg_weights_path) if needs_vgg else None
        self.correctness = SamplingCorrectnessLoss(vgg) if self.weights.correctness else None
        self.style = StyleLoss(vgg=vgg) if self.weights.style else None
        self.perceptual = PerceptualLoss(vgg=vgg) if self.weights.perceptual else None

    def discriminator_loss(self, real_scores: list[torch.Tensor], fake_scores: list[torch.Tensor]) -> torch.Tensor:
        terms = [self.adversarial.discriminator_loss(r, f) for r, f in zip(real_scores, fake_scores)]
        return sum(terms) / len(terms)

    def forward(self, fake: torch.Tensor, target: torch.Tensor, fake_scores: list[torch.Tensor], mask: torch.Tensor,
                masked_input: torch.Tensor | None = None, flow: torch.Tensor | None = None):
        """``(weighted total, {term: unweighted value})``."""
        parts = {"l1": F.l1_loss(fake, target),
                 "adversarial": sum(self.adversarial.generator_loss(s) for s in fake_scores) / len(fake_scores)}
        if self.correctness is not None:
            parts["correctness"] = self.correctness(target, masked_input, flow, mask)
        if self.style is not None:
            parts["style"] = self.style(fake, target, mask)
        if self.perceptual is not None:
            parts["perceptual"] = self.perceptual(fake, target)
        total = sum(getattr(self.weights, name) * value for name, value in parts.items())
        return total, parts
