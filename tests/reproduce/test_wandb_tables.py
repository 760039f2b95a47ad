"""The per-bin test table goes to every WandbLogger (rank 0 only); an empty bin gives no row."""
from __future__ import annotations

from types import SimpleNamespace

from lightning.pytorch.loggers import CSVLogger, WandbLogger

from inpainting.callbacks.report import TestReport, per_bin_table
from inpainting.eval.engine import EvalResults

RESULTS = EvalResults(
    bins=["0-20%", "20-40%"], counts={"0-20%": 2, "20-40%": 0, "overall": 2},
    table={"Input": {"psnr/0-20%": 20.0, "psnr/overall": 15.0},
           "MISF": {"psnr/0-20%": 30.0, "ssim/0-20%": 0.9, "psnr/overall": 25.0, "ssim/overall": 0.8}},
    per_image=[{"name": "a", "bin": "0-20%", "hole_ratio": 0.1, "psnr": 30.0}],
)


class RecordingWandb(WandbLogger):
    """A WandbLogger that records tables instead of starting a W&B run."""

    def __init__(self):
        self.tables = []

    def log_table(self, key, columns=None, data=None, dataframe=None, step=None):
        self.tables.append((key, columns, data))


def test_rows_per_method_and_bin():
    columns, rows = per_bin_table(RESULTS)
    assert columns == ["method", "bin", "psnr", "ssim", "count"]
    assert ["MISF", "0-20%", 30.0, 0.9, 2] in rows and ["Input", "overall", 15.0, None, 2] in rows
    assert not any(r[1] == "20-40%" for r in rows)  # an empty bin gives no row


def test_callback_logs_through_wandb_loggers_only(tmp_path):
    wandb = RecordingWandb()
    report = TestReport(str(tmp_path), [0.0, 0.2, 0.4], method_name="MISF")
    report.scorer = SimpleNamespace(compute=lambda: RESULTS, reset=lambda: None)
    module = SimpleNamespace(log_dict=lambda *a, **k: None)
    trainer = SimpleNamespace(loggers=[CSVLogger(tmp_path), wandb], is_global_zero=True, ckpt_path=None, test_dataloaders=[])
    report.on_test_epoch_end(trainer, module)
    (key, columns, data), = wandb.tables
    assert key == "test/metrics_per_bin" and len(data) == 4
    assert (tmp_path / "results.json").is_file()
    report.on_test_epoch_end(SimpleNamespace(loggers=[wandb], is_global_zero=False, ckpt_path=None), module)
    assert len(wandb.tables) == 1
