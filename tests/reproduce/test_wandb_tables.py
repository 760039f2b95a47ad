"""The per-bin test table goes to every WandbLogger (rank 0 only); nothing happens without one."""
from __future__ import annotations

from types import SimpleNamespace

from lightning.pytorch.loggers import CSVLogger, WandbLogger

from inpainting.models.wandb_tables import WandbTestTable, per_bin_table

RESULTS = {
    "Input": {"psnr/0-20%": 20.0, "psnr/overall": 15.0, "count/0-20%": 2, "count/overall": 4},
    "MISF": {"psnr/0-20%": 30.0, "ssim/0-20%": 0.9, "psnr/overall": 25.0, "ssim/overall": 0.8, "count/0-20%": 2, "count/overall": 4},
}


class RecordingWandb(WandbLogger):
    """A WandbLogger that records tables instead of starting a W&B run."""

    def __init__(self):
        self.tables = []

    def log_table(self, key, columns=None, data=None, dataframe=None, step=None):
        self.tables.append((key, columns, data))


def test_rows_per_method_and_bin():
    columns, rows = per_bin_table(RESULTS, ["0-20%", "20-40%"])
    assert columns == ["method", "bin", "psnr", "ssim", "count"]
    assert ["MISF", "0-20%", 30.0, 0.9, 2.0] in rows and ["Input", "overall", 15.0, None, 4.0] in rows
    assert not any(r[1] == "20-40%" for r in rows)  # an empty bin gives no row


def test_callback_logs_through_wandb_loggers_only(tmp_path):
    wandb = RecordingWandb()
    trainer = SimpleNamespace(loggers=[CSVLogger(tmp_path), wandb], global_rank=0)
    module = SimpleNamespace(test_results=RESULTS, bin_names=["0-20%"])
    WandbTestTable().on_test_end(trainer, module)
    (key, columns, data), = wandb.tables
    assert key == "test/metrics_per_bin" and len(data) == 4
    WandbTestTable().on_test_end(SimpleNamespace(loggers=[wandb], global_rank=1), module)
    assert len(wandb.tables) == 1
