"""JPGNet's LightningModules: the fusion stage (UAFNet training or the naive fusion) and a DGNet alone.

Both receive their stages built (composition): any DGNet adapter, the PFUNet adapter, UAFNet. The
frozen stages' weight files (``stage_weights``) are read only when a run starts without a checkpoint
(:class:`~inpainting.models.base.InpaintingModule`): fitting from scratch, or testing what has no training (the
naive fusion, a DGNet alone). A checkpoint of these modules holds every stage, so resuming, ``inpaint-eval`` and
``inpaint-predict`` of a run never need the stage files. See docs/jpgnet.md.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from inpainting.models.base import InpaintingModule
from inpainting.models.supervised_module import log_training_loss
from inpainting.utils.composite import composite

_NOT_HPARAMS = ["network", "pfunet", "dgnet", "fusion", "loss", "optimizer", "scheduler"]
LOSS_REGIONS = ("raw", "composite")


class JPGNetModule(InpaintingModule):
    """JPGNet: frozen ``dgnet`` and ``pfunet``, then UAFNet (``fusion``, trained with ``loss`` = L1 - 0.2*SSIM on
    its raw output) or the naive fusion (``fusion`` = None, no loss: evaluation only; ``threshold`` 0 is
    the official binary fusion).

    Args:
        network: ``(pfunet, dgnet, fusion, threshold, train_pfunet) -> network``, the JPGNet network the stages
            are composed into (``inpainting.nets.jpgnet.JPGNet``, given by the config as a ``_partial_``).
        stage_weights: ``{"pfunet": path, "dgnet": path or {keyword: path}}``, the stages' ``load_weights``
            arguments; a path may be a run folder (the checkpoint it hands on, the one its own row reports).
        train_pfunet: False (faithful: PFUNet is trained first, on its own, and frozen here). True trains
            PFUNet from scratch alongside UAFNet in one run, each on its own L1 - 0.2*SSIM (their sum is
            the step's loss; UAFNet's inputs stay detached, so neither loss reaches the other net): one
            run instead of two, what ``make demo`` does.
        loss_on: ``"raw"`` (faithful, docs/authors-code.md#jpgnet-training: the loss scores the raw output over the
            whole image, so the known pixels, which the metrics never score, pull the kernels towards the identity) or
            ``"composite"`` (the loss scores ``pred * mask + image * (1 - mask)``: only the holes train the nets).
    Only parameters that require grad (UAFNet's, and PFUNet's with ``train_pfunet``) reach the optimizer.
    """

    def __init__(
        self,
        network: Callable[..., nn.Module],
        pfunet: nn.Module,
        dgnet: nn.Module,
        fusion: nn.Module | None = None,
        threshold: float | None = None,
        loss: nn.Module | None = None,
        optimizer=None,
        scheduler=None,
        train_pfunet: bool = False,
        loss_on: str = "raw",
        method_name: str = "JPGNet",
        **kwargs,
    ):
        """``kwargs``: :class:`~inpainting.models.base.InpaintingModule`'s (``bin_edges``, ``protocol``,
        ``stage_weights``)."""
        super().__init__(network(pfunet, dgnet, fusion, threshold, train_pfunet), optimizer=optimizer,
                         scheduler=scheduler, method_name=method_name, **kwargs)
        if (loss is None) != (fusion is None):
            raise ValueError("JPGNet: UAFNet (model.fusion) needs a loss; the naive fusion (model.fusion=null) takes none")
        if loss_on not in LOSS_REGIONS:
            raise ValueError(f"unknown loss_on {loss_on!r}; choose one of {LOSS_REGIONS}")
        self.loss = loss
        self.loss_on = loss_on
        self.save_hyperparameters(ignore=_NOT_HPARAMS, logger=False)

    def load_stage_files(self) -> None:
        """Both frozen stages' files, required (every learned stage)."""
        self.net.load_stage_weights(self.stage_weights)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        if self.loss is None:
            raise RuntimeError(f"{self.method_name} has nothing to train (no loss): run it with train=false")
        image, mask = batch["image"], batch["mask"]
        out = self.forward_batch(batch)
        total, parts = self._scored(out["pred"], image, mask)
        if self.net.train_pfunet:
            pfunet_loss, _ = self._scored(out["pfunet_pred"], image, mask)
            parts = {"uafnet_loss": total, "pfunet_loss": pfunet_loss, **parts}
            total = total + pfunet_loss
        return log_training_loss(self, total, parts, image.shape[0])

    def _scored(self, pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor):
        return self.loss(composite(pred, image, mask) if self.loss_on == "composite" else pred, image)


class DGNetModule(InpaintingModule):
    """A DGNet on its own, evaluation only (JPGNet Table 2's DGNet rows, e.g. EdgeConnect G1 -> G2).

    ``stage_weights``: ``{"dgnet": path or {keyword: path}}`` as for :class:`JPGNetModule` (the same
    ``model/dgnet`` configs); a learned DGNet needs all its files.
    """

    def __init__(self, dgnet: nn.Module, method_name: str = "DGNet", **kwargs):
        super().__init__(dgnet, method_name=method_name, **kwargs)
        if set(self.stage_weights) - {"dgnet"}:
            raise ValueError(f"unknown stage_weights entries {sorted(set(self.stage_weights) - {'dgnet'})}; expected dgnet")
        self.save_hyperparameters(ignore=["dgnet"], logger=False)

    def load_stage_files(self) -> None:
        self.net.load_stage_weights(self.stage_weights.get("dgnet"), "model.stage_weights.dgnet", required=True)
