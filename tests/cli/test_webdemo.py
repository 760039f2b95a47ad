"""The local web demo: its request function, the limits of its HTTP server (every malformed request gets a 4xx
answer with a message; loopback only, each exchange bounded by a socket timeout) and, slow, the page itself
driven in headless Chromium."""
import base64
import io
import json
import shutil
import socket
import threading
import zlib

import numpy as np
import pytest
from PIL import Image

from inpainting.cli.webdemo import MAX_SIDE, RequestError, WebDemo, decode_data_url, encode_png, make_server


def photo_and_mask(height=40, width=56):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[10:20, 10:30] = 255
    return photo, mask


def test_one_request_returns_the_inpainted_photo():
    photo, hole = photo_and_mask()
    mask = np.zeros((*hole.shape, 4), np.uint8)
    mask[..., 3] = 255  # the page sends an opaque canvas: black background, white strokes
    mask[..., :3] = hole[..., None]
    app = WebDemo()
    assert '<option value="telea">' in app.page() and "__OPTIONS__" not in app.page() and "__MAX_SIDE__" not in app.page()
    reply = app.inpaint({"model": "telea", "image": encode_png(Image.fromarray(photo)),
                         "mask": encode_png(Image.fromarray(mask, "RGBA"))})
    assert reply["description"] == "classical telea"
    assert (reply["width"], reply["height"]) == (56, 40) and reply["hole_percent"] == pytest.approx(100 * 200 / (40 * 56))
    assert reply["seconds"] >= 0
    result = np.asarray(decode_data_url(reply["image"]))
    assert result.shape == photo.shape
    hole = hole > 0
    assert np.array_equal(result[~hole], photo[~hole]) and not np.array_equal(result[hole], photo[hole])


def test_bad_requests_raise_with_their_status():
    app = WebDemo()
    tile = encode_png(Image.new("RGB", (8, 8)))
    cases = [([tile], 400, "must be a JSON object"), ({"mask": tile}, 400, "missing 'image'"),
             ({"image": 5, "mask": tile}, 400, "must be a data URL string"),
             ({"image": "data:image/png;base64,@@@", "mask": tile}, 400, "not base64"),
             ({"image": base64.b64encode(b"not an image").decode(), "mask": tile}, 400, "not an image"),
             ({"model": "lama", "image": tile, "mask": tile}, 400, "unknown model")]
    for request, status, message in cases:
        with pytest.raises(RequestError, match=message) as error:
            app.inpaint(request)
        assert error.value.status == status
    with pytest.raises(ValueError, match="unknown model name"):
        WebDemo(official={"x": "misf"})


