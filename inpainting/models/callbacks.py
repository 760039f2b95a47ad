"""Callbacks: the fixed image panel (PNG grids in the run folder, and W&B when attached), training
curves as a PNG from the CSV metrics, and a progress bar that shows the validation PSNR."""
from __future__ import annotations

import csv
import logging
import pathlib
from typing import Mapping, Sequence

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger, WandbLogger
from PIL import Image, ImageDraw, ImageFont
from torch.utils.data import DataLoader, default_collate

from inpainting.eval.grid import PAD, TITLE_HEIGHT, grid_image, inpainting_columns, method_comparison
from inpainting.eval.metrics import BinnedInpaintingMetrics, hole_ratio, inpainting_scores
from inpainting.utils.atomic import atomic_path

log = logging.getLogger(__name__)
COLOUR_MAP = "viridis"  # single-channel maps (uncertainty, off-centre weight), scale 0..1


# what each end of a colourised map means (the colour bar says it)
MAP_ENDS = {"uncertainty": ("0 = filter trusted", "1 = uncertain (generator used)"),
            "off-centre weight": ("0 = centre tap only", "1 = all from neighbours")}
FLAT_SPREAD = 0.05  # a map spanning less than 5 % of its 0..1 scale over the panel shows nothing: left out, value said


def _spread_items(dataloader, count: int) -> dict | None:
    """``count`` samples evenly spaced over a fixed (unshuffled) eval set, collated: the eval sets list their
    pairs bin after bin, so the panel shows every hole-ratio bin."""
    dataset = getattr(dataloader, "dataset", None)
    if dataset is None or len(dataset) == 0:
        return None
    indices = sorted({int(i) for i in np.linspace(0, len(dataset) - 1, min(count, len(dataset))).round()})
    return default_collate([dataset[i] for i in indices])


