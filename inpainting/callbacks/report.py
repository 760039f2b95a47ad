"""``TestReport``: scores every test batch's prediction and writes the run's test tables and results.json.

The LightningModule's ``test_step`` returns its prediction (``{"pred": ..., "target": ...}``); this
callback scores it with the evaluation engine (``inpainting.eval.engine``), writes the files of
``inpainting.eval.report`` on rank 0, sends the per-bin table to every attached W&B logger and the tables to
TensorBoard, and logs ``test/<metric>`` and ``test/<metric>_<bin>`` of the method. ``trainer.test()``
from Python therefore writes the same files as ``inpaint-train`` and ``inpaint-eval``.
"""
from __future__ import annotations

import pathlib
from typing import Any, Mapping, Sequence

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from inpainting.data.datasets import is_padding
from inpainting.eval.engine import INPUT_ROW, EvalResults, MetricOptions, Scorer, batch_bins, save_outputs, score_batch
from inpainting.eval.metrics import flat_metrics
from inpainting.eval.report import write_report
from inpainting.eval.tables import OVERALL
from inpainting.utils.composite import composite


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


def log_to_tensorboard(logger: TensorBoardLogger, results: EvalResults, markdown: str, step: int) -> None:
    """The test tables in TensorBoard: every row's scores (the method, Input and the classical rows) as scalars
    ``test_rows/<row>/<metric>/<bin>``, also the metric columns of the HPARAMS tab beside the run's
    hyper-parameters, and the markdown tables as text."""
    scores = {f"test_rows/{row}/{key}": value for row, values in results.table.items()
              for key, value in values.items() if isinstance(value, float)}
    logger.log_hyperparams(logger.hparams, metrics=scores, step=step)
    logger.experiment.add_text("test/metrics", markdown, step)
    logger.experiment.flush()


def excluded_pairs(trainer: L.Trainer) -> list:
    """The ``(mask, hole ratio)`` pairs the test set(s) left out, as each evaluation dataset carries them."""
    loaders = trainer.test_dataloaders
    loaders = loaders if isinstance(loaders, (list, tuple)) else [loaders]
    return [pair for loader in loaders for pair in getattr(getattr(loader, "dataset", None), "excluded", ())]


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
        method_name: the model's row in the tables (``${model.method_name}``).

    The test masks that fall in no bin come with the test set (``EvalDataset.excluded``) and are listed in
    ``results.json`` and the table notes.
    """

    __test__ = False  # not a pytest class

    def __init__(self, output_dir: str, bin_edges: Sequence[float], metrics: MetricOptions | Mapping | None = None,
                 run_name: str = "run", save_predictions: bool = False, wandb_key: str = "test/metrics_per_bin",
                 classical_rows: Sequence[str] = (), job: Mapping[str, Any] | None = None, method_name: str = "model"):
        from inpainting.eval.classical import classical_rows as rows_of

        self.classical = rows_of(classical_rows, "classical_rows")  # row -> method
        self.output_dir = pathlib.Path(output_dir)
        self.bin_edges = list(bin_edges)
        self.options = metrics if isinstance(metrics, MetricOptions) else MetricOptions(**dict(metrics or {}))
        self.run_name, self.save_predictions, self.wandb_key = run_name, save_predictions, wandb_key
        self.job = dict(job or {})
        self.method_name = method_name
        self.scorer: Scorer | None = None

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # built when testing starts: the backbones (LPIPS VGG16, FID Inception) are hundreds of MB a training run need not hold
        if self.scorer is None:
            self.scorer = Scorer(self.bin_edges, [INPUT_ROW, self.method_name, *self.classical], self.options)
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
        score_batch(self.scorer, self.method_name, outputs["pred"], scored, names=names)
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
        # the metric objects have already gathered every rank's images: no reduction
        pl_module.log_dict(flat_metrics("test", results.table[self.method_name]), sync_dist=False)
        if not trainer.is_global_zero:
            return
        checkpoint = getattr(trainer, "ckpt_path", None)
        paths = write_report(results, self.output_dir, self.run_name, checkpoint, excluded=excluded_pairs(trainer),
                             method=self.method_name, job=self.job)
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
