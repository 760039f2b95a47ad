"""A non-adversarial generator trained with a loss of ``(pred, image, mask)``: PConv and RFRNet.

The supervised training step (:class:`~inpainting.models.supervised_module.SupervisedInpaintingModule`: one
optimizer step per batch, the loss on the raw output), with:

* the loss is a factory (``_partial_``) built when training starts, so evaluating a checkpoint needs no
  VGG16 file, and it receives the hole mask (:class:`~inpainting.losses.PConvLoss`);
* ``frozen_batchnorm``: the fine-tuning stage of both papers. The BatchNorm layers whose qualified name in
  ``net`` starts with one of these prefixes stay in eval mode (running statistics frozen, the affine
  parameters still train) whatever ``train()`` is called with. RFRNet's ``RFRNet.train(finetune=True)``
  does this to every BatchNorm (prefix ``""``); the PConv paper freezes the encoder's
  (``generator.enc_``). ``null``: ordinary training.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from inpainting.models.supervised_module import SupervisedInpaintingModule


class ReconstructionInpaintingModule(SupervisedInpaintingModule):
    def __init__(self, net: nn.Module, loss: Callable[[], nn.Module], optimizer=None, scheduler=None,
                 method_name: str = "model", frozen_batchnorm: Sequence[str] | None = None, **kwargs):
        super().__init__(net, None, optimizer=optimizer, scheduler=scheduler, method_name=method_name, **kwargs)
        self.loss_factory = loss
        self.frozen_batchnorm = list(frozen_batchnorm or [])
        self._frozen = self._find_batchnorms(self.frozen_batchnorm)

    def _find_batchnorms(self, prefixes: list[str]) -> list[nn.Module]:
        norms = [(name, m) for name, m in self.net.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        unmatched = [p for p in prefixes if not any(name.startswith(p) for name, _ in norms)]
        if unmatched:
            raise ValueError(f"frozen_batchnorm prefixes {unmatched} match no BatchNorm layer of "
                             f"{type(self.net).__name__}; its BatchNorm layers are {[n for n, _ in norms][:8]}...")
        return [m for name, m in norms if any(name.startswith(p) for p in prefixes)]

    def train(self, mode: bool = True):
        super().train(mode)
        for norm in self._frozen:
            norm.eval()
        return self

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and self.loss is None:
            self.loss = self.loss_factory()

    def training_loss(self, pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor):
        return self.loss(pred, image, mask)
