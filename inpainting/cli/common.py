"""Pieces shared by the train and eval entry points."""
from __future__ import annotations

import dataclasses
import logging
import pathlib
import warnings

import hydra
import lightning as L
from omegaconf import DictConfig, OmegaConf

from inpainting.utils.instantiate import instantiate_mapping
from inpainting.utils.runs import save_resolved_config

log = logging.getLogger(__name__)

CONFIG_DIR = pathlib.Path(__file__).resolve().parents[2] / "conf"


@dataclasses.dataclass
class Run:
    datamodule: L.LightningDataModule
    model: L.LightningModule
    trainer: L.Trainer
    loggers: list


def prepare_run(cfg: DictConfig) -> pathlib.Path:
    """Apply extras, seed everything, save the resolved config; returns the run folder."""
    extras = cfg.get("extras") or {}
    if extras.get("ignore_warnings"):
        for pattern in (".*litlogger.*", ".*LeafSpec.*", ".*pretrained.*", ".*does not have many workers.*"):
            warnings.filterwarnings("ignore", message=pattern)
    if extras.get("print_config"):
        print_config_tree(cfg)
    L.seed_everything(cfg.seed, workers=True)
    output_dir = pathlib.Path(cfg.paths.output_dir)
    save_resolved_config(cfg, output_dir)
    log.info("run folder: %s", output_dir)
    return output_dir


def build_run(cfg: DictConfig) -> Run:
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    callbacks = instantiate_mapping(cfg.get("callbacks"))
    loggers = instantiate_mapping(cfg.get("logger"))
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    for lg in loggers:
        if hasattr(lg, "log_hyperparams"):
            lg.log_hyperparams(_loggable_config(cfg, model))
    return Run(datamodule=datamodule, model=model, trainer=trainer, loggers=loggers)


def _loggable_config(cfg: DictConfig, model: L.LightningModule) -> dict:
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    flat = {k: resolved[k] for k in ("data", "model", "trainer", "seed", "tags", "run_name") if k in resolved}
    flat["params/total"], flat["params/trainable"] = params, trainable
    return flat


def finish_loggers(loggers: list) -> None:
    """Close W&B runs even after an exception, so the next multirun job opens a fresh run."""
    for lg in loggers:
        experiment = getattr(lg, "_experiment", None)
        if experiment is not None and hasattr(experiment, "finish"):
            experiment.finish()


def write_test_outputs(model, output_dir: pathlib.Path, cfg: DictConfig) -> None:
    """Per-bin metric tables (markdown + CSV) and per-image scores under ``<run>/tables``."""
    from inpainting.eval.tables import write_per_image_csv, write_tables

    tables = pathlib.Path(output_dir) / "tables"
    title = f"{cfg.get('run_name', 'run')}: test metrics on the composited output"
    results = {method: {k: float(v) for k, v in values.items()} for method, values in model.test_results.items()}
    md, _ = write_tables(results, tables / "test_metrics", bins=model.bin_names, title=title)
    write_per_image_csv(model.test_rows, tables / "test_per_image.csv")
    print(md.read_text())


def print_config_tree(cfg: DictConfig) -> None:
    from rich import print as rprint
    from rich.tree import Tree

    tree = Tree("config", guide_style="dim")
    order = ["data", "model", "callbacks", "logger", "trainer", "paths"]
    for key in order + [k for k in cfg if k not in order]:
        if key not in cfg:
            continue
        value = cfg[key]
        text = OmegaConf.to_yaml(value, resolve=False) if isinstance(value, DictConfig) else str(value)
        tree.add(f"[bold]{key}[/bold]").add(text.rstrip())
    rprint(tree)
