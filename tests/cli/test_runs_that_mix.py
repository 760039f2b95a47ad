"""Runs that would silently do nothing or mix with another: a too small training set, a used run or
sweep folder, a moved run folder's best-checkpoint tracking."""
from __future__ import annotations

import json
import pathlib
import shutil

import pytest
import torch

from inpainting.callbacks.checkpoint import RunFolderCheckpoint
from inpainting.cli.train import train
from tests.cli.helpers import TINY, TINY_DEMO, compose_config
from tests.scale.helpers import run_cli

DEMO = ["experiment=demo", *TINY, *TINY_DEMO, "test=false"]


def test_a_training_set_smaller_than_one_batch_is_an_error(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=r"the training set gives no batch: 4 sample\(s\) per epoch, batch size 8"):
        train(compose_config("train", [*DEMO, "data.samples_per_epoch=4"], out))
    assert json.loads((out / "status.json").read_text())["status"] == "failed"


def test_a_new_run_in_a_used_run_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    train(compose_config("train", [*DEMO, "trainer.max_epochs=1"], out))
    record = {name: (out / name).read_bytes() for name in ("config_resolved.yaml", "status.json")}
    with pytest.raises(FileExistsError, match=rf"{out} already holds a run \(config_resolved.yaml, checkpoints\)"):
        train(compose_config("train", [*DEMO, "trainer.max_epochs=1", "seed=7"], out))
    assert {name: (out / name).read_bytes() for name in record} == record, "the first run's record is untouched"


@pytest.mark.slow  # two sweeps of subprocesses
def test_a_second_sweep_in_the_same_sweep_dir_is_refused(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=device_pool", "hydra.launcher.devices=[0]", "hydra.launcher.poll_s=0.05", "sleep=0",
            "x=1,2", f"hydra.sweep.dir={sweep}"]
    first = run_cli([*args, "fail=false"], script=["tests/scale/pool_app.py"], timeout=120)
    assert first.returncode == 0, first.stderr[-3000:]
    seen = (sweep / "0" / "seen.json").read_text()
    second = run_cli([*args, "fail=true"], script=["tests/scale/pool_app.py"], timeout=120)
    assert second.returncode != 0 and "already holds job folders of another sweep" in second.stderr
    assert (sweep / "0" / "seen.json").read_text() == seen, "the first sweep's jobs are untouched"


def test_a_moved_run_folder_keeps_its_best_checkpoint_tracking(tmp_path):
    callback = RunFolderCheckpoint(dirpath=str(tmp_path / "new" / "checkpoints"), monitor="val/psnr", mode="max")
    old = str(tmp_path / "old" / "checkpoints")
    callback.load_state_dict({
        "dirpath": old, "monitor": "val/psnr", "best_model_score": torch.tensor(30.0),
        "best_model_path": f"{old}/best_step0000002.ckpt", "kth_best_model_path": f"{old}/best_step0000002.ckpt",
        "kth_value": torch.tensor(30.0), "best_k_models": {f"{old}/best_step0000002.ckpt": torch.tensor(30.0)},
        "last_model_path": "",
    })
    new = str(tmp_path / "new" / "checkpoints")
    assert float(callback.best_model_score) == 30.0, "the best score survives the move"
    assert callback.best_model_path == f"{new}/best_step0000002.ckpt"
    assert list(callback.best_k_models) == [f"{new}/best_step0000002.ckpt"]


@pytest.mark.slow  # two trainings; the test above covers the rule
def test_resuming_a_copied_run_folder_tracks_its_own_best_checkpoint(tmp_path):
    first = tmp_path / "first"
    train(compose_config("train", [*DEMO, "trainer.max_epochs=1"], first))
    copy = tmp_path / "copy"
    shutil.copytree(first, copy)
    train(compose_config("train", [*DEMO, "trainer.max_epochs=2", f"ckpt_path={copy}"], copy))
    state = torch.load(copy / "checkpoints" / "last.ckpt", weights_only=True)["callbacks"]
    [best] = [v for k, v in state.items() if "val/" in k]
    assert best["dirpath"] == str((copy / "checkpoints").resolve())
    assert all(path.startswith(best["dirpath"]) for path in best["best_k_models"]), best["best_k_models"]
    kept = sorted(p.name for p in (copy / "checkpoints").glob("best*.ckpt"))
    assert [pathlib.Path(p).name for p in best["best_k_models"]] == kept, "save_top_k=1: one best file, the tracked one"
