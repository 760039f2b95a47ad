"""Test reporting: the ``TestReport`` callback and the files every evaluation writes.

The LightningModule's ``test_step`` returns its prediction (``{"pred": ..., "target": ...}``); this
callback scores it with the evaluation engine (``inpainting.eval.engine``) and, on rank 0, writes

* ``tables/test_metrics.md`` (for reading; an n/a cell says why) and ``tables/test_metrics.csv``
  (numbers only: a missing value is an empty cell, the reason is in the markdown and in results.json),
* ``tables/test_per_image.csv`` (the method's per-image scores; the other rows' as ``<row>/<metric>`` columns),
* ``results.json`` (schema 1: ``run_name``, ``checkpoint``, ``bins``, ``counts``,
  ``methods[row][metric][bin]`` = number or null, ``notes[metric]``, ``excluded``: the test masks
  whose hole ratio falls in no bin, as ``[name, ratio]``; ``method``: the row of ``methods`` that is the
  model, ``experiment``, and ``table``/``row`` when ``inpaint-reproduce`` ran the job),
* the per-bin table into every attached W&B logger,

and logs ``test/<metric>`` and ``test/<metric>_<bin>`` of the method. ``trainer.test()`` from Python
therefore writes the same files as ``inpaint-train`` and ``inpaint-eval``.
"""
from __future__ import annotations

import logging
import pathlib
from typing import Any, Mapping, Sequence

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from inpainting.data.datasets import is_padding
from inpainting.eval.engine import INPUT_ROW, EvalResults, MetricOptions, Scorer, batch_bins, save_outputs, score_batch
from inpainting.eval.metrics import composite
from inpainting.eval.tables import OVERALL, write_per_image_csv, write_tables
from inpainting.utils.atomic import write_text
from inpainting.utils.runs import write_json

log = logging.getLogger(__name__)

RESULTS_FILE = "results.json"
PROTOCOL_NOTE = (
    "Protocol: composited output (prediction in the holes, ground truth elsewhere) scored on the whole image; "
    "PSNR/SSIM on uint8-truncated images (data range 255, PSNR capped at 100; SSIM 7x7 uniform window, sample "
    "covariance, per channel); L1 = mean |composite - gt| in [0,1]; LPIPS = VGG v0.1 on [-1,1]; FID = torchmetrics' "
    "FID (torch-fidelity's InceptionV3) per bin, composites vs their ground truth."
)


def excluded_note(excluded: Sequence[Sequence], bins: Sequence[str]) -> str:
    """The table note that says which test masks no bin holds (the counts would hide them)."""
    name, ratio = excluded[0]
    return (f"Left out: {len(excluded)} test mask(s) whose hole ratio falls in no bin of {', '.join(bins)} "
            f"(first: {name}, {float(ratio):.2%}); results.json lists them all.")


def write_report(results: EvalResults, output_dir: str | pathlib.Path, run_name: str,
                 checkpoint: str | None = None, title: str | None = None,
                 excluded: Sequence[Sequence] = (), method: str | None = None,
                 job: Mapping[str, Any] | None = None) -> dict[str, pathlib.Path]:
    """Write ``tables/test_metrics.{md,csv}``, ``tables/test_per_image.csv`` and ``results.json`` under ``output_dir``.

    ``checkpoint`` is stored relative to ``output_dir`` when it lies inside it. ``excluded``: the
    ``(mask, hole ratio)`` pairs the data module left out (``InpaintingDataModule.excluded["test"]``).
    ``method``: the row that is the evaluated model; ``job``: what the job is (``experiment``, ``table``, ``row``).
    """
    output_dir = pathlib.Path(output_dir)
    tables = output_dir / "tables"
    title = title or f"{run_name}: test metrics on the composited output"
    notes = [PROTOCOL_NOTE, *([excluded_note(excluded, results.bins)] if excluded else [])]
    md, csv_path = write_tables(results.table_rows(), tables / "test_metrics", bins=results.bins, title=title,
                                notes=notes, numbers_only=True)
    per_image = write_per_image_csv(results.per_image, tables / "test_per_image.csv")
    if method in results.table and len(results.table) > 1:
        write_text(md, md.read_text(encoding="utf-8") + "\n" + paired_section(results, method, per_image))
    if checkpoint is not None:
        path = pathlib.Path(checkpoint).resolve()
        checkpoint = str(path.relative_to(output_dir.resolve())) if path.is_relative_to(output_dir.resolve()) else str(path)
    json_path = output_dir / RESULTS_FILE
    identity = {"method": method, "experiment": None, "table": None, "row": None} | dict(job or {})
    write_json(results.to_json(run_name, checkpoint, excluded) | identity, json_path)
    return {"markdown": md, "csv": csv_path, "per_image": per_image, "results": json_path}


