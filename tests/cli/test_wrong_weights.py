"""Weights that do not fit the model: errors naming the file, what it holds and what was expected."""
from __future__ import annotations

import shutil

import pytest
from omegaconf import OmegaConf

from inpainting import load_model
from inpainting.cli.evaluate import evaluate
from inpainting.cli.train import train
from inpainting.nets.checkpoints import CheckpointError
from tests.cli.helpers import TINY, TINY_DEMO, compose_config

DEMO = ["experiment=demo", *TINY, *TINY_DEMO]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("weights") / "run"
    train(compose_config("train", [*DEMO, "trainer.max_epochs=1", "test=false"], out))
    return out


@pytest.mark.parametrize("overrides,expected", [
    ([*DEMO, "model.pfunet.kpn.width=0.25", "model.fusion.width=0.25"], r"shape mismatch for \d+ key\(s\):\n  net\.\S+: file \("),
    (["experiment=jpgnet_pfunet", *TINY, "model.net.kpn.width=0.125"], r"does not match \w+:\n  (missing|unexpected) keys"),
], ids=["another-width", "another-model"])
def test_init_from_weights_of_another_model_names_the_file_and_what_it_holds(demo_run, tmp_path, overrides, expected):
    ckpt = demo_run / "checkpoints" / "last.ckpt"
    cfg = compose_config("train", [*overrides, f"init_from={ckpt}", "trainer.max_epochs=1"], tmp_path / "warm")
    with pytest.raises(CheckpointError, match=rf"{ckpt} \(it holds a inpainting\.models\.\S+ \(JPGNet-Telea\) per "
                                              rf"{demo_run}/config_resolved.yaml\)[^\n]*{expected}"):
        train(cfg)


def test_a_run_whose_config_and_checkpoint_disagree_is_named(demo_run, tmp_path):
    run = tmp_path / "edited"
    shutil.copytree(demo_run, run)
    cfg = OmegaConf.load(run / "config_resolved.yaml")
    cfg.model.pfunet.kpn.width = 0.25
    OmegaConf.save(cfg, run / "config_resolved.yaml")
    with pytest.raises(CheckpointError, match=rf"config and checkpoint disagree: .* does not fit {run}/checkpoints/\S+\.ckpt"):
        load_model(run)


def test_eval_of_a_checkpoint_without_its_run_config_does_not_guess_the_model(demo_run, tmp_path):
    lone = tmp_path / "elsewhere" / "weights.ckpt"
    lone.parent.mkdir()
    shutil.copy(demo_run / "checkpoints" / "last.ckpt", lone)
    with pytest.raises(FileNotFoundError, match=rf"{lone}: no config_resolved.yaml .* the model it holds is unknown"):
        evaluate(compose_config("eval", [*TINY, f"ckpt_path={lone}"], tmp_path / "eval"))
    assert not (tmp_path / "eval" / "results.json").exists()
