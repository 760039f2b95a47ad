"""The local web demo, headless: the page builds, one request through its function returns an image."""
import numpy as np
import pytest
from PIL import Image

from inpainting.cli.webdemo import WebDemo, decode_data_url, encode_png, make_server


def test_one_request_returns_the_inpainted_photo():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    mask = np.zeros((40, 56, 4), np.uint8)
    mask[..., 3] = 255  # the page sends an opaque canvas: black background, white strokes
    mask[10:20, 10:30, :3] = 255
    app = WebDemo()
    assert '<option value="telea">' in app.page() and "__OPTIONS__" not in app.page()
    reply = app.inpaint({"model": "telea", "image": encode_png(Image.fromarray(photo)),
                         "mask": encode_png(Image.fromarray(mask, "RGBA"))})
    assert reply["description"] == "classical telea"
    result = np.asarray(decode_data_url(reply["image"]))
    assert result.shape == photo.shape
    hole = mask[..., 0] > 0
    assert np.array_equal(result[~hole], photo[~hole]) and not np.array_equal(result[hole], photo[hole])


def test_errors_come_back_as_messages():
    app = WebDemo()
    tile = encode_png(Image.new("RGB", (8, 8)))
    assert "unknown model" in app.inpaint({"model": "lama", "image": tile, "mask": tile})["error"]
    with pytest.raises(ValueError, match="unknown model name"):
        WebDemo(official={"x": "misf"})


def test_server_object_builds_without_serving():
    server = make_server(WebDemo(), port=0)  # port 0: any free local port; nothing is served
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()