def paired_section(results: EvalResults, method: str, per_image: pathlib.Path) -> str:
    """``method`` against every other row (Input, classical rows, other prediction folders) on the same test
    pairs: mean per-image difference, its 95 % bootstrap interval and a verdict (``inpainting.eval.claims``)."""
    from inpainting.eval import claims

    scored = set(results.per_image[0]) if results.per_image else set()
    metrics = [m for m in results.metrics if m in scored]  # per-image metrics only (FID is a set statistic)
    others = [row for row in results.table if row != method]
    found = claims.pairwise_claims(method, others, metrics)
    comparisons = claims.evaluate(found, claims.read_per_image(per_image, method))
    return claims.markdown_section(found, comparisons, show_paper=False, heading="## Paired differences")


def per_bin_table(results: EvalResults) -> tuple[list[str], list[list]]:
    """``(columns, rows)`` for W&B: one row per (method, bin) with every metric (None where not computed)."""
    metrics = results.metrics
    rows = []
    for method, values in results.table.items():
        for bin_name in [*results.bins, OVERALL]:
            cells = [values.get(f"{m}/{bin_name}") for m in metrics]
            if not results.counts.get(bin_name):
                continue  # an empty bin has nothing to compare
            rows.append([method, bin_name, *(c if isinstance(c, float) else None for c in cells),
                         results.counts.get(bin_name)])
    return ["method", "bin", *metrics, "count"], rows


def flat_metrics(stage: str, values: Mapping[str, Any]) -> dict[str, float]:
    """``<stage>/<metric>`` (all images) and ``<stage>/<metric>_<bin>``; counts and text (n/a) cells left out."""
    flat = {}
    for key, value in values.items():
        metric, bin_name = key.split("/", 1)
        if metric == "count" or isinstance(value, str):
            continue
        flat[f"{stage}/{metric}" if bin_name == OVERALL else f"{stage}/{metric}_{bin_name}"] = float(value)
    return flat


def log_summary(pl_module: L.LightningModule, stage: str, values: Mapping[str, Any]) -> None:
    """Log :func:`flat_metrics`; the metric objects have already gathered every rank's images (no reduction)."""
    pl_module.log_dict(flat_metrics(stage, values), sync_dist=False)


def log_to_tensorboard(logger: TensorBoardLogger, results: EvalResults, markdown: str, step: int) -> None:
    """The test tables in TensorBoard: every row's scores (the method, Input and the classical rows) as scalars
    ``test_rows/<row>/<metric>/<bin>``, also the metric columns of the HPARAMS tab beside the run's
    hyper-parameters, and the markdown tables as text."""
    scores = {f"test_rows/{row}/{key}": value for row, values in results.table.items()
              for key, value in values.items() if isinstance(value, float)}
    logger.log_hyperparams(logger.hparams, metrics=scores, step=step)
    logger.experiment.add_text("test/metrics", markdown, step)
    logger.experiment.flush()


