"""inpaint-predict: classical, our run checkpoint and official-format weights; any size; pairing; errors."""
from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from inpainting.api import pad_to_multiple
from inpainting.cli.common import CONFIG_DIR
from inpainting.cli.predict import pair_inputs, predict
from inpainting.data.io import DataError
from tests.cli.helpers import TINY, TINY_DEMO, compose_config
from tests.conftest import shared_path


def _cfg(images, masks, output_dir, source, *extra):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("predict", [f"images={images}", f"masks={masks}", f"output_dir={output_dir}",
                                   f"model.source={source}", "progress=false", *extra])


def _write_pair(folder: pathlib.Path, stem: str, width: int, height: int, seed: int = 0) -> tuple[pathlib.Path, pathlib.Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / f"{stem}.jpg"
    Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(image)
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4: height // 2, width // 4: width // 2] = 255
    (folder / "masks").mkdir(exist_ok=True)
    mask_path = folder / "masks" / f"{stem}.png"
    Image.fromarray(mask).save(mask_path)
    return image, mask_path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> pathlib.Path:
    """A demo (JPGNet-Telea) run folder trained for 2 batches (config_resolved.yaml + checkpoints/)."""
    from inpainting.cli.train import train

    run = tmp_path_factory.mktemp("run")
    cfg = compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, "trainer.max_epochs=1", "test=false", "logger=csv"], run)
    train(cfg)
    return run


def test_classical_on_a_real_photo_keeps_known_pixels_and_fills_the_hole(tmp_path):
    folder = shared_path("data", "real_samples", "places2_misf")
    image, mask = folder / "10.jpg", folder / "10_mask.png"
    (out,) = predict(_cfg(image, mask, tmp_path / "out", "telea"))
    result = np.asarray(Image.open(out)).astype(int)
    original = np.asarray(Image.open(image)).astype(int)
    hole = np.asarray(Image.open(mask).convert("L")) > 127
    assert result.shape == original.shape
    assert np.abs(result[~hole] - original[~hole]).max() <= 1
    assert 0 < hole.mean() < 1 and result[hole].std() > 0


def test_run_checkpoint_on_a_real_photo(tmp_path, tiny_run):
    folder = shared_path("data", "real_samples", "places2_misf")
    (out,) = predict(_cfg(folder / "10.jpg", folder / "10_mask.png", tmp_path / "out", tiny_run))
    assert np.asarray(Image.open(out)).shape == np.asarray(Image.open(folder / "10.jpg")).shape


@pytest.mark.parametrize("mode", ["reflect", "zero"])
def test_odd_sizes_come_back_at_their_size_through_a_16_multiple_network(tmp_path, tiny_run, mode):
    image, mask = _write_pair(tmp_path / "in", "odd", 70, 53)
    (out,) = predict(_cfg(image, mask, tmp_path / "out", tiny_run, f"pad.mode={mode}"))
    result = np.asarray(Image.open(out))
    assert result.shape == (53, 70, 3)
    known = np.asarray(Image.open(mask)) == 0
    assert np.abs(result[known].astype(int) - np.asarray(Image.open(image))[known].astype(int)).max() <= 1


def test_padding_is_known_and_cropped_back():
    image, mask = torch.rand(1, 3, 53, 70), torch.ones(1, 1, 53, 70)
    padded, padded_mask, size = pad_to_multiple(image, mask, 16, "reflect")
    assert padded.shape[-2:] == (64, 80) and size == (53, 70)
    assert padded_mask[..., 53:, :].sum() == 0 and padded_mask[..., :, 70:].sum() == 0
    assert torch.equal(padded[..., :53, :70], image)


def test_official_pfunet_file_and_folder_pairing_by_stem(tmp_path):
    from inpainting.nets.jpgnet import pfunet

    weights = tmp_path / "pfunet.pth"
    torch.save(pfunet().state_dict(), weights)  # the official file is a bare state dict
    for stem, (w, h) in {"a": (40, 33), "b": (32, 32)}.items():
        _write_pair(tmp_path / "in", stem, w, h)
    outs = predict(_cfg(tmp_path / "in", tmp_path / "in" / "masks", tmp_path / "out", weights, "model.official=pfunet"))
    assert sorted(p.name for p in outs) == ["a.png", "b.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "a.png")).shape == (33, 40, 3)


def test_mask_polarity_threshold_and_resize(tmp_path, caplog):
    image, _ = _write_pair(tmp_path / "in", "p", 40, 30)
    dark_hole = np.full((15, 20), 255, np.uint8)
    dark_hole[:5, :5] = 0  # black = hole, half the image's size
    Image.fromarray(dark_hole).save(tmp_path / "dark.png")
    (out,) = predict(_cfg(image, tmp_path / "dark.png", tmp_path / "out", "ns", "mask.hole_is_white=false"))
    assert "resizing the mask" in caplog.text
    result, original = np.asarray(Image.open(out)).astype(int), np.asarray(Image.open(image)).astype(int)
    assert np.abs(result[10:, 10:] - original[10:, 10:]).max() <= 1  # known pixels kept
    assert np.abs(result[:10, :10] - original[:10, :10]).max() > 1  # the hole was filled


def test_errors_name_the_file_and_existing_outputs_are_kept(tmp_path):
    image, mask = _write_pair(tmp_path / "in", "x", 32, 32)
    (tmp_path / "in" / "masks" / "y.png").write_bytes(b"not a png")
    (tmp_path / "in" / "y.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="y.jpg"):
        predict(_cfg(tmp_path / "in", tmp_path / "in" / "masks", tmp_path / "out", "telea"))
    (tmp_path / "in" / "y.jpg").unlink()
    (tmp_path / "in" / "z.jpg").write_bytes(image.read_bytes())
    with pytest.raises(DataError, match="z"):  # no mask for z
        predict(_cfg(tmp_path / "in", tmp_path / "in" / "masks", tmp_path / "out", "telea"))
    predict(_cfg(image, mask, tmp_path / "out2", "telea"))
    with pytest.raises(FileExistsError, match="overwrite=true"):
        predict(_cfg(image, mask, tmp_path / "out2", "telea"))
    predict(_cfg(image, mask, tmp_path / "out2", "telea", "overwrite=true"))


def test_folders_pair_stem_with_stem_mask(tmp_path):
    # the MISF release and Dunhuang name masks <stem>_mask.png, next to the images or in their own folder
    pixel = Image.fromarray(np.zeros((4, 4, 3), np.uint8))
    for name in ("10.jpg", "10_mask.png", "11.jpg", "11_mask.png"):
        pixel.save(tmp_path / name)
    assert [(i.name, m.name) for i, m in pair_inputs(tmp_path, tmp_path)] == [("10.jpg", "10_mask.png"), ("11.jpg", "11_mask.png")]
    (tmp_path / "imgs").mkdir()
    (tmp_path / "masks").mkdir()
    for name in ("10.jpg", "11.jpg"):
        pixel.save(tmp_path / "imgs" / name)
    pixel.save(tmp_path / "masks" / "10_mask.png")
    pixel.save(tmp_path / "masks" / "11.png")
    assert [m.name for _, m in pair_inputs(tmp_path / "imgs", tmp_path / "masks")] == ["10_mask.png", "11.png"]
    (tmp_path / "12.jpg").write_bytes((tmp_path / "10.jpg").read_bytes())
    with pytest.raises(DataError, match=r"no mask .* \['12'\]"):
        pair_inputs(tmp_path, tmp_path)  # an image is never its own mask
