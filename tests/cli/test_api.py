"""The Python API: load a run folder, an authors' file or a classical method; inpaint PIL images and
tensors with the CLI's conventions."""
import numpy as np
import pytest
import torch
from PIL import Image

from inpainting import load_model
from inpainting.cli.train import train
from inpainting.models.base import InpaintingModule
from inpainting.models.jpgnet import JPGNetModule
from tests.cli.helpers import TINY, TINY_DEMO, compose_config


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "run"
    train(compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, "trainer.max_epochs=1", "test=false"], out))
    return out


def photo_and_mask(size=(40, 36)):
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    mask = np.zeros((size[1], size[0]), np.uint8)
    mask[10:20, 5:25] = 255  # white = hole, as inpaint-predict reads masks
    return photo, Image.fromarray(mask)


def test_run_folder_inpaints_a_pil_photo(demo_run):
    model = load_model(demo_run)
    assert "run checkpoint" in model.description and model.multiple == 16
    photo, mask = photo_and_mask()  # 40x36: not a multiple of 16, padded and cropped back
    result = model(photo, mask)
    assert isinstance(result, Image.Image) and result.size == photo.size and result.mode == "RGB"
    known = np.asarray(mask) == 0
    assert np.array_equal(np.asarray(result)[known], np.asarray(photo)[known]), "known pixels are kept"
    assert not np.array_equal(np.asarray(result)[~known], np.asarray(photo)[~known])


def test_run_folder_inpaints_a_real_photo(demo_run):
    from skimage import data

    photo = Image.fromarray(data.astronaut()).resize((64, 64), Image.BILINEAR)  # a photo scikit-image ships
    hole = np.zeros((64, 64), bool)
    hole[20:36, 24:44] = True
    result = np.asarray(load_model(demo_run)(photo, Image.fromarray(hole.astype(np.uint8) * 255)), np.float64)
    truth = np.asarray(photo, np.float64)
    filled, empty = np.abs(result - truth)[hole].mean(), truth[hole].mean()  # vs the hole left black
    assert filled < empty / 2, (filled, empty)  # 38 vs 111 grey levels with the 1-epoch demo model


def test_tensor_input_matches_pil_input(demo_run):
    model = load_model(demo_run)
    photo, mask = photo_and_mask()
    image = torch.from_numpy(np.asarray(photo).copy()).permute(2, 0, 1).float() / 255
    hole = torch.from_numpy(np.asarray(mask) > 127).float()[None]
    single = model(image, hole)
    assert single.shape == image.shape
    batch = model(image[None], hole[None])
    assert torch.equal(batch[0], single)
    from_pil = torch.from_numpy(np.asarray(model(photo, mask)).copy()).permute(2, 0, 1).float() / 255
    assert (single - from_pil).abs().max() <= 0.5 / 255 + 1e-6  # the PIL result is rounded to uint8


def test_classical_method_and_errors():
    model = load_model("telea")
    photo, mask = photo_and_mask()
    assert model(photo, mask).size == photo.size
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_model("no/such/run")
    with pytest.raises(TypeError, match="PIL image or a torch tensor"):
        model(np.zeros((4, 4, 3)), None)


def test_official_pfunet_file(tmp_path):
    from inpainting.nets.jpgnet import pfunet

    path = tmp_path / "pfunet.pth"
    torch.save(pfunet().state_dict(), path)
    model = load_model(path, official="pfunet")
    photo, mask = photo_and_mask((32, 32))
    assert model(photo, mask).size == (32, 32)
    with pytest.raises(ValueError, match="ctsdg, edgeconnect, misf, pfunet, rfrnet, structureflow"):
        load_model(path, official="lama")


def _authors_files(family: str, net: torch.nn.Module) -> dict[str, object]:
    """``{released file name: content}`` of ``net`` in its authors' format (the formats the loaders document)."""
    if family == "misf":
        return {"places2_InpaintingModel_gen.pth": {"iteration": 1, "generator": net.generator.state_dict()}}
    if family == "edgeconnect":
        return {"EdgeModel_gen.pth": {"iteration": 1, "generator": net.edge_generator.state_dict()},
                "InpaintingModel_gen.pth": {"iteration": 1, "generator": net.inpaint_generator.state_dict()}}
    if family == "rfrnet":
        return {"g_10.pth": {"n_iter": 10, "generator": net.generator.state_dict(), "optimizer_G": {}}}
    if family == "ctsdg":
        return {"100.pt": {"n_iter": 100, "generator": net.generator.state_dict(), "discriminator": {}}}
    if family == "structureflow":
        return {"latest_net_s_gen.pth": net.structure_generator.state_dict(),
                "latest_net_f_gen.pth": net.flow_generator.state_dict()}
    return {"pfunet.pth": net.kpn.state_dict()}


@pytest.mark.slow  # every family at its released size (about 150M parameters in all)
@pytest.mark.parametrize("family", ["ctsdg", "edgeconnect", "misf", "pfunet", "rfrnet", "structureflow"])
def test_official_weights_of_every_family(family, tmp_path):
    from inpainting.utils.released import released_network

    torch.manual_seed(1)
    authors = released_network(family)  # the released architecture, its weights saved as the authors save them
    for name, content in _authors_files(family, authors).items():
        torch.save(content, tmp_path / name)
    source = tmp_path / "pfunet.pth" if family == "pfunet" else tmp_path  # pfunet: the file (no released name)
    torch.manual_seed(2)
    model = load_model(source, official=family, device="cpu")
    assert model.net.state_dict().keys() == authors.state_dict().keys()
    assert all(torch.equal(v, authors.state_dict()[k]) for k, v in model.net.state_dict().items()), "weights not loaded"
    image, hole = torch.rand(1, 3, 120, 124), torch.zeros(1, 1, 120, 124)
    hole[..., 30:60, 40:80] = 1
    result = model(image, hole)
    assert result.shape == image.shape and torch.equal(result * (1 - hole), image * (1 - hole))
    assert (result - image).abs().mul(hole).sum() > 0  # the holes are filled by the network


def test_load_from_checkpoint(demo_run):
    ckpt = next((demo_run / "checkpoints").glob("best*.ckpt"))
    module = JPGNetModule.load_from_checkpoint(ckpt)
    assert isinstance(module, JPGNetModule) and not module.training
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    assert all(torch.equal(module.state_dict()[k], v) for k, v in state.items())
    assert isinstance(InpaintingModule.load_from_checkpoint(demo_run / "checkpoints/last.ckpt"), JPGNetModule)
