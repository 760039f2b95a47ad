"""Image-level predictive filtering models (PFUNet / MISF "Img-Filter" idea) trained with L1 - 0.2*SSIM.

Automatic optimisation: one optimizer step per batch, so ``global_step`` counts batches.
"""
from __future__ import annotations

import torch

from inpainting.models.base import InpaintingModule


def kpn_training_step(module: InpaintingModule, batch: dict) -> torch.Tensor:
    """One step of a KPN stage (PFUNet, UAFNet): ``module.loss`` on the raw, uncomposited output over the
    whole image (method-spec 5.4), logged as ``train/loss`` and ``train/<term>``."""
    image, mask = batch["image"], batch["mask"]
    pred = module(image, mask)["pred"]
    total, parts = module.loss(pred, image)
    module.log("train/loss", total, prog_bar=True, on_step=True, on_epoch=True, batch_size=image.shape[0])
    module.log_dict({f"train/{k}": v for k, v in parts.items()}, on_step=True, on_epoch=False, batch_size=image.shape[0])
    return total


class FilterInpaintingModule(InpaintingModule):
    def __init__(self, net, loss, optimizer=None, scheduler=None, method_name: str = "Img-Filter"):
        super().__init__(net, optimizer=optimizer, scheduler=scheduler, method_name=method_name)
        self.loss = loss
        # the run folder's config_resolved.yaml holds the full model config; checkpoints keep plain values only
        self.save_hyperparameters(ignore=["net", "loss", "optimizer", "scheduler"], logger=False)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return kpn_training_step(self, batch)
