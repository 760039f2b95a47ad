"""Lightning's TQDM progress bar, showing the latest validation values, and one log line per validation."""
from __future__ import annotations

import logging

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar

log = logging.getLogger(__name__)


class ValueProgressBar(TQDMProgressBar):
    """Lightning's TQDM bar plus the latest values of ``show`` (e.g. val/psnr) once they exist."""

    def __init__(self, show: list[str] | tuple[str, ...] = ("val/psnr",), **kwargs):
        super().__init__(**kwargs)
        self.show = list(show)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        # one line per validation in the run's log: the bar's values vanish with the terminal
        overall = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/") and "_" not in k}
        if overall:
            log.info("validation at epoch %d, step %d: %s", trainer.current_epoch, trainer.global_step,
                     ", ".join(f"{k}={v:.4f}" for k, v in sorted(overall.items())))

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict:
        items = super().get_metrics(trainer, pl_module)
        for name in self.show:
            value = trainer.callback_metrics.get(name)
            if value is not None:
                items[name] = f"{float(value):.3f}"
        return items
