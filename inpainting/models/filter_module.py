"""Image-level predictive filtering models (PFUNet / MISF "Img-Filter" idea) trained with L1 - 0.2*SSIM.

Automatic optimization: one optimizer step per batch, so ``global_step`` counts batches.
"""
from __future__ import annotations

import torch

from inpainting.models.supervised_module import SupervisedInpaintingModule


class FilterInpaintingModule(SupervisedInpaintingModule):
    def __init__(self, net, loss, optimizer=None, scheduler=None, method_name: str = "Img-Filter", **kwargs):
        """``kwargs``: :class:`~inpainting.models.base.InpaintingModule`'s (``bin_edges``)."""
        super().__init__(net, loss, optimizer=optimizer, scheduler=scheduler, method_name=method_name, **kwargs)

    def training_prediction(self, batch: dict) -> torch.Tensor:
        if "masked" in batch:  # PFUNet's own loader (data.train_pipeline=kpn) gives the soft-masked input itself
            return self(batch["masked"], torch.zeros_like(batch["mask"]))["pred"]  # x * (1 - 0): the input, unchanged
        return super().training_prediction(batch)

    def training_loss(self, pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor):
        """``(total, parts)`` of a batch; the KPN stages train on the raw, uncomposited output over the
        whole image (docs/authors-code.md#jpgnet-training), so the mask is not used here."""
        return self.loss(pred, image)
