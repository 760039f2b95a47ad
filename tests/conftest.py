"""Shared fixtures. Tests that read ../shared skip with a reason when it is absent (a user's machine)."""
import os
import pathlib

import pytest
import torch

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
torch.set_num_threads(1)  # 2-core CI: one thread per process keeps timings stable

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DIR = pathlib.Path(os.environ.get("INPAINTING_SHARED_DIR", REPO_ROOT.parent / "shared"))


def shared_path(*parts: str) -> pathlib.Path:
    """Path under the shared data folder, or skip the calling test when it is missing."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set INPAINTING_SHARED_DIR)")
    return path


@pytest.fixture
def shared():
    return shared_path


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """An isolated torch hub folder; any attempt to download fails the test."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "_hub_dir", str(hub))

    def no_download(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    import torch_fidelity.feature_extractor_inceptionv3 as fidelity_inception  # FID's own downloader

    for module in (torch.hub, fidelity_inception):
        monkeypatch.setattr(module, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return hub


@pytest.fixture
def standin_vgg16(hub_dir):
    """A random torchvision-layout VGG16 ``features.*`` state dict saved under the hub checkpoint name."""
    from torchvision.models.vgg import cfgs, make_layers

    from inpainting.utils.weights import VGG16_WEIGHTS_FILE

    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in make_layers(cfgs["D"]).state_dict().items()}
    path = hub_dir / "checkpoints" / VGG16_WEIGHTS_FILE
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return state


@pytest.fixture(scope="module")
def standin_inception_state():
    """A random state dict with the exact keys/shapes of torch-fidelity's InceptionV3 (He-scaled convs, so features stay O(1))."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with pytest.MonkeyPatch.context() as patch, torch.random.fork_rng():
        torch.manual_seed(0)
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, state, strict=True: None)
        patch.setattr(torch, "load", lambda *args, **kwargs: {})  # the constructor insists on loading something
        model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path="unused")
    state = model.state_dict()
    draw = torch.Generator().manual_seed(0)  # its own generator: the same weights whichever tests ran before
    for key, value in state.items():
        if key.endswith("conv.weight"):
            fan_in = value[0].numel()
            state[key] = torch.randn(value.shape, generator=draw, dtype=value.dtype) * (2 / fan_in) ** 0.5
    return state


@pytest.fixture
def standin_inception_weights(hub_dir, standin_inception_state):
    from inpainting.eval.fid import INCEPTION_WEIGHTS_FILE

    path = hub_dir / "checkpoints" / INCEPTION_WEIGHTS_FILE
    path.parent.mkdir(parents=True)
    torch.save(standin_inception_state, path)
    return path
