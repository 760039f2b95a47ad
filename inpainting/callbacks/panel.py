"""The fixed image panel: the same validation/test samples every time, as PNG grids in the run folder
(and in TensorBoard / W&B when such a logger is attached)."""
from __future__ import annotations

import pathlib
from typing import Sequence

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torch.utils.data import default_collate

from inpainting.callbacks.drawing import labelled_panel, panel_columns, tile_labels
from inpainting.eval.grid import method_comparison
from inpainting.utils.atomic import atomic_path


def _spread_items(dataloader, count: int) -> dict | None:
    """``count`` samples evenly spaced over a fixed (unshuffled) eval set, collated: the eval sets list their
    pairs bin after bin, so the panel shows every hole-ratio bin."""
    dataset = getattr(dataloader, "dataset", None)
    if dataset is None or len(dataset) == 0:
        return None
    indices = sorted({int(i) for i in np.linspace(0, len(dataset) - 1, min(count, len(dataset))).round()})
    return default_collate([dataset[i] for i in indices])


class ImagePanel(L.Callback):
    """Same images, same masks, every time: ``images/val_epochNNN_stepNNNNNNN.png`` (one per validation,
    so mid-epoch validations do not overwrite each other), ``images/test.png``. The header says the
    stage, epoch and step; each row ends with its hole ratio and PSNR; single-channel maps are
    colourised with a scale at the bottom."""

    def __init__(self, num_images: int = 6, every_n_epochs: int = 1, output_dir: str = "images", min_tile: int = 128,
                 test_compare_with: Sequence[str] = (), method_name: str = "model"):
        # test_compare_with: classical methods (eval.classical names) shown beside the model in images/test.png,
        # as masked input | model | methods | ground truth with each tile's PSNR, instead of the usual columns;
        # method_name: the model's column title there (``${model.method_name}``)
        self.test_compare_with = list(test_compare_with)
        self.method_name = method_name
        self.num_images = num_images
        self.min_tile = min_tile  # small crops are enlarged so the panel stays readable
        self.every_n_epochs = every_n_epochs
        self.output_dir = pathlib.Path(output_dir)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.fast_dev_run or (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        loaders = trainer.val_dataloaders
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        stem = f"val_epoch{trainer.current_epoch:03d}_step{trainer.global_step:07d}"
        self._render(trainer, pl_module, loader, stem, "val/panel")

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loaders = trainer.test_dataloaders
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        self._render(trainer, pl_module, loader, "test", "test/panel", self.test_compare_with)

    @torch.no_grad()
    def _render(self, trainer, pl_module, loader, stem: str, key: str, compare_with: Sequence[str] = ()) -> None:
        if not trainer.is_global_zero:
            return
        batch = _spread_items(loader, self.num_images)
        if batch is None:
            return
        image, mask = batch["image"].to(pl_module.device), batch["mask"].to(pl_module.device)
        was_training = pl_module.training
        pl_module.eval()
        outputs = pl_module(image, mask)
        pl_module.train(was_training)
        captions = None
        if compare_with:  # the model beside classical methods, PSNR on every tile
            from inpainting.eval.classical import CLASSICAL_ROW_NAMES, classical_inpainter

            results = {self.method_name: outputs["pred"]}
            results.update({CLASSICAL_ROW_NAMES.get(name, name): classical_inpainter(name)(image, mask) for name in compare_with})
            columns, captions = method_comparison(image, mask, results)
        else:
            columns = panel_columns(outputs, image, mask)
        columns = {k: v.detach().float().cpu() for k, v in columns.items()}
        labels = tile_labels({k: v.detach().float().cpu() for k, v in outputs.items() if k == "pred"},
                             image.cpu(), mask.cpu())
        header = f"{key.split('/')[0]} | epoch {trainer.current_epoch} | step {trainer.global_step}"
        if key.startswith("test"):  # the tested weights, not where training stopped
            tested = getattr(trainer, "ckpt_path", None)
            header = f"test | {pathlib.Path(tested).name if tested else f'current weights, step {trainer.global_step}'}"
        panel = labelled_panel(columns, header, labels, self.num_images, self.min_tile, captions)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.output_dir / f"{stem}.png") as tmp:
            panel.save(tmp, format="PNG")
        for lg in trainer.loggers:
            if isinstance(lg, TensorBoardLogger):
                lg.experiment.add_image(key, np.asarray(panel), trainer.global_step, dataformats="HWC")
        wandb_loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        if wandb_loggers:
            # one uint8 image per panel: wandb casts float arrays with a bare uint8 cast (black images)
            caption = " | ".join(columns) + "; " + ", ".join(labels)
            for lg in wandb_loggers:
                lg.log_image(key=key, images=[np.asarray(panel)], caption=[caption], step=trainer.global_step)
