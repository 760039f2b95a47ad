"""Evaluate: ``inpaint-eval ckpt_path=<run dir or .ckpt>`` or ``inpaint-eval predictions=<dir> images=<dir> masks=<dir>``.

Both go through the one evaluation engine (``inpainting.eval.engine``) and write the same files into
this evaluation's run folder: ``tables/test_metrics.{md,csv}``, ``tables/test_per_image.csv``,
``results.json`` (the one result file: with ``checkpoint`` mode's last logged metrics as ``final_metrics``, and
the folder of each row as ``predictions`` in ``predictions`` mode) and ``status.json`` (ok / failed with the
error); rank 0 only.

* ``ckpt_path``: when it is a run folder (or a checkpoint inside one) the model is rebuilt from that
  run's ``config_resolved.yaml``, so the command needs nothing else; ``data=...`` picks the test set. The
  run's comparison rows (``callbacks.test_report.classical_rows``, ``callbacks.image_panel.test_compare_with``)
  come along, so the table is the training-time one.
* ``predictions`` (LaMa's ``evaluate_predicts``): scores outputs already on disk, e.g. the authors'
  released results or a run's ``test_outputs/predictions`` (``save_predictions=true``) with its
  ``test_outputs/images`` and ``test_outputs/masks``. Files pair by relative path without suffix;
  masks are white = hole; the bins are ``data.bin_edges``; the row is named ``method_name``. Several
  folders, one table: ``predictions=[<dir>,<dir>]`` (rows named by folder) or ``predictions={name: <dir>, ...}``.

A bad input (missing folder, unpaired file, a prediction of another size) ends with one line on stderr and
exit status 2; ``status.json`` of the evaluation's folder says failed with the same message.
"""
from __future__ import annotations

import logging
import pathlib

import hydra
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from inpainting.cli.common import CONFIG_DIR, build_run, find_test_report, finish_loggers, prepare_run
from inpainting.cli.options import exit_if_missing, one_line_errors
from inpainting.data.io import DataError
from inpainting.eval.engine import score_folders
from inpainting.eval.metrics import flat_metrics
from inpainting.eval.report import add_final_metrics, write_report
from inpainting.utils.resources import override_key
from inpainting.utils.run_folder import RunFolder
from inpainting.utils.runs import resolve_checkpoint, write_status

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict:
    """Run the evaluation the config asks for; returns ``{"metrics": ..., "checkpoint": ...}`` (``results.json``
    holds the same: ``final_metrics``, ``checkpoint``; ``predictions`` and ``methods`` in ``predictions`` mode)."""
    output_dir = pathlib.Path(cfg.paths.output_dir)
    rank_zero = True
    try:
        if cfg.get("predictions"):
            summary = _score_saved(cfg, output_dir)
        else:
            summary, rank_zero = _test_checkpoint(cfg, output_dir)
    except BaseException as error:
        if rank_zero_only.rank == 0:
            write_status(output_dir, error)
        raise
    if rank_zero:
        write_status(output_dir)
    return summary


def _test_checkpoint(cfg: DictConfig, output_dir: pathlib.Path) -> tuple[dict, bool]:
    if not cfg.get("ckpt_path"):
        raise ValueError("inpaint-eval needs ckpt_path=<run folder or .ckpt>, or predictions=<dir> images=<dir> masks=<dir>")
    ckpt = resolve_checkpoint(cfg.ckpt_path, output_dir, prefer_best=True)
    overrides = _task_overrides()
    given = {override_key(o) for o in overrides}
    _take_training_run(cfg, RunFolder.of(ckpt), ckpt, overrides, given)
    prepare_run(cfg)
    run = build_run(cfg)
    try:
        if find_test_report(run.trainer) is None:
            raise ValueError("inpaint-eval needs the TestReport callback (callbacks.test_report); it writes the tables")
        run.model.load_weights(ckpt)  # weights that do not fit: an error naming the file and what it holds
        run.trainer.test(run.model, datamodule=run.datamodule, ckpt_path=ckpt, weights_only=True)
        metrics = {k: float(v) for k, v in run.trainer.callback_metrics.items()}
        if run.trainer.is_global_zero:
            add_final_metrics(output_dir, metrics)
        return {"metrics": metrics, "checkpoint": ckpt}, run.trainer.is_global_zero
    finally:
        finish_loggers(run.loggers)