def huge_png(side: int) -> bytes:
    """A PNG header announcing side x side pixels with a tiny (invalid) body: the size must be refused from the
    header alone, before any decoding."""
    buffer = io.BytesIO()
    Image.new("L", (side, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[20:24] = side.to_bytes(4, "big")  # IHDR height, then the chunk's CRC
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def test_pixel_limit_is_checked_before_decoding():
    for side in (MAX_SIDE + 1, 12000, 20000):
        with pytest.raises(RequestError, match=f"larger than {MAX_SIDE} px") as error:
            decode_data_url(base64.b64encode(huge_png(side)).decode(), MAX_SIDE)
        assert error.value.status == 413


@pytest.fixture
def server():
    """The server on a free loopback port, in a thread, with a short read timeout and a small body limit."""
    httpd = make_server(WebDemo(), "127.0.0.1", 0, max_body=200_000, timeout=1.0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def exchange(port: int, head: str, body: bytes = b"") -> tuple[int, dict]:
    """Send raw bytes, read the whole answer (the server closes after an error); 10 s at most."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and not head.startswith("GET"):
                raw = b"".join(chunks)
                header, _, rest = raw.partition(b"\r\n\r\n")
                length = int(next(l.split(b":")[1] for l in header.split(b"\r\n") if l.lower().startswith(b"content-length")))
                if len(rest) >= length:
                    break
    header, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
    return int(header.split()[1]), json.loads(rest) if rest.startswith(b"{") else {}


def post(port: int, body: bytes, length: str | None = None) -> tuple[int, dict]:
    lines = ["POST /inpaint HTTP/1.1", "Host: localhost", "Content-Type: application/json"]
    if length != "":
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return exchange(port, "\r\n".join(lines) + "\r\n", body)


def test_every_malformed_request_gets_an_http_error_with_a_message(server):
    photo, mask = photo_and_mask()
    good = {"model": "telea", "image": encode_png(Image.fromarray(photo)), "mask": encode_png(Image.fromarray(mask))}
    status, reply = post(server, json.dumps(good).encode())
    assert status == 200 and reply["width"] == 56
    huge = base64.b64encode(huge_png(20000)).decode()
    cases = [
        (post(server, b"[1, 2]"), 400, "must be a JSON object"),
        (post(server, json.dumps({"image": 7, "mask": good["mask"]}).encode()), 400, "data URL string"),
        (post(server, json.dumps({"mask": good["mask"]}).encode()), 400, "missing 'image'"),
        (post(server, b"{nope"), 400, "bad JSON"),
        (post(server, b"{}", length="abc"), 400, "'abc' is not a non-negative integer"),
        (post(server, b"{}", length="-5"), 400, "'-5' is not a non-negative integer"),
        (post(server, b"{}", length=""), 411, "Content-Length is required"),
        (post(server, b"x" * 10, length="300000"), 413, "over the limit of 200000"),
        (post(server, b"{}", length="5000"), 408, "did not arrive in time"),  # announced more than sent: timeout
        (post(server, json.dumps({**good, "image": huge}).encode()), 413, f"larger than {MAX_SIDE} px"),
        (exchange(server, "POST /other HTTP/1.1\r\nContent-Length: 0\r\n"), 404, "POST /inpaint"),
    ]
    for (status, reply), expected_status, message in cases:
        assert status == expected_status and message in reply["error"], (status, reply, message)
    status, _ = exchange(server, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n")
    assert status == 200, "still serving"


def chromium_driver():
    """Headless Chromium through Selenium, or a skip naming what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the `browser` extra)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if not browser or not driver_path:
        pytest.skip("Chromium or chromedriver not found (Debian: apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver_path), options=options)


@pytest.mark.slow
def test_the_page_in_headless_chromium_inpaints_an_uploaded_photo_and_mask(server, tmp_path):
    """Upload a photo and a mask file, press Inpaint: the returned image is the photo's size, keeps the known
    pixels and fills the hole; no broken image before the run; the status line says what happened."""
    driver = chromium_driver()  # skips first when something is missing
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    photo, mask = photo_and_mask(60, 80)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    try:
        driver.set_page_load_timeout(30)
        driver.get(f"http://127.0.0.1:{server}/")
        assert not driver.find_element(By.ID, "out").is_displayed(), "no (broken) result image before a run"
        driver.find_element(By.ID, "file").send_keys(str(tmp_path / "photo.png"))
        WebDriverWait(driver, 20).until(lambda d: "loaded" in d.find_element(By.ID, "status").text)
        driver.find_element(By.ID, "maskfile").send_keys(str(tmp_path / "mask.png"))
        WebDriverWait(driver, 20).until(lambda d: "% hole" in d.find_element(By.ID, "status").text)
        driver.find_element(By.ID, "go").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "status").text.startswith(("Inpainted", "Failed")))
        status = driver.find_element(By.ID, "status").text
        assert status.startswith("Inpainted 80x60") and "telea" in status and " s " in status, status
        out = driver.find_element(By.ID, "out")
        assert out.is_displayed() and driver.execute_script("return arguments[0].naturalWidth", out) == 80
        result = np.asarray(decode_data_url(out.get_attribute("src")).convert("RGB"))
    finally:
        driver.quit()
    assert result.shape == photo.shape
    hole = mask > 0
    # the page sends the photo through a canvas (lossless PNG): known pixels come back unchanged
    assert np.array_equal(result[~hole], photo[~hole]) and np.abs(result[hole].astype(int) - photo[hole]).mean() > 5
