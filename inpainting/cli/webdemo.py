"""A local web page to draw a mask on a photo and inpaint it: ``inpaint-webdemo [--model NAME=SOURCE ...]``.

Open http://127.0.0.1:7860 (``--port``), pick a photo, paint the hole with the mouse, press Inpaint.
Models: the classical methods (telea, ns, biharmonic) are always offered; add runs of ours or authors'
files with ``--model demo=outputs/demo/runs/<stamp>`` and ``--model misf=places2_gen.pth --official misf=misf``.
Standard library HTTP server only (no extra dependency), bound to localhost; models load on first use
through :func:`inpainting.load_model`, so the page inpaints exactly as ``inpaint-predict`` does.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from inpainting.api import OFFICIAL_KINDS, Inpainter, load_model
from inpainting.eval.classical import CLASSICAL_SOURCES

log = logging.getLogger(__name__)
MAX_SIDE = 1024  # larger photos are refused: the page scales photos down to at most 512 px anyway

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>inpainting demo</title>
<style>body{font-family:sans-serif;margin:1em}canvas{border:1px solid #888;cursor:crosshair}
#stack{position:relative;display:inline-block}#stack canvas{position:absolute;left:0;top:0}
#out{border:1px solid #888;vertical-align:top}</style></head><body>
<h3>Draw the hole, then inpaint</h3>
<p><input type="file" id="file" accept="image/*"> model <select id="model">__OPTIONS__</select>
brush <input type="range" id="brush" min="4" max="60" value="20"> <button id="clear">clear mask</button>
<button id="go">Inpaint</button> <span id="status"></span></p>
<div id="stack"><canvas id="photo" width="256" height="256"></canvas><canvas id="paint" width="256" height="256"></canvas></div>
<img id="out" width="256">
<script>
const photo=document.getElementById('photo'),paint=document.getElementById('paint'),stack=document.getElementById('stack');
const pc=photo.getContext('2d'),mc=paint.getContext('2d');let down=false;
function size(w,h){for(const c of [photo,paint]){c.width=w;c.height=h;}stack.style.width=w+'px';stack.style.height=h+'px';}
size(256,256);
document.getElementById('file').onchange=e=>{const img=new Image();img.onload=()=>{const s=Math.min(1,512/Math.max(img.width,img.height));
 size(Math.round(img.width*s),Math.round(img.height*s));pc.drawImage(img,0,0,photo.width,photo.height);};img.src=URL.createObjectURL(e.target.files[0]);};
function dot(e){const r=paint.getBoundingClientRect();mc.fillStyle='rgba(255,255,255,1)';mc.beginPath();
 mc.arc(e.clientX-r.left,e.clientY-r.top,document.getElementById('brush').value/2,0,7);mc.fill();}
paint.onmousedown=e=>{down=true;dot(e)};paint.onmousemove=e=>{if(down)dot(e)};window.onmouseup=()=>down=false;
document.getElementById('clear').onclick=()=>mc.clearRect(0,0,paint.width,paint.height);
document.getElementById('go').onclick=async()=>{const m=document.createElement('canvas');m.width=paint.width;m.height=paint.height;
 const c=m.getContext('2d');c.fillStyle='black';c.fillRect(0,0,m.width,m.height);c.drawImage(paint,0,0);
 document.getElementById('status').textContent='working...';
 const r=await fetch('inpaint',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(
  {model:document.getElementById('model').value,image:photo.toDataURL('image/png'),mask:m.toDataURL('image/png')})});
 const j=await r.json();document.getElementById('status').textContent=j.error||j.description;if(j.image)document.getElementById('out').src=j.image;};
</script></body></html>"""


def decode_data_url(url: str) -> Image.Image:
    """``data:image/png;base64,...`` (or bare base64) -> decoded PIL image."""
    payload = url.split(",", 1)[1] if url.startswith("data:") else url
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    image.load()
    return image


def encode_png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class WebDemo:
    """Named models (loaded on first use) and the request function behind the page."""

    def __init__(self, models: dict[str, str] | None = None, official: dict[str, str] | None = None, device: str = "auto"):
        self.sources = {name: name for name in ("telea", "ns", "biharmonic")}
        self.sources.update(models or {})
        self.official = dict(official or {})
        unknown = sorted(set(self.official) - set(self.sources))
        if unknown:
            raise ValueError(f"--official given for unknown model name(s) {unknown}; names: {sorted(self.sources)}")
        self.device = device
        self._loaded: dict[str, Inpainter] = {}
        self._lock = threading.Lock()

    def model(self, name: str) -> Inpainter:
        if name not in self.sources:
            raise KeyError(f"unknown model {name!r}; choose one of {sorted(self.sources)}")
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = load_model(self.sources[name], self.official.get(name), self.device)
            return self._loaded[name]

    def page(self) -> str:
        options = "".join(f'<option value="{n}">{n}</option>' for n in sorted(self.sources, key=lambda n: n in CLASSICAL_SOURCES))
        return PAGE.replace("__OPTIONS__", options)

    def inpaint(self, request: dict) -> dict:
        """``{"model", "image", "mask"}`` (data URLs; mask white = hole) -> ``{"image", "description"}``
        or ``{"error"}``. The result is the composite at the photo's size."""
        try:
            image, mask = decode_data_url(request["image"]), decode_data_url(request["mask"])
            if max(image.size) > MAX_SIDE:
                raise ValueError(f"image of {image.size[0]}x{image.size[1]} is larger than {MAX_SIDE} px")
            model = self.model(str(request.get("model", "telea")))
            result = model(image, mask)
        except (KeyError, ValueError, OSError, FileNotFoundError) as error:
            return {"error": f"{type(error).__name__}: {error}"}
        return {"image": encode_png(result), "description": model.description}


def make_server(app: WebDemo, host: str = "127.0.0.1", port: int = 7860) -> ThreadingHTTPServer:
    """An HTTP server for ``app``: GET / is the page, POST /inpaint the request function (JSON)."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path in ("/", "/index.html"):
                self._send(200, app.page().encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self):  # noqa: N802
            if self.path != "/inpaint":
                return self._send(404, b"not found", "text/plain")
            length = int(self.headers.get("Content-Length", 0))
            try:
                request = json.loads(self.rfile.read(length))
            except json.JSONDecodeError as error:
                return self._send(400, json.dumps({"error": f"bad JSON: {error}"}).encode(), "application/json")
            self._send(200, json.dumps(app.inpaint(request)).encode(), "application/json")

        def log_message(self, format, *args):  # noqa: A002 - quiet: one log line per request
            log.info("%s %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise SystemExit(f"inpaint-webdemo: {what} {value!r}: expected NAME=VALUE")
        pairs[name] = rest
    return pairs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="inpaint-webdemo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", default=[], metavar="NAME=SOURCE",
                        help="a run folder / .ckpt of ours or an authors' file, shown as NAME (repeatable)")
    parser.add_argument("--official", action="append", default=[], metavar="NAME=KIND",
                        help=f"read model NAME as an authors' file of this kind ({', '.join(OFFICIAL_KINDS)})")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present) | cpu | cuda | cuda:1 ...")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = WebDemo(_pairs(args.model, "--model"), _pairs(args.official, "--official"), args.device)
    server = make_server(app, args.host, args.port)
    print(f"inpaint-webdemo: open http://{args.host}:{server.server_address[1]}/  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
