"""Each unusual input is either handled by its documented rule or rejected with the file named."""
import cv2
import numpy as np
import pytest
from PIL import Image

from inpainting.data import DataError, MaskFiles, load_image, load_mask_file
from inpainting.data.transforms import Preprocess

RGB = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)


def test_truncated_and_corrupt_and_missing(tmp_path):
    good = tmp_path / "good.jpg"
    Image.fromarray(RGB).save(good)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[:200])
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"not an image at all")
    with pytest.raises(DataError, match="truncated.jpg: cannot decode image"):
        load_image(truncated)
    with pytest.raises(DataError, match="garbage.png: cannot decode image"):
        load_image(garbage)
    with pytest.raises(DataError, match="absent.png: file not found"):
        load_image(tmp_path / "absent.png")


def test_modes_converted_by_rule(tmp_path):
    Image.fromarray(RGB[..., 0]).save(tmp_path / "gray.png")
    gray = load_image(tmp_path / "gray.png")
    assert gray.shape == (12, 10, 3) and np.array_equal(gray[..., 2], RGB[..., 0])
    Image.fromarray(RGB).convert("CMYK").save(tmp_path / "cmyk.jpg")
    assert load_image(tmp_path / "cmyk.jpg").shape == (12, 10, 3)
    sixteen = (RGB[..., 0].astype(np.uint16) * 257)
    Image.fromarray(sixteen).save(tmp_path / "sixteen.png")
    assert np.array_equal(load_image(tmp_path / "sixteen.png")[..., 0], RGB[..., 0])
    rgb16 = RGB.astype(np.uint16) * 256 + 17
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16[..., ::-1])
    assert np.array_equal(load_image(tmp_path / "rgb16.png"), RGB)  # Pillow keeps the high byte
    opaque = np.concatenate([RGB, np.full((12, 10, 1), 255, np.uint8)], axis=2)
    Image.fromarray(opaque).save(tmp_path / "opaque.png")
    assert np.array_equal(load_image(tmp_path / "opaque.png"), RGB)


def test_transparent_rgba_rejected(tmp_path):
    rgba = np.concatenate([RGB, np.full((12, 10, 1), 255, np.uint8)], axis=2)
    rgba[0, 0, 3] = 10
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    with pytest.raises(DataError, match="alpha.png: image has transparent pixels"):
        load_image(tmp_path / "alpha.png")


def test_small_image_upscaled_or_rejected():
    rng = np.random.default_rng(0)
    assert Preprocess(16, "crop")(RGB, rng).shape == (16, 16, 3)
    with pytest.raises(DataError, match="tiny.png: image 12x10 is smaller than the 16x16 crop"):
        Preprocess(16, "crop", small_images="error")(RGB, rng, "tiny.png")
    assert Preprocess(16, "official")(RGB, rng).shape == (16, 16, 3)


def test_mask_rules(tmp_path):
    mask = np.zeros((64, 48), np.uint8)
    mask[:16] = 255
    Image.fromarray(mask).save(tmp_path / "other_size.png")
    files = MaskFiles(paths=[tmp_path / "other_size.png"], interpolation="nearest")
    fitted = files.load(tmp_path / "other_size.png", 16, 16)  # centre crop 48x48, then resize
    assert fitted.shape == (16, 16) and fitted[:3].all() and not fitted[3:].any()
    Image.fromarray(np.stack([mask] * 3, axis=2)).save(tmp_path / "grey_rgb.png")
    assert np.array_equal(load_mask_file(tmp_path / "grey_rgb.png"), mask)
    colour = np.stack([mask, mask, 255 - mask], axis=2)
    Image.fromarray(colour).save(tmp_path / "colour.png")
    with pytest.raises(DataError, match="colour.png: mask is a colour image"):
        load_mask_file(tmp_path / "colour.png")
    for name, value, message in (("known.png", 0, "no hole pixels"), ("hole.png", 255, "all hole")):
        Image.fromarray(np.full((8, 8), value, np.uint8)).save(tmp_path / name)
        with pytest.raises(DataError, match=f"{name}: mask .*{message}"):
            MaskFiles(paths=[tmp_path / name]).load(tmp_path / name, 8, 8)