def _take_training_run(cfg: DictConfig, run: RunFolder | None, ckpt: str, overrides: list[str], given: set[str]) -> None:
    """Put the training run's model, data (unless ``data=<name>`` is given), protocol and comparison rows into
    this evaluation's config; without a run folder the command line must name the model."""
    if run is None or run.model_config() is None:
        if not given & {"model", "experiment"}:
            raise FileNotFoundError(f"{ckpt}: no config_resolved.yaml in its run folder (or the one above), so the "
                                    "model it holds is unknown; give the model it was trained with (experiment=<name> "
                                    "or model=<name>, with the same overrides)")
        return
    log.info("model and data configs taken from the training run of %s (data=<name> picks another test set)", ckpt)
    with open_dict(cfg):
        cfg.model = run.model_config()  # allow-listed targets only: the folder may come from anyone
        if "data" not in given:
            cfg.data = run.data_config(cfg, [o for o in overrides if override_key(o).startswith("data.")]) or cfg.data
        if "metrics.protocol" not in given:
            cfg.metrics.protocol = run.protocol  # the paper protocol the run was trained for (jpgnet rows set it)
    _take_comparison_rows(cfg, run, given, ckpt)


# the training run's comparison rows: classical methods in its test tables and its images/test.png
COMPARISON_KEYS = ("test_report.classical_rows", "image_panel.test_compare_with")


def _take_comparison_rows(cfg: DictConfig, run: RunFolder, given: set[str], ckpt: str) -> None:
    """Copy the run's comparison rows into this evaluation (a name list, checked to be plain strings: the run
    folder may come from anyone), unless the command line sets them or this config lacks that callback."""
    for key in COMPARISON_KEYS:
        value = run.select(f"callbacks.{key}")
        if value is None or f"callbacks.{key}" in given or OmegaConf.select(cfg, f"callbacks.{key.split('.')[0]}") is None:
            continue
        if not isinstance(value, ListConfig) or not all(isinstance(v, str) for v in value):
            raise DataError(f"{ckpt}: its run's callbacks.{key} is not a list of names: {value!r}")
        with open_dict(cfg):
            OmegaConf.update(cfg, f"callbacks.{key}", list(value), force_add=True)


def _task_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _score_saved(cfg: DictConfig, output_dir: pathlib.Path) -> dict:
    missing = [key for key in ("images", "masks") if not cfg.get(key)]
    if missing:
        raise ValueError(f"predictions={cfg.predictions} also needs {' and '.join(f'{k}=<dir>' for k in missing)}")
    rows = prediction_rows(cfg.predictions, cfg.get("method_name"))
    prepare_run(cfg)
    options = hydra.utils.instantiate(cfg.metrics)
    results = score_folders(rows, cfg.images, cfg.masks, OmegaConf.to_container(cfg.data.bin_edges),
                            options=options, hole_threshold=cfg.mask_threshold, batch_size=cfg.data.eval_batch_size,
                            device=cfg.get("device", "auto"))
    paths = write_report(results, output_dir, cfg.run_name, checkpoint=None, method=next(iter(rows)),
                         job={"predictions": rows})
    print(paths["markdown"].read_text())
    # metrics: the first row's (a sweep's objective); rows: every row's
    per_row = {row: flat_metrics("test", results.table[row]) for row in rows}
    summary = {"metrics": per_row[next(iter(rows))], "checkpoint": None, "predictions": rows}
    if len(rows) > 1:
        summary["rows"] = per_row
    return summary


def prediction_rows(predictions, method_name: str | None = None) -> dict[str, str]:
    """``predictions=`` as ``{row: folder}``: one folder (row ``method_name``, else the folder's name), a list
    (rows named by folder) or a mapping ``{row: folder}``."""
    if isinstance(predictions, (DictConfig, dict)):
        rows = {str(row): str(folder) for row, folder in predictions.items()}
    elif isinstance(predictions, (ListConfig, list, tuple)):
        rows = {}
        for folder in map(str, predictions):
            name = pathlib.Path(folder).name
            if name in rows:
                raise ValueError(f"predictions: two folders named {name!r} ({rows[name]}, {folder}); name the rows: "
                                 f"predictions={{a: {rows[name]}, b: {folder}}}")
            rows[name] = folder
    else:
        return {method_name or pathlib.Path(str(predictions)).name: str(predictions)}
    if method_name:
        raise ValueError("method_name names the row of one predictions folder; with several, name each row: "
                         "predictions={name: <dir>, ...}")
    if not rows:
        raise ValueError("predictions: an empty list; give one folder or several")
    return rows


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
def main(cfg: DictConfig) -> None:
    exit_if_missing(cfg, "inpaint-eval")
    with one_line_errors("inpaint-eval"):
        evaluate(cfg)


if __name__ == "__main__":
    main()
