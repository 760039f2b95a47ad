"""Measured training throughput: seconds per batch of a composed training config, for time estimates."""
from __future__ import annotations

import contextlib
import logging
import time
import warnings

import hydra
import lightning as L
from omegaconf import DictConfig


class _BatchClock(L.Callback):
    """Wall time of the batches after the warm-up ones."""

    def __init__(self, warmup: int):
        self.warmup = warmup
        self.start: float | None = None
        self.end: float | None = None
        self.timed = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        now = time.perf_counter()
        if batch_idx + 1 == self.warmup:
            self.start = now
        elif batch_idx + 1 > self.warmup:
            self.end, self.timed = now, self.timed + 1


def measure(cfg: DictConfig, batches: int = 20, warmup: int = 2) -> tuple[float, int | None]:
    """(seconds per training batch over ``batches`` batches after ``warmup`` ones, batches the run plans).

    Trains on ``cfg``'s data and model without validation, checkpoints or loggers, on one device.
    """
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(cfg.model)
    clock = _BatchClock(warmup)
    with _quiet_lightning():
        trainer = L.Trainer(
            accelerator=cfg.trainer.get("accelerator", "auto"), devices=1, precision=cfg.trainer.get("precision", "32-true"),
            max_epochs=1, max_steps=-1, limit_train_batches=warmup + batches, limit_val_batches=0,
            num_sanity_val_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, callbacks=[clock],
        )
        trainer.fit(model, datamodule=datamodule)
    if clock.start is None or clock.timed == 0:
        raise RuntimeError(f"an epoch has fewer than {warmup + 1} batches: nothing to time")
    return (clock.end - clock.start) / clock.timed, planned_batches(cfg, len(datamodule.train_dataloader()))


@contextlib.contextmanager
def _quiet_lightning():
    """No device banners, tips or warnings of the timing run between the lines of an estimate."""
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def planned_batches(cfg: DictConfig, batches_per_epoch: int) -> int | None:
    """Training batches the run will do: the first limit reached of GAN iterations (batches), optimizer
    steps and epochs; None when nothing bounds it."""
    limits = [int(v) for v in (cfg.model.get("max_iterations"), cfg.trainer.get("max_steps")) if v and int(v) > 0]
    epochs = int(cfg.trainer.get("max_epochs") or -1)
    if epochs > 0:
        limits.append(epochs * batches_per_epoch)
    return min(limits) if limits else None


def format_duration(seconds: float) -> str:
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"