def panel_columns(outputs: dict, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Columns of the panel: masked input | output | composite | ground truth [| filter maps]."""
    extra = {}
    if "uncertainty" in outputs:
        extra["uncertainty"] = outputs["uncertainty"]
    if "kernels" in outputs:
        # share of each pixel's kernel weight off the centre tap: where the filter borrows from neighbours
        kernels = outputs["kernels"].abs()
        taps = kernels.shape[1] // image.shape[1]  # image-level kernels, laid out channel*taps + tap
        per_tap = kernels.view(kernels.shape[0], -1, taps, *kernels.shape[2:]).mean(1)
        off_centre = 1 - per_tap[:, taps // 2 : taps // 2 + 1] / per_tap.sum(1, keepdim=True).clamp_min(1e-12)
        extra["off-centre weight"] = off_centre
    return inpainting_columns(image, mask, outputs["pred"].clamp(0, 1), extra)


def colourise(x: torch.Tensor, cmap: str = COLOUR_MAP) -> torch.Tensor:
    """(B,1,H,W) in [0,1] -> (B,3,H,W) through a matplotlib colour map, on ``x``'s device."""
    from matplotlib import colormaps

    rgba = colormaps[cmap](x[:, 0].clamp(0, 1).detach().cpu().numpy())
    return torch.from_numpy(rgba[..., :3]).permute(0, 3, 1, 2).float().to(x.device)


def _colour_bar(width: int, name: str, font: ImageFont.ImageFont) -> Image.Image:
    """A strip 'name: 0 = ... [colour ramp] 1 = ...' explaining one colourised column."""
    from matplotlib import colormaps

    low, high = MAP_ENDS.get(name, ("0", "1"))
    strip = Image.new("RGB", (width, TITLE_HEIGHT + PAD), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    label = f"{name}: {low}"
    draw.text((PAD, 2), label, fill=(0, 0, 0), font=font)
    left = PAD + int(draw.textlength(label, font=font)) + 4
    ramp_width = max(16, min(256, width - left - int(draw.textlength(high, font=font)) - 12))
    ramp = (colormaps[COLOUR_MAP](np.linspace(0, 1, ramp_width))[:, :3] * 255).astype(np.uint8)
    strip.paste(Image.fromarray(np.repeat(ramp[None], TITLE_HEIGHT - 4, axis=0)), (left, 2))
    draw.text((left + ramp_width + 4, 2), high, fill=(0, 0, 0), font=font)
    return strip


def _note_strip(width: int, text: str, font: ImageFont.ImageFont) -> Image.Image:
    strip = Image.new("RGB", (width, TITLE_HEIGHT + PAD), (255, 255, 255))
    ImageDraw.Draw(strip).text((PAD, 2), text, fill=(0, 0, 0), font=font)
    return strip


def labelled_panel(columns: dict[str, torch.Tensor], header: str, row_labels: list[str], max_rows: int,
                   min_tile: int, captions: dict[str, list[str]] | None = None) -> Image.Image:
    """The grid with a header line, a label after each row and a colour scale for each single-channel map
    (``captions``: text on each tile of a column, e.g. its PSNR). A map that is flat over the panel shows
    nothing: it is left out and a line says its value."""
    flat = {name: x for name, x in columns.items() if x.shape[1] == 1 and float(x.max() - x.min()) < FLAT_SPREAD}
    columns = {name: x for name, x in columns.items() if name not in flat}
    maps = [name for name, x in columns.items() if x.shape[1] == 1]
    shown = {name: colourise(x) if name in maps else x for name, x in columns.items()}
    grid = grid_image(shown, max_rows=max_rows, min_tile=min_tile, captions=captions)
    font = ImageFont.load_default()
    rows = min(max_rows, next(iter(columns.values())).shape[0])
    tile = (grid.height - TITLE_HEIGHT - PAD) // rows - PAD
    measure = ImageDraw.Draw(grid)
    label_width = PAD + max([int(measure.textlength(s, font=font)) for s in row_labels] + [0]) + PAD
    strips = [_colour_bar(grid.width + label_width, name, font) for name in maps]
    strips += [_note_strip(grid.width + label_width, f"{name}: flat ({float(x.mean()):.2f} everywhere), not shown", font)
               for name, x in flat.items()]
    height = TITLE_HEIGHT + grid.height + sum(strip.height for strip in strips)
    canvas = Image.new("RGB", (grid.width + label_width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.text((PAD, 2), header, fill=(0, 0, 0), font=font)
    canvas.paste(grid, (0, TITLE_HEIGHT))
    for row, text in enumerate(row_labels[:rows]):
        y = 2 * TITLE_HEIGHT + PAD + row * (tile + PAD) + tile // 2 - 6
        draw.text((grid.width, y), text, fill=(0, 0, 0), font=font)
    top = TITLE_HEIGHT + grid.height
    for strip in strips:
        canvas.paste(strip, (0, top))
        top += strip.height
    return canvas


def tile_labels(outputs: dict, image: torch.Tensor, mask: torch.Tensor) -> list[str]:
    """'hole 13% | 21.4 dB' per tile: hole ratio and PSNR of the composite (PSNR only for RGB outputs)."""
    ratios = hole_ratio(mask).tolist()
    pred = outputs["pred"]
    if pred.shape != image.shape:
        return [f"hole {100 * r:.0f}%" for r in ratios]
    psnr = inpainting_scores(pred.clamp(0, 1), image, mask)["psnr"].tolist()
    return [f"hole {100 * r:.0f}% | {p:.1f} dB" for r, p in zip(ratios, psnr)]


class ImagePanel(L.Callback):
    """Same images, same masks, every time: ``images/val_epochNNN_stepNNNNNNN.png`` (one per validation,
    so mid-epoch validations do not overwrite each other), ``images/test.png``. The header says the
    stage, epoch and step; each row ends with its hole ratio and PSNR; single-channel maps are
    colourised with a scale at the bottom."""

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

            results = {pl_module.method_name: outputs["pred"]}
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


class ValueProgressBar(TQDMProgressBar):
    """Lightning's TQDM bar plus the latest values of ``show`` (e.g. val/psnr) once they exist."""

    def __init__(self, show: list[str] | tuple[str, ...] = ("val/psnr",), **kwargs):
        super().__init__(**kwargs)
        self.show = list(show)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        # one line per validation in the run's log: the bar's values vanish with the terminal
        overall = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/") and "_" not in k}
        if overall:
            log.info("validation at epoch %d, step %d: %s", trainer.current_epoch, trainer.global_step,
                     ", ".join(f"{k}={v:.4f}" for k, v in sorted(overall.items())))

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict:
        items = super().get_metrics(trainer, pl_module)
        for name in self.show:
            value = trainer.callback_metrics.get(name)
            if value is not None:
                items[name] = f"{float(value):.3f}"
        return items


def plot_curves(metrics_csv: str | pathlib.Path, png: str | pathlib.Path,
                references: Mapping[str, Mapping[str, float]] | None = None) -> pathlib.Path | None:
    """Training and validation curves from a Lightning ``metrics.csv`` (x = step): one axis for the
    ``train/`` losses, one per validation metric (overall and per bin). ``references``: ``{row: {"val/psnr":
    value, ...}}``, drawn as dashed horizontal lines (e.g. Telea on the same validation pairs), so a flat
    curve can be read against a baseline. None when nothing was logged."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed; also inside DDP children and on clusters
    import matplotlib.pyplot as plt

    with open(metrics_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    series: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if not row.get("step"):
            continue
        for key, value in row.items():
            if key.startswith(("train/", "val/")) and value not in ("", None):
                series.setdefault(key, []).append((float(row["step"]), float(value)))
    groups = curve_groups(series)
    if not groups:
        return None
    if references and "val/psnr" in series and any("val/psnr" in r for r in references.values()):
        groups["val/psnr (overall, zoomed)"] = ["val/psnr"]  # a gap of tenths of a dB, readable
    columns = min(3, len(groups))
    rows = -(-len(groups) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(groups):]:
        ax.axis("off")
    for ax, (group, keys) in zip(axes.flat, groups.items()):
        metric = group.split(" ")[0]
        for key in keys:
            steps, values = zip(*series[key])
            overall = key == metric or key.endswith("_epoch")
            ax.plot(steps, values, marker="o" if len(steps) < 30 else None, markersize=3,
                    linewidth=2 if overall else 1, alpha=1 if overall else 0.6, label=key)
        for (name, values), style in zip((references or {}).items(), ("--", ":", "-.")):
            if metric in values:
                ax.axhline(values[metric], color="black", linestyle=style, linewidth=1.2, label=f"{name} ({metric})")
        ax.set_title(group)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    png = pathlib.Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(png) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return png


def curve_groups(keys) -> dict[str, list[str]]:
    """One axis per kind of value: the training losses together (same scale), every other training value and
    every validation metric on its own axis, overall and per bin (``val/psnr``, ``val/psnr_0-20%``) together."""
    groups: dict[str, list[str]] = {}
    for key in sorted(keys):
        if key == "train/iteration":
            continue
        if key.startswith("train/") and "loss" in key:
            group = "train losses"
        else:
            group = key.split("_")[0]
        groups.setdefault(group, []).append(key)
    return groups


class CurvePlot(L.Callback):
    """At the end of fitting, ``<run>/curves.png`` from the CSV logger's ``metrics.csv`` (no W&B or
    TensorBoard needed). Does nothing without a CSV logger.

    ``reference_rows``: classical methods (``telea``, ``navier_stokes``, ...) scored on the validation pairs
    once, at the end, and drawn as dashed lines in the overall validation panels.
    """

    def __init__(self, output_path: str = "curves.png", reference_rows: Sequence[str] = ()):
        from inpainting.eval.classical import classical_rows

        self.output_path = pathlib.Path(output_path)
        self.reference_rows = classical_rows(reference_rows, "reference_rows")  # row -> method

    def references(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, dict[str, float]]:
        """``{row: {"val/psnr": ..., ...}}`` of each reference method on the validation set(s): every pair, read
        here on rank zero without the trainer's (distributed) sampler."""
        from inpainting.eval.classical import classical_inpainter
        from inpainting.eval.engine import batch_bins
        from inpainting.eval.report import flat_metrics

        val = pl_module.val_metrics  # same bins and protocol; rank zero alone, it sees every pair itself
        metrics = {row: BinnedInpaintingMetrics(val.bin_names, protocol=val.protocol, sync_on_compute=False)
                   for row in self.reference_rows}
        loaders = trainer.val_dataloaders
        for loader in loaders if isinstance(loaders, (list, tuple)) else [loaders]:
            for batch in DataLoader(loader.dataset, batch_size=loader.batch_size or 1, collate_fn=loader.collate_fn):
                image, mask, bins = batch["image"], batch["mask"], batch_bins(batch)
                for row, method in self.reference_rows.items():
                    metrics[row].update(classical_inpainter(method)(image, mask), image, mask, bins)
        return {row: flat_metrics("val", {k: v.item() for k, v in metric.compute().items()})
                for row, metric in metrics.items()}

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.fast_dev_run:
            return
        for logger in trainer.loggers:
            if isinstance(logger, CSVLogger):
                logger.save()  # rows still buffered in memory
                metrics = pathlib.Path(logger.log_dir) / "metrics.csv"
                if not metrics.is_file():
                    return
                references = self.references(trainer, pl_module) if self.reference_rows and trainer.val_dataloaders else None
                if plot_curves(metrics, self.output_path, references):
                    log.info("training curves: %s", self.output_path)
                return
