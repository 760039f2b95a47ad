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
    summary = (jobs / "summary.md").read_text().splitlines()
    assert summary[0] == "2 job(s): 2 ok, 0 not ok. Objective: val/psnr"
    assert summary[5].startswith("| 0 | ok | ") and summary[5].endswith(" | seed=1 |") and summary[6].endswith(" | seed=2 |")


def test_optuna_search_returns_best_validation_psnr(tmp_path, monkeypatch):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="the `search` extra is not installed")
    run_train_cli([*OPTUNA_COMMAND.split()[1:], "hydra.sweeper.n_trials=2",
                   "hydra.sweeper.sampler.n_startup_trials=2", "trainer.max_epochs=2", "test=false",
                   *TINY, *TINY_DEMO], tmp_path, monkeypatch)
    study = sweep_dir(tmp_path)
    objectives = []
    for job in ("0", "1"):
        summary = json.loads((study / job / "status.json").read_text())  # test=false: no results.json
        with open(study / job / "csv/metrics.csv") as handle:
            val_psnr = [float(r["val/psnr"]) for r in csv.DictReader(handle) if r.get("val/psnr")]
        assert len(val_psnr) == 2
        # the objective is the best epoch's PSNR (the tested checkpoint), not the last one's
        assert summary["objective"] == pytest.approx(max(val_psnr))
        objectives.append(summary["objective"])
    result = yaml.safe_load((study / "optimization_results.yaml").read_text())
    assert result["best_value"] == pytest.approx(max(objectives))
    assert set(result["best_params"]) == {"model.optimizer.lr", "model.loss.ssim_weight"}
    summary = (study / "summary.md").read_text()
    assert "2 job(s): 2 ok, 0 not ok. Objective: val/psnr (maximize)" in summary
    best = max(range(2), key=lambda j: objectives[j])
    assert f"Best: job {best}, val/psnr = {objectives[best]:.4f} (model.optimizer.lr=" in summary


def test_a_failed_job_is_in_the_summary(tmp_path):
    from inpainting.cli.sweep_summary import job_rows, summary_markdown
    from inpainting.utils.runs import write_status

    for job, error in (("0", None), ("1", ValueError("bad lr")), ("10", None)):
        (tmp_path / job / ".hydra").mkdir(parents=True)
        (tmp_path / job / ".hydra/overrides.yaml").write_text(f"- seed={job}\n- experiment=demo\n")
        write_status(tmp_path / job, error, **({} if error else {"objective": float(job)}))
    (tmp_path / "2").mkdir()  # a job that never wrote its status
    text = summary_markdown(job_rows(tmp_path), "val/psnr", "minimize").splitlines()
    assert text[0] == "4 job(s): 2 ok, 2 not ok. Objective: val/psnr (minimize)" and text[1] == "Every job: (no common override)"
    assert text[5:] == ["| 0 | ok | 0.0000 | seed=0 experiment=demo |", "| 1 | failed: ValueError: bad lr |  | seed=1 experiment=demo |",
                        "| 2 | no status.json (did not start, or was killed) |  |  |", "| 10 | ok | 10.0000 | seed=10 experiment=demo |",
                        "", "Best: job 0, val/psnr = 0.0000 (seed=0 experiment=demo)"]


def test_the_optuna_sweeper_logs_no_alembic_plugin_lines():
    # alembic (imported by Optuna) logs one INFO line per migration plugin: Hydra's logging config quiets it
    from inpainting.utils.resources import compose

    cfg = compose("train", ["experiment=demo", "hparams_search=demo_optuna"])
    assert cfg.hydra.hydra_logging.loggers.alembic.level == "WARNING"
    assert cfg.hydra.callbacks.sweep_summary._target_ == "inpainting.cli.sweep_summary.SweepSummary"
