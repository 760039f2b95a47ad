"""inpaint-predict, inpaint-export and the Python API on CUDA (device auto): the same results as on the CPU."""
import pytest
import torch

from inpainting import load_model
from inpainting.cli.export import export_model
from inpainting.cli.train import train
from tests.cli.helpers import TINY, compose_config


@pytest.fixture(scope="module")
def pfunet_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cuda_api") / "run"
    train(compose_config("train", ["experiment=jpgnet_pfunet", *TINY, "model.net.kpn.width=0.125", "trainer.max_epochs=1",
                                   "test=false", "trainer=gpu"], out))
    return out


def test_api_defaults_to_cuda_and_matches_cpu(pfunet_run):
    on_gpu, on_cpu = load_model(pfunet_run), load_model(pfunet_run, device="cpu")
    assert on_gpu.device.type == "cuda"
    image = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(2, 1, 32, 48)
    mask[..., 8:20, 10:30] = 1
    assert (on_gpu.inpaint_tensor(image, mask) - on_cpu.inpaint_tensor(image, mask)).abs().max() < 1e-4


def test_predict_runs_on_cuda(pfunet_run, tmp_path):
    from inpainting.cli.predict import predict
    from tests.reproduce.test_predict import _cfg, _write_pair

    image, mask = _write_pair(tmp_path / "in", "a", 48, 32)
    cfg = _cfg(image, mask, tmp_path / "out", pfunet_run)
    assert cfg.device == "auto"
    (out,) = predict(cfg)
    assert out.is_file()


def test_export_from_a_cuda_default_traces_on_the_cpu(pfunet_run, tmp_path):
    files = export_model(str(pfunet_run), tmp_path, height=32, width=48, formats=["torchscript"])
    assert files["torchscript"].is_file()
