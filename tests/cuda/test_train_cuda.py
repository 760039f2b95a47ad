"""Every training experiment trains and validates a batch on CUDA in float32, bf16-mixed and 16-mixed, with no host
copy in its training step (GradScaler's overflow check under 16-mixed is the named exception); a one-GPU NCCL DDP run."""
import json

import pytest
import torch

from inpainting.cli.train import train
from tests.cli.helpers import compose_config
from tests.host_copies import guard_training_steps
from tests.models.test_precision import FAMILIES, _overrides
from tests.scale.helpers import run_cli, single_folder
from tests.scale.test_ddp import TINY_GAN_RUN

PRECISIONS = ["32-true", "bf16-mixed", "16-mixed"]


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("family", FAMILIES)
def test_family_trains_and_validates_on_cuda(family, precision, tmp_path, monkeypatch, standin_vgg16):
    cfg = compose_config("train", [*_overrides(family, tmp_path), "trainer=gpu", f"trainer.precision={precision}",
                                   "trainer.detect_anomaly=false", "debug=fdr"], tmp_path / "run")
    guarded = guard_training_steps(monkeypatch)
    summary = train(cfg)
    losses = {k: v for k, v in summary["metrics"].items() if k.startswith("train/") and "loss" in k}
    assert guarded == [0] and losses and all(torch.isfinite(torch.tensor(v)) for v in losses.values()), losses
    assert "val/psnr" in summary["metrics"] or any(k.startswith("val/") for k in summary["metrics"])


def test_one_gpu_nccl_ddp_run(tmp_path):
    result = run_cli([*TINY_GAN_RUN, "trainer=ddp", "trainer.devices=1", f"paths.log_dir={tmp_path / 'logs'}"], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = single_folder(tmp_path / "logs")
    metrics = json.loads((run_dir / "results.json").read_text())["final_metrics"]
    assert metrics["val/psnr"] > 0 and metrics["test/psnr"] > 0  # Lightning's CUDA DDP backend: NCCL
