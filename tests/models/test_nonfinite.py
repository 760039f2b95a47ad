"""NaN and infinity stop a run with an error naming the step; metrics never score them; no NaN checkpoint is kept."""
from __future__ import annotations

import json
import pathlib

import hydra
import pytest
import torch

from inpainting.cli.train import train
from inpainting.eval.metrics import NonFiniteError, inpainting_scores
from tests.cli.helpers import TINY, TINY_DEMO, compose_config

DEMO = ["experiment=demo", *TINY, *TINY_DEMO]


def test_a_diverging_run_stops_at_the_first_nan_loss_and_keeps_no_nan_checkpoint(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(NonFiniteError, match=r"loss at global step \d+ \(epoch \d+\).*lower the learning rate"):
        train(compose_config("train", [*DEMO, "trainer.max_epochs=3", "model.optimizer.lr=1e12"], out))
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed" and "NonFiniteError: loss at global step" in status["error"]
    assert not (out / "results.json").exists()
    for ckpt in (out / "checkpoints").glob("*.ckpt"):
        state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
        bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        assert not bad, f"{ckpt.name} holds non-finite tensors: {bad[:3]}"


@pytest.fixture(scope="module")
def demo_module():
    cfg = compose_config("train", DEMO, pathlib.Path("unused"))
    return hydra.utils.instantiate(cfg.model)


def _batch(size: int = 32) -> dict:
    generator = torch.Generator().manual_seed(0)
    mask = torch.zeros(2, 1, size, size)
    mask[..., 8:20, 8:20] = 1
    return {"image": torch.rand(2, 3, size, size, generator=generator), "mask": mask,
            "bin": torch.tensor([0, 1]), "name": ["a.png", "b.png"]}


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_outputs_are_errors_naming_step_batch_and_images(demo_module, monkeypatch, bad):
    monkeypatch.setattr(demo_module, "forward", lambda image, mask: {"pred": torch.full_like(image, bad)})
    with pytest.raises(NonFiniteError, match=r"validation output at global step 0 \(epoch 0, batch 3, images \['a.png'"):
        demo_module.validation_step(_batch(), 3)
    with pytest.raises(NonFiniteError, match=r"test output at global step 0 \(epoch 0, batch 1"):
        demo_module.test_step(_batch(), 1)


def test_non_finite_data_is_an_error_before_the_step(demo_module):
    batch = _batch()
    batch["image"][1, 0, 5, 5] = float("nan")
    with pytest.raises(NonFiniteError, match=r"training batch image at global step 0 .*1 NaN and 0 infinite"):
        demo_module.on_train_batch_start(batch, 0)


def test_metrics_never_score_nan_as_black():
    batch = _batch()
    pred = batch["image"].clone()
    pred[0, :, 10, 10] = float("nan")  # inside the hole: the composite keeps it
    with pytest.raises(NonFiniteError, match="a NaN would become 0 in the uint8 conversion"):
        inpainting_scores(pred, batch["image"], batch["mask"])
    finite = inpainting_scores(batch["image"], batch["image"], batch["mask"])
    assert torch.isfinite(finite["psnr"]).all()
