"""Shared run folders and checkpoints cannot run code: allow-listed config targets, weights-only loads."""
from __future__ import annotations

import json
import os
import pathlib

import pytest
import torch
from omegaconf import OmegaConf

from inpainting.cli.evaluate import evaluate
from inpainting.cli.predict import predict
from inpainting.cli.train import train
from inpainting.utils.instantiate import UntrustedConfigError, check_run_config_targets
from tests.cli.helpers import TINY, TINY_DEMO, compose_config
from tests.reproduce.test_predict import _cfg, _write_pair


class _Payload:
    """Unpickling calls ``os.mkdir(marker)``: the stand-in for an attacker's code."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def _malicious_pickle(path: pathlib.Path, marker: pathlib.Path, wrapped: bool = False) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {}, "payload": _Payload(marker)} if wrapped else _Payload(marker), path)
    return path


def _crafted_run_folder(root: pathlib.Path, marker: pathlib.Path, model: dict) -> pathlib.Path:
    """A run folder whose config_resolved.yaml builds ``model``, with a harmless last.ckpt."""
    (root / "checkpoints").mkdir(parents=True)
    torch.save({"state_dict": {}}, root / "checkpoints" / "last.ckpt")
    _malicious_pickle(root / "payload.pt", marker)
    OmegaConf.save(OmegaConf.create({"model": model}), root / "config_resolved.yaml")
    return root


TORCH_LOAD = {"_target_": "torch.load", "f": "PAYLOAD", "weights_only": False}


@pytest.mark.parametrize("where,model", [
    ("model._target_", TORCH_LOAD),
    # an allowed package's module attribute that is torch.load itself: the object is checked, not the prefix
    ("model.net._target_", {"_target_": "inpainting.models.filter_module.FilterInpaintingModule",
                            "net": {**TORCH_LOAD, "_target_": "inpainting.nets.adapter.torch.load"}}),
    ("model.optimizer._target_", {"_target_": "inpainting.models.filter_module.FilterInpaintingModule",
                                  "optimizer": {"_target_": "builtins.exec", "_partial_": True}}),
], ids=["torch.load", "through-an-allowed-module", "builtin"])
def test_run_folder_config_cannot_instantiate_arbitrary_callables(tmp_path, where, model):
    marker = tmp_path / "pwned"
    run = tmp_path / "shared_run"
    model = OmegaConf.to_container(OmegaConf.create(model))
    for node in (model, model.get("net") or {}):
        if node.get("f") == "PAYLOAD":
            node["f"] = str(run / "payload.pt")
    _crafted_run_folder(run, marker, model)
    image, mask = _write_pair(tmp_path / "in", "x", 32, 32)
    with pytest.raises(UntrustedConfigError, match=rf"{run}/config_resolved.yaml: {where}=\S+ is not allowed"):
        predict(_cfg(image, mask, tmp_path / "out", run))
    with pytest.raises(UntrustedConfigError, match=rf"{where}=\S+ is not allowed"):
        evaluate(compose_config("eval", [*TINY, f"ckpt_path={run}"], tmp_path / "eval"))
    assert not marker.exists(), "the payload ran"
    assert not (tmp_path / "eval" / "config_resolved.yaml").exists(), "nothing was written before the check"


def test_allowed_targets_of_our_configs_pass():
    cfg = compose_config("train", ["experiment=jpgnet_uafnet"], pathlib.Path("unused"))
    check_run_config_targets(cfg.model, "model", "config_resolved.yaml")  # no error
    with pytest.raises(UntrustedConfigError, match=r"x\.y\.1\._target_=os\.system is not allowed"):
        check_run_config_targets(OmegaConf.create({"y": [{}, {"_target_": "os.system"}]}), "x", "f.yaml")


def test_checkpoints_load_weights_only_even_when_torch_is_told_otherwise(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "pwned"
    bad = _malicious_pickle(tmp_path / "shared" / "model.ckpt", marker, wrapped=True)
    with pytest.raises(FileNotFoundError, match="the model it holds is unknown"):  # nothing is loaded
        evaluate(compose_config("eval", [*TINY, f"ckpt_path={bad}"], tmp_path / "eval"))
    monkeypatch.setattr("inpainting.cli.evaluate._task_overrides", lambda: ["experiment=demo"])  # as typed
    with pytest.raises(Exception, match="Weights only load failed"):
        evaluate(compose_config("eval", ["experiment=demo", *TINY, *TINY_DEMO, f"ckpt_path={bad}"], tmp_path / "eval2"))
    assert not marker.exists(), "inpaint-eval ran the payload"
    with pytest.raises(Exception, match="Weights only load failed"):
        train(compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, f"ckpt_path={bad}"], tmp_path / "train"))
    assert not marker.exists(), "inpaint-train (resume) ran the payload"
    with pytest.raises(Exception, match="Weights only load failed"):
        train(compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, f"init_from={bad}"], tmp_path / "warm"))
    assert not marker.exists(), "inpaint-train init_from ran the payload"


# -- resolvers and interpolations: a run folder's config is data -------------------------------------
FILTER_MODULE = "inpainting.models.filter_module.FilterInpaintingModule"
LOAD_PAYLOAD = "{_target_: torch.load, f: PAYLOAD, weights_only: false}"
# each would run the payload (or copy a secret) if the config were resolved as Hydra resolves it
RESOLVER_PAYLOADS = {
    "oc.create": {"net": "${oc.create:" + LOAD_PAYLOAD + "}"},
    "oc.decode": {"net": "${oc.decode:'" + LOAD_PAYLOAD + "'}"},
    "oc.env": {"method_name": "${oc.env:FAULTS_TEST_SECRET}"},
    "oc.select": {"net": "${oc.select:missing_key," + LOAD_PAYLOAD + "}"},
    "custom": {"method_name": "${faults_test_marker:}"},
    "hydra": {"method_name": "${hydra:runtime.cwd}"},
    "nested": {"method_name": "${${name_of_key}}"},
    "escaped": {"method_name": "\\${oc.env:FAULTS_TEST_SECRET}"},
    "in-key": {"${oc.env:FAULTS_TEST_SECRET}": 1},
    "in-target": {"_target_": "${oc.create:torch.load}"},
}


@pytest.fixture
def marker_resolver(tmp_path, monkeypatch):
    """A custom resolver that makes the marker, and a secret in the environment."""
    marker = tmp_path / "pwned"
    OmegaConf.register_new_resolver("faults_test_marker", lambda: os.mkdir(marker) or "x", replace=True)
    monkeypatch.setenv("FAULTS_TEST_SECRET", "s3cret")
    yield marker
    OmegaConf.clear_resolver("faults_test_marker")


def _resolver_run_folder(tmp_path: pathlib.Path, marker: pathlib.Path, payload: dict, section: str = "model") -> pathlib.Path:
    run = tmp_path / "shared_run"
    payload = {k: v.replace("PAYLOAD", str(run / "payload.pt")) if isinstance(v, str) else v for k, v in payload.items()}
    _crafted_run_folder(run, marker, {"_target_": FILTER_MODULE, "name_of_key": "name", **payload})
    return run


def _entry_points(run: pathlib.Path, tmp_path: pathlib.Path):
    """Every way a run folder's model is loaded (the web demo loads through load_model)."""
    from inpainting import load_model
    from inpainting.cli.export import export_model
    from inpainting.models.base import InpaintingModule

    image, mask = _write_pair(tmp_path / "in", "x", 32, 32)
    yield "inpaint-predict", lambda: predict(_cfg(image, mask, tmp_path / "out", run))
    yield "inpaint-eval", lambda: evaluate(compose_config("eval", [*TINY, f"ckpt_path={run}"], tmp_path / "eval"))
    yield "inpaint-export", lambda: export_model(str(run), tmp_path / "export")
    yield "load_model", lambda: load_model(run)
    yield "load_from_checkpoint", lambda: InpaintingModule.load_from_checkpoint(run / "checkpoints" / "last.ckpt")
    yield "inpaint-train resume", lambda: train(compose_config(
        "train", ["experiment=demo", *TINY, *TINY_DEMO, f"ckpt_path={run}/checkpoints/last.ckpt"], tmp_path / "resume"))


