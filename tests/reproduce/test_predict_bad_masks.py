"""inpaint-predict warns on masks with nothing or everything to fill; a too-small image is named."""
import logging

import numpy as np
import pytest
from PIL import Image

from inpainting.cli.predict import predict
from inpainting.data.io import DataError
from tests.reproduce.test_predict import _cfg, _write_pair


@pytest.mark.parametrize("value,expected", [(0, "has no hole pixels: the output is the input"),
                                            (255, "is all hole: nothing is known to fill it from")])
def test_degenerate_masks_warn_with_the_mask_named(tmp_path, caplog, value, expected):
    image, _ = _write_pair(tmp_path / "in", "x", 24, 24)
    Image.fromarray(np.full((24, 24), value, np.uint8)).save(tmp_path / "flat.png")
    with caplog.at_level(logging.WARNING):
        predict(_cfg(image, tmp_path / "flat.png", tmp_path / "out", "telea"))
    assert f"flat.png (mask of x.jpg) {expected}" in caplog.text


def test_too_small_image_error_names_the_image(tmp_path):
    image, mask = _write_pair(tmp_path / "in", "tiny", 3, 3)
    with pytest.raises(DataError, match=r"tiny\.jpg: image of 3x3 is too small to reflect-pad to a multiple of 16"):
        predict(_cfg(image, mask, tmp_path / "out", "telea", "pad.multiple=16"))


def test_pixel_limit_names_the_image_and_can_be_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # predict sets it process-wide
    image, mask = _write_pair(tmp_path / "in", "big", 24, 24)
    with pytest.raises(DataError, match=r"big\.jpg: image too large to decode \(576 pixels, the limit is 500\)"):
        predict(_cfg(image, mask, tmp_path / "out", "telea", "max_image_pixels=500"))
    predict(_cfg(image, mask, tmp_path / "out", "telea", "max_image_pixels=576"))
