"""Offline evaluation: run inpainting callables over fixed binned pairs and write the report.

The same pieces serve a LightningModule online: build the accumulator with ``binned_metrics``,
``update`` it in ``validation_step``, and at epoch end pass ``table_values(metric.compute(), ...)``
to ``write_report`` (or log the compute() dict directly).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from inpainting.eval.classical import empty_holes
from inpainting.eval.fid import DEFAULT_MIN_IMAGES, INCEPTION_FID_NOTE, BinnedFID, try_inception_features
from inpainting.eval.grid import comparison_columns, save_grid
from inpainting.eval.metrics import BinnedInpaintingMetrics
from inpainting.eval.perceptual import try_lpips_scorer
from inpainting.eval.tables import OVERALL, Value, write_per_image_csv, write_tables

# (image, mask) -> pred, or a mapping with "pred" and extra (B,1|3,H,W) maps shown in the grid
InpaintingModel = Callable[[torch.Tensor, torch.Tensor], "torch.Tensor | Mapping[str, torch.Tensor]"]
INPUT_ROW = "Input"
PROTOCOL_NOTE = (
    "Protocol: composited output (prediction in the holes, ground truth elsewhere) scored on the whole image; "
    "PSNR/SSIM on uint8-truncated images (data range 255, PSNR capped at 100; SSIM 7x7 uniform window, sample "
    "covariance, per channel); L1 = mean |composite - gt| in [0,1]; LPIPS = VGG v0.1 on [-1,1]."
)
REQUIRED_KEYS = ("image", "mask", "bin")


def optional_scorers(lpips: bool = False, lpips_weights: str | Path | None = None) -> tuple[dict, dict[str, str]]:
    """Extra scorers for ``BinnedInpaintingMetrics`` and ``{metric: "n/a (...)"}`` for those that cannot run here."""
    if not lpips:
        return {}, {}
    scorer, note = try_lpips_scorer(lpips_weights)
    return ({}, {"lpips": note}) if scorer is None else ({"lpips": scorer}, {})


def binned_metrics(
    bin_names: Sequence[str], lpips: bool = False, lpips_weights: str | Path | None = None
) -> tuple[BinnedInpaintingMetrics, dict[str, str]]:
    """The accumulator (e.g. for a LightningModule), plus the n/a notes of requested metrics that cannot run."""
    extra, unavailable = optional_scorers(lpips, lpips_weights)
    return BinnedInpaintingMetrics(bin_names, extra_scorers=extra), unavailable


def table_values(
    computed: Mapping[str, torch.Tensor], bin_names: Sequence[str], unavailable: Mapping[str, str] | None = None
) -> dict[str, Value]:
    """``compute()`` output as plain numbers, with the n/a text filled in for every bin of unavailable metrics."""
    values: dict[str, Value] = {key: value.item() for key, value in computed.items()}
    for metric, note in (unavailable or {}).items():
        values.update({f"{metric}/{bin_name}": note for bin_name in [*bin_names, OVERALL]})
    return values


def write_report(
    out_dir: str | Path,
    results: Mapping[str, Mapping[str, Value]],
    bin_names: Sequence[str],
    per_image_rows: Sequence[Mapping[str, object]] | None = None,
    grid_columns: Mapping[str, torch.Tensor] | None = None,
    paper: Mapping[str, Mapping[str, Value]] | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Path]:
    """Write ``metrics.{md,csv,json}``, ``per_image.csv`` and ``grid.png`` (the last two when given).

    ``notes`` are extra lines for the markdown, after the protocol note (e.g. the FID image counts).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, csv_path = write_tables(results, out_dir / "metrics", bin_names, paper=paper, title=title, notes=[PROTOCOL_NOTE, *notes])
    json_path = out_dir / "metrics.json"
    json_path.write_text(json.dumps(results, indent=2, allow_nan=True), encoding="utf-8")
    paths = {"markdown": md, "csv": csv_path, "json": json_path}
    if per_image_rows is not None:
        paths["per_image"] = write_per_image_csv(per_image_rows, out_dir / "per_image.csv")
    if grid_columns:
        paths["grid"] = save_grid(out_dir / "grid.png", grid_columns)
    return paths


def _split_output(output, what: str) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    if isinstance(output, torch.Tensor):
        return output, {}
    if isinstance(output, Mapping) and "pred" in output:
        return output["pred"], {k: v for k, v in output.items() if k != "pred"}
    raise TypeError(f"{what} must return a tensor or a mapping with a 'pred' tensor, got {type(output).__name__}")


class _GridCollector:
    """Keeps the first ``rows`` images (of the first image size seen) for the report grid."""

    def __init__(self, rows: int):
        self.rows = rows
        self.parts: list[dict[str, torch.Tensor]] = []
        self.count = 0

    def add(self, columns: Mapping[str, torch.Tensor]) -> None:
        first = next(iter(columns.values()))
        if self.count >= self.rows or (self.parts and first.shape[-2:] != next(iter(self.parts[0].values())).shape[-2:]):
            return
        take = min(self.rows - self.count, first.shape[0])
        self.parts.append({name: x[:take].detach().cpu() for name, x in columns.items()})
        self.count += take

    def columns(self) -> dict[str, torch.Tensor]:
        if not self.parts:
            return {}
        return {name: torch.cat([part[name] for part in self.parts]) for name in self.parts[0]}


