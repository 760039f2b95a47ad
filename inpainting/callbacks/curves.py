"""Training curves: ``<run>/curves.png`` from the CSV logger's ``metrics.csv``, with classical methods'
validation scores as reference lines."""
from __future__ import annotations

import csv
import logging
import pathlib
from typing import Mapping, Sequence

import lightning as L
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from inpainting.data.bins import PAPER_BIN_EDGES, bin_names, check_edges
from inpainting.eval.metrics import BinnedInpaintingMetrics, check_protocol, flat_metrics
from inpainting.utils.atomic import atomic_path

log = logging.getLogger(__name__)


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
    once, at the end, and drawn as dashed lines in the overall validation panels, with the validation
    metrics' ``bin_edges`` and ``protocol`` (``${data.bin_edges}``, ``${metrics.protocol}``).
    """

    def __init__(self, output_path: str = "curves.png", reference_rows: Sequence[str] = (),
                 bin_edges: Sequence[float] = PAPER_BIN_EDGES, protocol: str = "misf"):
        from inpainting.eval.classical import classical_rows

        self.output_path = pathlib.Path(output_path)
        self.reference_rows = classical_rows(reference_rows, "reference_rows")  # row -> method
        self.bin_names = bin_names(check_edges(bin_edges))
        self.protocol = check_protocol(protocol)

    def references(self, trainer: L.Trainer) -> dict[str, dict[str, float]]:
        """``{row: {"val/psnr": ..., ...}}`` of each reference method on the validation set(s): every pair, read
        here on rank zero without the trainer's (distributed) sampler."""
        from inpainting.eval.classical import classical_inpainter
        from inpainting.eval.engine import batch_bins

        # rank zero alone: it sees every pair itself
        metrics = {row: BinnedInpaintingMetrics(self.bin_names, protocol=self.protocol, sync_on_compute=False)
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
                references = self.references(trainer) if self.reference_rows and trainer.val_dataloaders else None
                if plot_curves(metrics, self.output_path, references):
                    log.info("training curves: %s", self.output_path)
                return
