"""Callbacks: the fixed image panel (PNG grids in the run folder, and W&B when attached)."""
from __future__ import annotations

import pathlib
from typing import Sequence

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import WandbLogger
from torch.utils.data import default_collate

from inpainting.eval.grid import grid_image, inpainting_columns, method_comparison, save_grid


def _first_items(dataloader, count: int) -> dict | None:
    """The first ``count`` samples of a fixed (unshuffled) eval set, collated."""
    dataset = getattr(dataloader, "dataset", None)
    if dataset is None or len(dataset) == 0:
        return None
    return default_collate([dataset[i] for i in range(min(count, len(dataset)))])


def panel_columns(outputs: dict, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Columns of the panel: masked input | output | composite | ground truth [| filter maps]."""
    extra = {}
    if "uncertainty" in outputs:
        extra["uncertainty"] = outputs["uncertainty"]
    if "kernels" in outputs:
        # share of each pixel's kernel weight off the centre tap: where the filter borrows from neighbours
        kernels = outputs["kernels"].abs()
        taps = 9  # every network here predicts 3x3 kernels, laid out channel*9 + tap
        per_tap = kernels.view(kernels.shape[0], -1, taps, *kernels.shape[2:]).mean(1)
        off_centre = 1 - per_tap[:, taps // 2 : taps // 2 + 1] / per_tap.sum(1, keepdim=True).clamp_min(1e-12)
        extra["off-centre weight"] = off_centre
    return inpainting_columns(image, mask, outputs["pred"].clamp(0, 1), extra)


class ImagePanel(L.Callback):
    """Same images, same masks, every time: ``images/val_epochNNN.png``, ``images/test.png``."""

    def __init__(self, num_images: int = 6, every_n_epochs: int = 1, output_dir: str = "images", min_tile: int = 128,
                 test_compare_with: Sequence[str] = ()):
        # test_compare_with: classical methods (eval.classical names) shown beside the model in images/test.png,
        # as masked input | model | methods | ground truth with each tile's PSNR, instead of the usual columns
        self.test_compare_with = list(test_compare_with)
        self.num_images = num_images
        self.min_tile = min_tile  # small crops are enlarged so the panel stays readable
        self.every_n_epochs = every_n_epochs
        self.output_dir = pathlib.Path(output_dir)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.fast_dev_run or (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        loaders = trainer.val_dataloaders
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        self._render(trainer, pl_module, loader, f"val_epoch{trainer.current_epoch:03d}", "val/panel")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loaders = trainer.test_dataloaders
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        self._render(trainer, pl_module, loader, "test", "test/panel", self.test_compare_with)

    @torch.no_grad()
    def _render(self, trainer, pl_module, loader, stem: str, key: str, compare_with: Sequence[str] = ()) -> None:
        if not trainer.is_global_zero:
            return
        batch = _first_items(loader, self.num_images)
        if batch is None:
            return
        image, mask = batch["image"].to(pl_module.device), batch["mask"].to(pl_module.device)
        was_training = pl_module.training
        pl_module.eval()
        outputs = pl_module(image, mask)
        pl_module.train(was_training)
        captions = None
        if compare_with:
            from inpainting.eval.classical import classical_inpainter

            results = {pl_module.method_name: outputs["pred"]}
            results.update({name.replace("_", "-").title(): classical_inpainter(name)(image, mask) for name in compare_with})
            columns, captions = method_comparison(image, mask, results)
        else:
            columns = panel_columns(outputs, image, mask)
        columns = {k: v.detach().float().cpu() for k, v in columns.items()}
        save_grid(self.output_dir / f"{stem}.png", columns, max_rows=self.num_images, min_tile=self.min_tile, captions=captions)
        wandb_loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        if wandb_loggers:
            # one uint8 image per panel: wandb casts float arrays with a bare uint8 cast (black images)
            panel = np.asarray(grid_image(columns, max_rows=self.num_images, min_tile=self.min_tile))
            ratios = batch.get("ratio")
            caption = " | ".join(columns)
            if ratios is not None:
                caption += "; hole ratios " + ", ".join(f"{100 * float(r):.0f}%" for r in ratios)
            for lg in wandb_loggers:
                lg.log_image(key=key, images=[panel], caption=[caption], step=trainer.global_step)
