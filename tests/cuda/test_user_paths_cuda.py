"""inpaint-predict, inpaint-export and the Python API on CUDA (device auto): the same results as on the CPU."""
import numpy as np
import pytest
import torch
from PIL import Image

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

    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)).save(images / "a.png")
    hole = np.zeros((32, 48), np.uint8)
    hole[8:20, 10:30] = 255
    Image.fromarray(hole).save(masks / "a.png")
    cfg = compose_config("predict", [f"model.source={pfunet_run}", f"images={images}", f"masks={masks}",
                                     f"output_dir={tmp_path / 'out'}"], tmp_path / "predict")
    assert cfg.device == "auto"
    predict(cfg)
    assert any((tmp_path / "out").iterdir())


def test_export_from_a_cuda_default_traces_on_the_cpu(pfunet_run, tmp_path):
    files = export_model(str(pfunet_run), tmp_path, height=32, width=48, formats=["torchscript"])
    assert files["torchscript"].is_file()
