"""GAN losses of MISF (EdgeConnect's ``AdversarialLoss``; docs/authors-code.md#misf-training).

What the discriminator must output depends on the kind, as in the official code:

* ``"nsgan"``: probabilities (the D ends in a sigmoid); binary cross-entropy against 1 / 0.
* ``"lsgan"``: probabilities as well (the official D applies the sigmoid for every kind except hinge);
  mean squared error against 1 / 0.
* ``"hinge"``: raw scores (no sigmoid). D: ``mean relu(1 - D(real))`` and ``mean relu(1 + D(fake))``;
  G: ``-mean D(fake)``.

``discriminator_loss(real, fake)`` is ``(real term + fake term) / 2`` for every kind, the way MISF
composes it; ``generator_loss(fake)`` is the G adversarial term before its weight (0.1 in MISF).
``discriminator_uses_sigmoid(kind)`` tells a discriminator which output it must produce.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GAN_KINDS = ("nsgan", "lsgan", "hinge")
REAL_LABEL = 1.0
FAKE_LABEL = 0.0


def discriminator_uses_sigmoid(kind: str) -> bool:
    """Whether the discriminator feeding a loss of this kind ends in a sigmoid (all but hinge)."""
    _check_kind(kind)
    return kind != "hinge"


def _check_kind(kind: str) -> None:
    if kind not in GAN_KINDS:
        raise ValueError(f"unknown GAN loss kind {kind!r}; expected one of {GAN_KINDS}")


class AdversarialLoss(nn.Module):
    """``forward(outputs, is_real, for_discriminator)`` is one term; see the module docstring."""

    def __init__(self, kind: str = "nsgan"):
        super().__init__()
        _check_kind(kind)
        self.kind = kind

    def forward(self, outputs: torch.Tensor, is_real: bool, for_discriminator: bool) -> torch.Tensor:
        """One mean-reduced term: D's output on a real or fake batch, for the D or the G update."""
        if self.kind == "hinge":
            if not for_discriminator:
                return -outputs.mean()  # G: same whatever the label
            return F.relu(1.0 - outputs).mean() if is_real else F.relu(1.0 + outputs).mean()
        labels = torch.full_like(outputs, REAL_LABEL if is_real else FAKE_LABEL)
        if self.kind == "nsgan":
            return F.binary_cross_entropy(outputs, labels)
        return F.mse_loss(outputs, labels)

    def discriminator_loss(self, real_outputs: torch.Tensor, fake_outputs: torch.Tensor) -> torch.Tensor:
        """D loss ``(term(D(real), real) + term(D(fake), fake)) / 2``; pass D(output.detach()) as fake."""
        real = self(real_outputs, is_real=True, for_discriminator=True)
        fake = self(fake_outputs, is_real=False, for_discriminator=True)
        return (real + fake) / 2

    def generator_loss(self, fake_outputs: torch.Tensor) -> torch.Tensor:
        """Unweighted G adversarial term on D(output): the fakes labelled real (hinge: ``-mean``)."""
        return self(fake_outputs, is_real=True, for_discriminator=False)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"
