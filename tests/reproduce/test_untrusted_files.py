"""Shared run folders and checkpoints cannot run code: allow-listed config targets, weights-only loads."""
from __future__ import annotations

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
                            "net": {**TORCH_LOAD, "_target_": "inpainting.nets.checkpoints.torch.load"}}),
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
    with pytest.raises(Exception, match="Weights only load failed"):
        evaluate(compose_config("eval", [*TINY, f"ckpt_path={bad}"], tmp_path / "eval"))
    assert not marker.exists(), "inpaint-eval ran the payload"
    with pytest.raises(Exception, match="Weights only load failed"):
        train(compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, f"ckpt_path={bad}"], tmp_path / "train"))
    assert not marker.exists(), "inpaint-train (resume) ran the payload"
    with pytest.raises(Exception, match="Weights only load failed"):
        train(compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, f"init_from={bad}"], tmp_path / "warm"))
    assert not marker.exists(), "inpaint-train init_from ran the payload"
