"""Pieces shared by the train and eval entry points."""
from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import warnings

import hydra
import lightning as L
from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf, open_dict

from inpainting.utils.atomic import remove_stale_temporaries
from inpainting.utils.checkpoint_io import AtomicCheckpointIO
from inpainting.utils.instantiate import instantiate_mapping
from inpainting.utils.resources import CONFIG_DIR  # noqa: F401 - the entry points read it from here
from inpainting.utils.runs import latest_run_folder, save_resolved_config, wandb_run_id

log = logging.getLogger(__name__)

# `${inpainting_latest_run:<runs folder>}`: newest run folder with a last.ckpt (used by ckpt_path=last)
OmegaConf.register_new_resolver("inpainting_latest_run", latest_run_folder, replace=True)


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
    _library_logs_to_the_run_log()
    L.seed_everything(cfg.seed, workers=True)
    output_dir = pathlib.Path(cfg.paths.output_dir)
    if rank_zero_only.rank == 0:  # DDP ranks share the folder
        for folder in (output_dir, output_dir / "checkpoints"):  # left by a run killed while writing
            for path in remove_stale_temporaries(folder):
                log.warning("removed %s, left by a write that was killed", path)
        save_resolved_config(cfg, output_dir)
    # the process rank is known from the environment here (LOCAL_RANK/RANK/SLURM_PROCID)
    log.info("run folder: %s (process rank %d, pid %d)", output_dir, rank_zero_only.rank, os.getpid())
    return output_dir


def _library_logs_to_the_run_log() -> None:
    """Lightning, imported before Hydra set up logging, gave its loggers a console handler of their own and
    stopped them propagating: its lines (checkpoints, early stops, the device summary) missed ``<task>.log``.
    Hand them to the root handlers Hydra configured (console and the run's log file)."""
    if not logging.getLogger().handlers:
        return  # no Hydra logging set up (e.g. called from Python): leave Lightning's own console handler
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        library = logging.getLogger(name)
        for handler in list(library.handlers):
            library.removeHandler(handler)
        library.propagate = True


def build_run(cfg: DictConfig) -> Run:
    """Instantiate data, model, callbacks, loggers and the trainer.

    Checkpoints are written by ``AtomicCheckpointIO`` unless the trainer config names a checkpoint IO."""
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    callbacks = instantiate_mapping(cfg.get("callbacks"))
    _pin_wandb_id(cfg)
    loggers = instantiate_mapping(cfg.get("logger"))
    plugins = list(hydra.utils.instantiate(cfg.trainer.get("plugins")) or [])
    if not any(isinstance(p, CheckpointIO) for p in plugins):
        plugins.append(AtomicCheckpointIO())  # temp file beside the checkpoint, then rename
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=plugins)
    for lg in loggers:
        if hasattr(lg, "log_hyperparams"):
            lg.log_hyperparams(_loggable_config(cfg, model))
    return Run(datamodule=datamodule, model=model, trainer=trainer, loggers=loggers)


def _pin_wandb_id(cfg: DictConfig) -> None:
    """Give the W&B logger the run id stored in the run folder, so a resumed run continues it."""
    wandb_cfg = (cfg.get("logger") or {}).get("wandb")
    if wandb_cfg is None or wandb_cfg.get("id") or rank_zero_only.rank != 0:
        return  # explicit id, or a non-zero rank (whose logger never opens a W&B run)
    with open_dict(wandb_cfg):
        wandb_cfg.id = wandb_run_id(cfg.paths.output_dir)
        wandb_cfg.resume = "allow"


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


def find_test_report(trainer: L.Trainer):
    """The trainer's :class:`~inpainting.callbacks.report.TestReport` callback, or None (e.g. ``callbacks=none``)."""
    from inpainting.callbacks.report import TestReport

    return next((c for c in trainer.callbacks if isinstance(c, TestReport)), None)


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
