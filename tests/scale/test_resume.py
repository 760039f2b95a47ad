"""Resume: same folder, same losses and weights as an uninterrupted run; atomic, checked checkpoints."""
import csv
import pathlib

import pytest
import torch

from inpainting.cli.common import _pin_wandb_id
from inpainting.cli.train import resume_run_dir_override, train
from inpainting.utils.checkpoint_io import AtomicCheckpointIO
from inpainting.utils.runs import latest_run_folder, resolve_checkpoint
from tests.cli.helpers import compose_config
from tests.scale.helpers import TINY_RUN, run_cli, single_folder

RESUME = [*TINY_RUN, "test=false", "trainer.deterministic=true"]


def _losses(run_dir: pathlib.Path) -> list[tuple[str, str]]:
    with open(run_dir / "csv" / "metrics.csv") as handle:
        return [(r["step"], r["train/loss_step"]) for r in csv.DictReader(handle) if r.get("train/loss_step")]


def _weights(run_dir: pathlib.Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]


def test_interrupted_and_resumed_equals_straight_run(tmp_path):
    straight = tmp_path / "straight"
    train(compose_config("train", [*RESUME, "trainer.max_epochs=2", "trainer.log_every_n_steps=1"], straight))

    logs = tmp_path / "logs"
    first = run_cli([*RESUME, "trainer.max_epochs=1", "trainer.log_every_n_steps=1", f"paths.log_dir={logs}"])
    assert first.returncode == 0, first.stderr[-3000:]
    resumed = run_cli([*RESUME, "trainer.max_epochs=2", "trainer.log_every_n_steps=1", f"paths.log_dir={logs}",
                       "ckpt_path=last"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run_dir = single_folder(logs)  # resumed in the same folder
    assert "resuming from" in (run_dir / "train.log").read_text()
    # the run's record is kept; the resume's own config and overrides are stored beside it
    assert "max_epochs: 1" in (run_dir / "config_resolved.yaml").read_text()
    assert "ckpt_path=last" not in (run_dir / ".hydra" / "overrides.yaml").read_text()
    assert "max_epochs: 2" in (run_dir / "resumes" / "1" / "config_resolved.yaml").read_text()
    assert "ckpt_path=last" in (run_dir / "resumes" / "1" / "overrides.yaml").read_text()

    assert _losses(run_dir) == _losses(straight) and len(_losses(straight)) == 4
    a, b = _weights(straight), _weights(run_dir)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6, msg=key)


def test_resume_run_dir_override(tmp_path):
    run = tmp_path / "runs" / "2024-01-01_00-00-00_000000"
    (run / "checkpoints").mkdir(parents=True)
    assert resume_run_dir_override([f"ckpt_path={run}"]) == f'hydra.run.dir="{run.resolve()}"'
    assert resume_run_dir_override([f"ckpt_path={run}/checkpoints/last.ckpt"]) == f'hydra.run.dir="{run.resolve()}"'
    assert "inpainting_latest_run" in resume_run_dir_override(["ckpt_path=last"])
    assert resume_run_dir_override(["ckpt_path=last", "hydra.run.dir=x"]) is None
    assert resume_run_dir_override(["-m", "ckpt_path=last"]) is None
    assert resume_run_dir_override(["ckpt_path=auto"]) is None
    assert resume_run_dir_override([f"ckpt_path={tmp_path}/weights.ckpt"]) is None
    with pytest.raises(FileNotFoundError, match="no run under"):
        latest_run_folder(tmp_path / "runs")
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    assert latest_run_folder(tmp_path / "runs") == str(run)


def test_checkpoint_io_keeps_previous_checkpoint_on_crash(tmp_path, monkeypatch):
    # a crash (or kill) while saving leaves the previous last.ckpt intact and no temporary file behind
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": 1}, path)

    def crash(obj, f, *args, **kwargs):
        f.write(b"partial") if hasattr(f, "write") else pathlib.Path(f).write_bytes(b"partial")
        raise KeyboardInterrupt("killed while saving")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_corrupt_checkpoint_error_names_the_file(tmp_path):
    good = tmp_path / "checkpoints" / "last.ckpt"
    good.parent.mkdir()
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, good)
    assert resolve_checkpoint("auto", tmp_path) == str(good)
    good.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"checkpoint .*last\.ckpt is corrupt or truncated"):
        resolve_checkpoint("last", tmp_path)
    assert resolve_checkpoint("auto", tmp_path / "fresh") is None


def test_wandb_id_is_stored_and_reused(tmp_path):
    cfg = compose_config("train", ["logger=wandb"], tmp_path / "run")
    _pin_wandb_id(cfg)
    first = cfg.logger.wandb.id
    assert (tmp_path / "run" / "wandb_id.txt").read_text().strip() == first and cfg.logger.wandb.resume == "allow"
    again = compose_config("train", ["logger=wandb"], tmp_path / "run")
    _pin_wandb_id(again)
    assert again.logger.wandb.id == first
