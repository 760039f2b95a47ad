"""Evaluate a checkpoint on a data config's fixed test pairs: ``inpaint-eval ckpt_path=<run dir or .ckpt>``.

When ``ckpt_path`` is a run folder (or a checkpoint inside one), the model is rebuilt from that
run's ``config_resolved.yaml``, so the command needs nothing else; ``data=...`` picks the test set.
Writes ``tables/test_metrics.{md,csv}``, ``tables/test_per_image.csv``, ``images/test.png`` and
``metrics.json`` into this evaluation's run folder.
"""
from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig, open_dict

from inpainting.cli.common import CONFIG_DIR, build_run, finish_loggers, prepare_run, write_test_outputs
from inpainting.cli.options import evaluation_data_config, exit_if_missing
from inpainting.utils.instantiate import run_model_config
from inpainting.utils.runs import resolve_checkpoint, training_run_config, write_json

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict:
    ckpt = resolve_checkpoint(cfg.ckpt_path, cfg.paths.output_dir, prefer_best=True)
    trained = run_model_config(ckpt)  # allow-listed targets only: the folder may come from anyone
    if trained is not None:
        log.info("model and data configs taken from the training run of %s (data=<name> picks another test set)", ckpt)
        with open_dict(cfg):
            cfg.model = trained
            cfg.data = evaluation_data_config(cfg, ckpt, _task_overrides())
    if cfg.get("metrics") is not None and cfg.metrics.get("protocol") is None:
        run_cfg = training_run_config(ckpt) or {}  # read only: nothing of it is instantiated
        with open_dict(cfg):  # the paper protocol the run was trained for (jpgnet rows set it)
            cfg.metrics.protocol = (run_cfg.get("metrics") or {}).get("protocol") or "misf"
    output_dir = prepare_run(cfg)
    run = build_run(cfg)
    try:
        run.trainer.test(run.model, datamodule=run.datamodule, ckpt_path=ckpt, weights_only=True)
        metrics = {k: float(v) for k, v in run.trainer.callback_metrics.items()}
        write_test_outputs(run.model, output_dir, cfg)
        summary = {"metrics": metrics, "checkpoint": ckpt}
        write_json(summary, output_dir / "metrics.json")
        return summary
    finally:
        finish_loggers(run.loggers)


def _task_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
def main(cfg: DictConfig) -> None:
    exit_if_missing(cfg, "inpaint-eval")
    evaluate(cfg)


if __name__ == "__main__":
    main()