@pytest.mark.parametrize("form", list(RESOLVER_PAYLOADS))
def test_run_folder_config_resolves_no_resolver_at_any_entry_point(tmp_path, marker_resolver, form):
    run = _resolver_run_folder(tmp_path, marker_resolver, RESOLVER_PAYLOADS[form])
    for name, call in _entry_points(run, tmp_path):
        with pytest.raises(UntrustedConfigError, match=rf"{run}/config_resolved.yaml: .*(interpolation|resolvers)"):
            call()
        assert not marker_resolver.exists(), f"{name} ran the payload ({form})"
    assert not list(tmp_path.rglob("tables")), "nothing was evaluated"


def test_key_references_are_resolved_before_the_allow_list_check(tmp_path, marker_resolver):
    """A `_target_` that references another key is checked as the value it resolves to."""
    run = _resolver_run_folder(tmp_path, marker_resolver, {"_target_": "${model.real}", "real": "torch.load"})
    for name, call in _entry_points(run, tmp_path):
        if name == "inpaint-train resume":
            continue  # a resume builds the command's own model: the run's is only compared with it
        with pytest.raises(UntrustedConfigError, match=r"model\._target_=torch\.load is not allowed"):
            call()


@pytest.mark.parametrize("form", ["oc.create", "oc.env", "custom", "in-target"])
def test_eval_data_section_of_a_run_folder_resolves_no_resolver(tmp_path, marker_resolver, form):
    run = _resolver_run_folder(tmp_path, marker_resolver, {})
    trained = compose_config("train", ["experiment=jpgnet_pfunet", *TINY], run)
    OmegaConf.save(OmegaConf.create({"model": OmegaConf.to_container(trained, resolve=True)["model"]}),
                   run / "config_resolved.yaml")
    data = {**OmegaConf.to_container(trained.data), **RESOLVER_PAYLOADS[form]}
    data = {k: v.replace("PAYLOAD", str(run / "payload.pt")) if isinstance(v, str) else v for k, v in data.items()}
    (run / ".hydra").mkdir()
    OmegaConf.save(OmegaConf.create({"paths": {"output_dir": "${hydra:runtime.output_dir}"}, "data": data}),
                   run / ".hydra" / "config.yaml")
    with pytest.raises(UntrustedConfigError, match=rf"{run}/.hydra/config.yaml: data\."):
        evaluate(compose_config("eval", [*TINY, f"ckpt_path={run}"], tmp_path / "eval"))
    assert not marker_resolver.exists(), "inpaint-eval ran the payload"
    assert json.loads((tmp_path / "eval" / "status.json").read_text())["status"] == "failed"
