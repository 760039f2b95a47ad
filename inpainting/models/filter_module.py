"""Image-level predictive filtering models (PFUNet / MISF "Img-Filter" idea) trained with L1 - 0.2*SSIM.

Automatic optimisation: one optimizer step per batch, so ``global_step`` counts batches.
"""
from __future__ import annotations

import torch

from inpainting.models.base import InpaintingModule


def log_training_loss(module: InpaintingModule, total: torch.Tensor, parts: dict, batch_size: int) -> torch.Tensor:
    module.log("train/loss", total, prog_bar=True, on_step=True, on_epoch=True, batch_size=batch_size)
    module.log_dict({f"train/{k}": v for k, v in parts.items()}, on_step=True, on_epoch=False, batch_size=batch_size)
    return total


class FilterInpaintingModule(InpaintingModule):
    def __init__(self, net, loss, optimizer=None, scheduler=None, method_name: str = "Img-Filter", **kwargs):
        """``kwargs``: :class:`~inpainting.models.base.InpaintingModule`'s (``bin_edges``)."""
        super().__init__(net, optimizer=optimizer, scheduler=scheduler, method_name=method_name, **kwargs)
        self.loss = loss
        # the run folder's config_resolved.yaml holds the full model config; checkpoints keep plain values only
        self.save_hyperparameters(ignore=["net", "loss", "optimizer", "scheduler"], logger=False)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        image, mask = batch["image"], batch["mask"]
        if "masked" in batch:  # PFUNet's own loader (data.train_pipeline=kpn) gives the soft-masked input itself
            pred = self(batch["masked"], torch.zeros_like(mask))["pred"]  # x * (1 - 0): the input, unchanged
        else:
            pred = self(image, mask)["pred"]
        total, parts = self.training_loss(pred, image, mask)
        return log_training_loss(self, total, parts, image.shape[0])

    def training_loss(self, pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor):
        """``(total, parts)`` of a batch; the KPN stages train on the raw, uncomposited output over the
        whole image (docs/authors-code.md#jpgnet-training), so the mask is not used here."""
        return self.loss(pred, image)
