"""Train (and then test) a model: ``inpaint-train experiment=<name> [overrides]``.

Everything a run produces lands in its Hydra run folder (``paths.output_dir``):
``config_resolved.yaml``, ``checkpoints/`` (``last.ckpt``, ``best_*.ckpt``), ``csv/metrics.csv``,
``metrics.json``, ``tables/`` (per-bin metrics as markdown and CSV, per-image scores), ``images/``.
"""
from __future__ import annotations

import logging
import pathlib

import hydra
from omegaconf import DictConfig

from inpainting.cli.common import (
    CONFIG_DIR,
    build_run,
    finish_loggers,
    prepare_run,
    write_test_outputs,
)
from inpainting.utils.runs import resolve_checkpoint, write_json

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict:
    """Fit, then test, as configured; returns the metrics written to ``metrics.json``."""
    output_dir = prepare_run(cfg)
    run = build_run(cfg)
    try:
        if cfg.get("init_from"):
            run.model.load_weights(cfg.init_from)
        if cfg.get("train", True):
            ckpt = resolve_checkpoint(cfg.get("ckpt_path"), output_dir)
            if ckpt:
                log.info("resuming from %s", ckpt)
            run.trainer.fit(run.model, datamodule=run.datamodule, ckpt_path=ckpt)
        metrics = {k: float(v) for k, v in run.trainer.callback_metrics.items()}
        if cfg.get("test", True) and not run.trainer.fast_dev_run:
            best = getattr(run.trainer.checkpoint_callback, "best_model_path", "") or None
            if best is None:
                log.warning("no best checkpoint recorded: testing the current weights")
            run.trainer.test(run.model, datamodule=run.datamodule, ckpt_path=best)
            metrics.update({k: float(v) for k, v in run.trainer.callback_metrics.items()})
            write_test_outputs(run.model, output_dir, cfg)
        objective = metrics.get(cfg.get("optimized_metric", ""))
        summary = {"metrics": metrics, "objective": objective, "global_step": run.trainer.global_step}
        write_json(summary, pathlib.Path(output_dir) / "metrics.json")
        return summary
    finally:
        finish_loggers(run.loggers)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    return train(cfg)["objective"]


if __name__ == "__main__":
    main()
