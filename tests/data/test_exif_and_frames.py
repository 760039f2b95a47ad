"""EXIF orientation 2-8 is applied wherever images are read; animated files are refused alike alone and in folders."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inpainting.cli.predict import predict
from inpainting.data.io import DataError, load_image, load_mask_file, upright
from tests.reproduce.test_predict import _cfg

# the EXIF 2.3 meaning of each tag, as numpy on the stored pixels (rows, columns): what a viewer shows
SHOWN = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],            # mirrored left-right
    3: lambda a: a[::-1, ::-1],         # rotated 180
    4: lambda a: a[::-1, :],            # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),      # transposed
    6: lambda a: np.rot90(a, k=-1),     # rotated 90 clockwise
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],  # transversed
    8: lambda a: np.rot90(a, k=1),      # rotated 90 counter-clockwise
}


def _stored(path, orientation: int, size=(48, 32), mode="RGB"):
    """A JPEG (or PNG for masks) of asymmetric blocks with the given EXIF orientation; returns its stored pixels."""
    rng = np.random.default_rng(orientation)
    blocks = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    array = np.kron(blocks, np.ones((8, 8, 1), np.uint8))
    image = Image.fromarray(array).convert(mode)
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, exif=exif, **({"quality": 95} if path.suffix == ".jpg" else {}))
    with Image.open(path) as raw:  # Pillow decodes the stored pixels and leaves the tag to us
        return np.asarray(raw.convert(mode))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_images_and_masks_are_read_as_a_viewer_shows_them(tmp_path, orientation):
    stored = _stored(tmp_path / "photo.jpg", orientation)
    assert np.array_equal(load_image(tmp_path / "photo.jpg"), SHOWN[orientation](stored))
    stored_mask = _stored(tmp_path / "mask.png", orientation, mode="L")
    assert np.array_equal(load_mask_file(tmp_path / "mask.png"), SHOWN[orientation](stored_mask))
    with Image.open(tmp_path / "photo.jpg") as opened:  # an in-memory PIL image (API, web demo) alike
        assert np.array_equal(load_image(opened), SHOWN[orientation](stored))
        assert upright(opened).getexif().get(0x0112, 1) == 1


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_predict_fills_the_mask_drawn_on_the_upright_photo_and_saves_it_upright(tmp_path, orientation):
    folder = tmp_path / "in"
    folder.mkdir()
    stored = _stored(folder / "photo.jpg", orientation, size=(64, 40))  # stored landscape, shown portrait
    shown = SHOWN[orientation](stored)
    mask = np.zeros(shown.shape[:2], np.uint8)
    mask[8:24, 4:20] = 255  # a hole drawn on the portrait view
    Image.fromarray(mask).save(folder / "photo_mask.png")
    [out] = predict(_cfg(folder, folder, tmp_path / "out", "telea"))
    result = np.asarray(Image.open(out))
    assert result.shape == shown.shape, "no mask stretched over the stored landscape"
    assert Image.open(out).getexif().get(0x0112, 1) == 1, "the output carries no orientation tag: pixels are upright"
    known = mask == 0
    assert np.array_equal(result[known], shown[known]), "known pixels are the upright photo's"
    assert not np.array_equal(result[~known], shown[~known]), "the hole was filled"


def _gif(path, frames: int):
    images = [Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)) for i in range(frames)]
    images[0].save(path, save_all=frames > 1, append_images=images[1:])


def test_animated_files_are_refused_alone_and_in_a_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _gif(folder / "still.gif", 1)
    _gif(folder / "moving.gif", 3)
    assert load_image(folder / "still.gif").shape == (16, 16, 3)
    with pytest.raises(DataError, match=r"moving.gif: animated or multi-frame image \(3 frames, GIF\)"):
        load_image(folder / "moving.gif")
    with Image.open(folder / "moving.gif") as opened, pytest.raises(DataError, match="3 frames"):
        load_image(opened)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    with pytest.raises(DataError, match=r"moving.gif: animated or multi-frame image"):
        predict(_cfg(folder, tmp_path / "mask.png", tmp_path / "out", "telea"))
