"""``RunFolder`` reads a run folder as data: its model (allow-listed targets only), protocol, resume check,
status and results."""
from __future__ import annotations

import json

import pytest
import yaml
from omegaconf import OmegaConf

from inpainting.utils.run_folder import RunFolder
from inpainting.utils.runs import UntrustedConfigError

MODEL = {"_target_": "inpainting.models.filter_module.FilterInpaintingModule", "method_name": "Img-Filter",
         "optimizer": {"lr": 2e-4}, "net": {"width": 1.0}}


def run_folder(tmp_path, **config) -> RunFolder:
    folder = tmp_path / "run"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config_resolved.yaml").write_text(yaml.safe_dump(config))
    return RunFolder.of(folder / "checkpoints" / "best.ckpt")


def test_model_protocol_and_missing_files(tmp_path):
    run = run_folder(tmp_path, model=MODEL, metrics={"protocol": "jpgnet"})
    assert run.model_config().method_name == "Img-Filter" and run.protocol == "jpgnet"
    assert run.status() is None and run.results() is None
    assert run_folder(tmp_path / "b", model=MODEL).protocol == "misf"  # a run without the key: the default
    assert run_folder(tmp_path / "c", data={}).model_config() is None


def test_a_foreign_target_or_resolver_is_refused_naming_the_file(tmp_path):
    run = run_folder(tmp_path, model={"_target_": "os.system", "command": "true"})
    with pytest.raises(UntrustedConfigError, match="config_resolved.yaml: model._target_=os.system"):
        run.model_config()
    run = run_folder(tmp_path / "b", model=dict(MODEL, method_name="${oc.env:HOME}"))
    with pytest.raises(UntrustedConfigError, match="model.method_name"):
        run.config


def test_resume_refuses_another_model_but_not_another_schedule(tmp_path):
    run = run_folder(tmp_path, model=MODEL)
    run.check_resume(OmegaConf.create(dict(MODEL, optimizer={"lr": 1e-4})), "x.ckpt")
    with pytest.raises(ValueError, match=r"model.net.width: 1.0 -> 0.5"):
        run.check_resume(OmegaConf.create(dict(MODEL, net={"width": 0.5})), "x.ckpt")


def test_status_and_results_are_read_and_a_torn_file_is_named(tmp_path):
    run = run_folder(tmp_path, model=MODEL)
    (run.root / "status.json").write_text(json.dumps({"status": "ok"}))
    assert run.status() == {"status": "ok"}
    (run.root / "results.json").write_text('{"methods": ')
    with pytest.raises(ValueError, match="results.json is not valid JSON"):
        run.results()
