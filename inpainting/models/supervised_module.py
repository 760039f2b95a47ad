"""A generator trained alone, without a discriminator: PFUNet (``FilterInpaintingModule``) and PConv/RFRNet
(``ReconstructionInpaintingModule``).

Automatic optimization: one optimizer step per batch, so ``global_step`` counts batches. The loss is
computed on the raw network output; a subclass says what the network sees (``training_prediction``) and
how its loss is called (``training_loss``).
"""
from __future__ import annotations

import torch
from torch import nn

from inpainting.models.base import InpaintingModule


def log_training_loss(module: InpaintingModule, total: torch.Tensor, parts: dict, batch_size: int) -> torch.Tensor:
    module.log("train/loss", total, prog_bar=True, on_step=True, on_epoch=True, batch_size=batch_size)
    module.log_dict({f"train/{k}": v for k, v in parts.items()}, on_step=True, on_epoch=False, batch_size=batch_size)
    return total


class SupervisedInpaintingModule(InpaintingModule):
    """``net`` trained on ``loss`` (whatever ``training_loss`` makes of it); ``kwargs``:
    :class:`~inpainting.models.base.InpaintingModule`'s (``bin_edges``, ``protocol``)."""

    def __init__(self, net: nn.Module, loss, optimizer=None, scheduler=None, method_name: str = "model", **kwargs):
        super().__init__(net, optimizer=optimizer, scheduler=scheduler, method_name=method_name, **kwargs)
        self.loss = loss
        # the run folder's config_resolved.yaml holds the full model config; checkpoints keep plain values only
        self.save_hyperparameters(ignore=["net", "loss", "optimizer", "scheduler"], logger=False)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        image, mask = batch["image"], batch["mask"]
        total, parts = self.training_loss(self.training_prediction(batch), image, mask)
        return log_training_loss(self, total, parts, image.shape[0])

    def training_prediction(self, batch: dict) -> torch.Tensor:
        """The raw output the loss scores: the network on the batch's image and mask."""
        return self(batch["image"], batch["mask"])["pred"]

    def training_loss(self, pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor):
        """``(total, parts)`` of a batch."""
        raise NotImplementedError
