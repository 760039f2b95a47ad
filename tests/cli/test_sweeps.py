"""Multirun as the README shows it: a plain `-m` sweep, launched through the
console entry point in-process, with no hydra.sweep.dir or paths override (the defaults are the test)."""
import csv
import json
import pathlib
import sys

import pytest
import yaml
from hydra.core.global_hydra import GlobalHydra

from inpainting.cli import train as train_cli
from tests.cli.helpers import TINY, TINY_FILTER


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
    run_train_cli(["-m", "experiment=demo", "debug=fdr", "seed=1,2", *TINY, *TINY_FILTER], tmp_path, monkeypatch)
    jobs = sweep_dir(tmp_path)
    for job in ("0", "1"):
        assert json.loads((jobs / job / "status.json").read_text())["status"] == "ok"
    seeds = [yaml.safe_load((jobs / j / "config_resolved.yaml").read_text())["seed"] for j in ("0", "1")]
    assert seeds == [1, 2]