class Evaluator:
    """Scores inpainting callables on a DataLoader of fixed binned pairs and writes the report.

    Args:
        bin_names: names of the bins indexed by each batch's ``bin`` ids.
        out_dir: folder for ``metrics.{md,csv,json}``, ``per_image.csv`` and ``grid.png``.
        lpips: also score LPIPS(VGG); reported as n/a when the VGG16 trunk file is missing.
        lpips_weights: explicit VGG16 trunk file (default: the torch hub checkpoint folder).
        fid: also report FID per bin (composites vs ground truth); n/a when the Inception file is missing.
        fid_weights: explicit ``weights-inception-2015-12-05-6726825d.pth`` (default: the torch hub checkpoint folder).
        fid_min_images: bins (and the overall set) with fewer images report FID as n/a (default 2048).
        include_input: add the "Input" row (holes left empty), the floor every method must beat.
        grid_rows: images shown in ``grid.png`` (0 disables it).
        device: where batches are moved (the model must already live there); default: unchanged.
        progress: show a rich progress bar.
        protocol: the paper's metric protocol, ``misf`` or ``jpgnet`` (see ``inpainting.eval.metrics``).
    """

    def __init__(
        self,
        bin_names: Sequence[str],
        out_dir: str | Path,
        lpips: bool = False,
        lpips_weights: str | Path | None = None,
        fid: bool = False,
        fid_weights: str | Path | None = None,
        fid_min_images: int = DEFAULT_MIN_IMAGES,
        include_input: bool = True,
        grid_rows: int = 8,
        device: str | torch.device | None = None,
        progress: bool = True,
        protocol: str = "misf",
    ):
        self.bin_names = list(bin_names)
        self.protocol = protocol
        self.out_dir = Path(out_dir)
        self.lpips, self.lpips_weights = lpips, lpips_weights
        self.fid, self.fid_weights, self.fid_min_images = fid, fid_weights, fid_min_images
        self.include_input = include_input
        self.grid_rows = grid_rows
        self.device = torch.device(device) if device is not None else None
        self.progress = progress

    def _batch(self, batch: Mapping[str, object], index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
        missing = [key for key in REQUIRED_KEYS if key not in batch]
        if missing:
            raise KeyError(f"evaluation batch {index} lacks {missing}; fixed eval sets must provide {list(REQUIRED_KEYS)} (+ name)")
        image, mask, bins = batch["image"], batch["mask"], torch.as_tensor(batch["bin"])
        if self.device is not None:
            image, mask, bins = image.to(self.device), mask.to(self.device), bins.to(self.device)
        names = list(batch.get("name", [f"b{index}_{i}" for i in range(image.shape[0])]))
        return image, mask, bins, names

    @torch.no_grad()
    def run(
        self,
        models: InpaintingModel | Mapping[str, InpaintingModel],
        loader: Iterable[Mapping[str, object]],
        paper: Mapping[str, Mapping[str, Value]] | None = None,
        title: str | None = None,
    ) -> dict[str, dict[str, Value]]:
        """Score every model on every batch, write the report, return ``{method: {"psnr/0-20%": ..., ...}}``.

        ``models`` is one callable (reported as "model") or a name -> callable mapping; nn.Modules are
        put in eval mode for the run and restored afterwards. The grid shows every method but "Input".
        """
        methods = dict(models) if isinstance(models, Mapping) else {"model": models}
        if self.include_input:
            methods = {INPUT_ROW: empty_holes, **methods}
        extra, unavailable = optional_scorers(self.lpips, self.lpips_weights)  # one LPIPS network for all methods
        accumulators = {name: BinnedInpaintingMetrics(self.bin_names, extra_scorers=extra, protocol=self.protocol)
                        for name in methods}
        features, fid_note = try_inception_features(self.fid_weights) if self.fid else (None, None)
        if fid_note is not None:
            unavailable = {**unavailable, "fid": fid_note}
        fids = {name: BinnedFID(self.bin_names, features, self.fid_min_images) for name in methods} if features else {}
        if self.device is not None:
            accumulators = {name: acc.to(self.device) for name, acc in accumulators.items()}
            fids = {name: acc.to(self.device) for name, acc in fids.items()}
        was_training = {name: m.training for name, m in methods.items() if isinstance(m, torch.nn.Module)}
        for name in was_training:
            methods[name].eval()
        grid = _GridCollector(self.grid_rows)
        try:
            with _progress(self.progress) as progress:
                task = progress.add_task("evaluating", total=_length(loader))
                for index, batch in enumerate(loader):
                    image, mask, bins, names = self._batch(batch, index)
                    outputs = {}
                    real_features = features(image) if fids else None  # one ground-truth pass for all methods
                    for name, method in methods.items():
                        outputs[name] = _split_output(method(image, mask), name)
                        accumulators[name].update(outputs[name][0], image, mask, bins, names)
                        if fids:
                            fids[name].update(outputs[name][0], image, mask, bins, real_features=real_features)
                    shown = {name: out for name, out in outputs.items() if name != INPUT_ROW}
                    if len(shown) == 1:
                        shown = {"": next(iter(shown.values()))}  # a single model gets bare column titles
                    grid.add(comparison_columns(image, mask, shown))
                    progress.advance(task)
        finally:
            for name, training in was_training.items():
                methods[name].train(training)
        results = {name: table_values(acc.compute(), self.bin_names, unavailable) for name, acc in accumulators.items()}
        notes = []
        for name, acc in fids.items():
            computed = acc.compute()
            results[name].update(acc.table_values(computed))
            notes = [INCEPTION_FID_NOTE, acc.counts_note(computed)]  # the same images for every method
        rows = [{"method": name, **row} for name, acc in accumulators.items() for row in acc.per_image()]
        write_report(self.out_dir, results, self.bin_names, rows, grid.columns(), paper=paper, title=title, notes=notes)
        return results


def _length(loader: Iterable) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), disable=not enabled
    )