class TestReport(L.Callback):
    """Scores every test batch's prediction and writes the run's test tables and ``results.json``.

    Args:
        output_dir: the run folder.
        bin_edges: hole-ratio bin edges of the test pairs (``${data.bin_edges}``).
        metrics: :class:`~inpainting.eval.engine.MetricOptions` (the ``metrics`` config group).
        run_name: written into ``results.json`` and the markdown title.
        save_predictions: also write ``test_outputs/{predictions,images,masks}/`` (float32 TIFF composites,
            PNG ground truth and masks), which ``inpaint-eval predictions=... images=... masks=...`` scores
            to the same tables.
        wandb_key: the W&B table key (used only with a W&B logger).
        classical_rows: classical methods scored on the same pairs, as extra rows (``telea``,
            ``navier_stokes``, ``biharmonic``): what a learned model should beat.
        job: what ``results.json`` says the job is: ``experiment``, and the reproduced ``table`` and ``row``.
    """

    __test__ = False  # not a pytest class

    def __init__(self, output_dir: str, bin_edges: Sequence[float], metrics: MetricOptions | Mapping | None = None,
                 run_name: str = "run", save_predictions: bool = False, wandb_key: str = "test/metrics_per_bin",
                 classical_rows: Sequence[str] = (), job: Mapping[str, Any] | None = None):
        from inpainting.eval.classical import classical_rows as rows_of

        self.classical = rows_of(classical_rows, "classical_rows")  # row -> method
        self.output_dir = pathlib.Path(output_dir)
        self.bin_edges = list(bin_edges)
        self.options = metrics if isinstance(metrics, MetricOptions) else MetricOptions(**dict(metrics or {}))
        self.run_name, self.save_predictions, self.wandb_key = run_name, save_predictions, wandb_key
        self.job = dict(job or {})
        self.scorer: Scorer | None = None
        self.results: EvalResults | None = None  # the last test's results, for the caller

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # built when testing starts: the backbones (LPIPS VGG16, FID Inception) are hundreds of MB a training run need not hold
        if self.scorer is None:
            self.scorer = Scorer(self.bin_edges, [INPUT_ROW, pl_module.method_name, *self.classical], self.options)
        self.scorer.to(pl_module.device).reset()

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        if is_padding(batch):  # a rank without pairs of its own: it only joins the epoch-end collectives
            self.scorer.join_without_images()
            return
        if not isinstance(outputs, Mapping) or "pred" not in outputs:
            raise TypeError(f"{type(pl_module).__name__}.test_step must return {{'pred': ..., 'target': ...}}, got {type(outputs).__name__}")
        target = outputs.get("target", batch["image"])
        names = batch.get("name") or [f"rank{trainer.global_rank}_b{batch_idx}_{i}" for i in range(target.shape[0])]
        scored = {**batch, "image": target}
        score_batch(self.scorer, pl_module.method_name, outputs["pred"], scored, names=names)
        if self.classical:
            from inpainting.eval.classical import classical_inpainter

            self.scorer.update({row: classical_inpainter(method)(target, batch["mask"]) for row, method in self.classical.items()},
                               target, batch["mask"], batch_bins(scored), names)
        if self.save_predictions:
            save_outputs(self.output_dir / "test_outputs", names, composite(outputs["pred"], target, batch["mask"]),
                         target, batch["mask"])

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        results = self.scorer.compute()  # collective: every rank
        self.scorer.reset()
        log_summary(pl_module, "test", results.table[pl_module.method_name])
        self.results = results
        if not trainer.is_global_zero:
            return
        checkpoint = getattr(trainer, "ckpt_path", None)
        excluded = getattr(trainer.datamodule, "excluded", {}).get("test", [])
        paths = write_report(results, self.output_dir, self.run_name, checkpoint, excluded=excluded,
                             method=pl_module.method_name, job=self.job)
        print(paths["markdown"].read_text())
        columns, rows = per_bin_table(results)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_table(key=self.wandb_key, columns=columns, data=rows)
            if isinstance(logger, TensorBoardLogger):
                log_to_tensorboard(logger, results, paths["markdown"].read_text(), trainer.global_step)

    @torch.no_grad()
    def state_dict(self) -> dict:
        return {}  # nothing to resume: a test starts from scratch
