"""Multirun as the README shows it: a plain `-m` sweep and an Optuna search, launched through the
console entry point in-process, with no hydra.sweep.dir or paths override (the defaults are the test)."""
import csv
import json
import pathlib
import sys

import pytest
import yaml
from hydra.core.global_hydra import GlobalHydra

from inpainting.cli import train as train_cli
from tests.cli.helpers import TINY, TINY_DEMO

# as the README shows them (tests/cli/test_readme_commands.py checks that it still does)
SEED_SWEEP_COMMAND = "inpaint-train -m experiment=demo debug=fdr seed=1,2"
OPTUNA_COMMAND = "inpaint-train experiment=demo hparams_search=demo_optuna"


def run_train_cli(argv: list[str], cwd: pathlib.Path, monkeypatch) -> None:
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["inpaint-train", *argv])
    GlobalHydra.instance().clear()
    try:
        train_cli.main()
    finally:
        GlobalHydra.instance().clear()


def sweep_dir(cwd: pathlib.Path) -> pathlib.Path:
    (folder,) = (cwd / "outputs/demo/multiruns").iterdir()
    return folder


def test_plain_seed_sweep_runs_as_documented(tmp_path, monkeypatch):
    run_train_cli([*SEED_SWEEP_COMMAND.split()[1:], *TINY, *TINY_DEMO], tmp_path, monkeypatch)
    jobs = sweep_dir(tmp_path)
    for job in ("0", "1"):
        assert json.loads((jobs / job / "status.json").read_text())["status"] == "ok"
    seeds = [yaml.safe_load((jobs / j / "config_resolved.yaml").read_text())["seed"] for j in ("0", "1")]
    assert seeds == [1, 2]


def test_optuna_search_returns_best_validation_psnr(tmp_path, monkeypatch):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="the `search` extra is not installed")
    run_train_cli([*OPTUNA_COMMAND.split()[1:], "hydra.sweeper.n_trials=2",
                   "hydra.sweeper.sampler.n_startup_trials=2", "trainer.max_epochs=2", "test=false",
                   *TINY, *TINY_DEMO], tmp_path, monkeypatch)
    study = sweep_dir(tmp_path)
    objectives = []
    for job in ("0", "1"):
        summary = json.loads((study / job / "metrics.json").read_text())
        with open(study / job / "csv/metrics.csv") as handle:
            val_psnr = [float(r["val/psnr"]) for r in csv.DictReader(handle) if r.get("val/psnr")]
        assert len(val_psnr) == 2
        # the objective is the best epoch's PSNR (the tested checkpoint), not the last one's
        assert summary["objective"] == pytest.approx(max(val_psnr))
        objectives.append(summary["objective"])
    result = yaml.safe_load((study / "optimization_results.yaml").read_text())
    assert result["best_value"] == pytest.approx(max(objectives))
    assert set(result["best_params"]) == {"model.optimizer.lr", "model.loss.ssim_weight"}
