"""A local web page to draw a mask on a photo and inpaint it: ``inpaint-webdemo [models={NAME:SOURCE,...}]``.

A Hydra app (``conf/webdemo.yaml``; ``--help`` lists its options). Open http://127.0.0.1:7860 (``port``), pick a photo, paint the hole with the mouse or load a mask file
(white = hole), press Inpaint. Photos larger than ``MAX_SIDE`` are scaled down by the page, which says so;
the result is shown at its native size with a status line (what ran, the hole, how long it took).
Models: the classical methods (telea, ns, biharmonic) are always offered; add runs of ours or authors'
files with ``models={demo:outputs/demo/runs/<stamp>}`` and ``models={misf:places2_gen.pth} official={misf:misf}``.
Standard library HTTP server only (no extra dependency), bound to localhost; models load on first use
through :func:`inpainting.load_model`, so the page inpaints exactly as ``inpaint-predict`` does.
Limits: bodies of at most ``MAX_BODY`` bytes with a valid Content-Length, ``TIMEOUT_S`` per read, images of
at most ``MAX_SIDE`` px a side (checked from the header, before decoding); every bad request is answered
with a 4xx status and ``{"error": message}``.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from inpainting.api import Inpainter, load_model
from inpainting.cli.common import CONFIG_DIR
from inpainting.eval.classical import CLASSICAL_SOURCES

log = logging.getLogger(__name__)
MAX_SIDE = 1024  # the page scales larger photos down to this (and says so); the server refuses larger ones
MAX_BODY = 32 * 1024 * 1024  # bytes of one request body (two PNG data URLs of MAX_SIDE px fit easily)
TIMEOUT_S = 30.0  # a request whose body does not arrive within this is answered 408


class RequestError(Exception):
    """A request the server refuses: the HTTP status and the message sent back as ``{"error": ...}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>inpainting demo</title>
<style>body{font-family:sans-serif;margin:1em}canvas{border:1px solid #888;cursor:crosshair}
#stack{position:relative;display:inline-block;vertical-align:top}#stack canvas{position:absolute;left:0;top:0}
#out{border:1px solid #888;vertical-align:top;max-width:none}#status{font-weight:bold}</style></head><body>
<h3>Load a photo, draw the hole (or load a mask file: white = hole), then inpaint</h3>
<p>photo <input type="file" id="file" accept="image/*"> mask <input type="file" id="maskfile" accept="image/*">
model <select id="model">__OPTIONS__</select>
brush <input type="range" id="brush" min="4" max="60" value="20"> <button id="clear">clear mask</button>
<button id="go">Inpaint</button></p>
<p id="status">Load a photo to start. Photos larger than __MAX_SIDE__ px are scaled down to fit (the page says so).</p>
<div id="stack"><canvas id="photo" width="256" height="256"></canvas><canvas id="paint" width="256" height="256"></canvas></div>
<img id="out" alt="result" hidden>
<script>
const MAX_SIDE=__MAX_SIDE__;
const $=id=>document.getElementById(id);
const photo=$('photo'),paint=$('paint'),stack=$('stack'),status=$('status');
const pc=photo.getContext('2d'),mc=paint.getContext('2d');let down=false,loaded=false,scaleNote='';
function size(w,h){for(const c of [photo,paint]){c.width=w;c.height=h;}stack.style.width=w+'px';stack.style.height=h+'px';}
size(256,256);
function readImage(file,then){const img=new Image();img.onload=()=>then(img);
 img.onerror=()=>{status.textContent=file.name+': not an image this browser can read';};img.src=URL.createObjectURL(file);}
$('file').onchange=e=>readImage(e.target.files[0],img=>{const s=Math.min(1,MAX_SIDE/Math.max(img.width,img.height));
 const w=Math.round(img.width*s),h=Math.round(img.height*s);size(w,h);pc.drawImage(img,0,0,w,h);loaded=true;$('out').hidden=true;
 scaleNote=s<1?' Photo scaled from '+img.width+'x'+img.height+' to '+w+'x'+h+' (the most this page sends is '+MAX_SIDE+' px).':'';
 status.textContent='Photo '+w+'x'+h+' loaded.'+scaleNote+' Draw the hole or load a mask.';});
$('maskfile').onchange=e=>readImage(e.target.files[0],img=>{
 const t=document.createElement('canvas');t.width=paint.width;t.height=paint.height;const tc=t.getContext('2d');
 tc.drawImage(img,0,0,t.width,t.height);const d=tc.getImageData(0,0,t.width,t.height),p=d.data;let holes=0;
 for(let i=0;i<p.length;i+=4){const hole=(p[i]+p[i+1]+p[i+2])/3>127;p[i]=p[i+1]=p[i+2]=255;p[i+3]=hole?255:0;holes+=hole;}
 mc.putImageData(d,0,0);
 status.textContent='Mask '+img.width+'x'+img.height+(img.width!=t.width||img.height!=t.height?' scaled to '+t.width+'x'+t.height:'')+
  ': '+(100*holes/(t.width*t.height)).toFixed(1)+'% hole.';});
function dot(e){const r=paint.getBoundingClientRect();mc.fillStyle='rgba(255,255,255,1)';mc.beginPath();
 mc.arc(e.clientX-r.left,e.clientY-r.top,$('brush').value/2,0,7);mc.fill();}
paint.onmousedown=e=>{down=true;dot(e)};paint.onmousemove=e=>{if(down)dot(e)};window.onmouseup=()=>down=false;
$('clear').onclick=()=>mc.clearRect(0,0,paint.width,paint.height);
$('go').onclick=async()=>{if(!loaded){status.textContent='Load a photo first.';return;}
 const m=document.createElement('canvas');m.width=paint.width;m.height=paint.height;
 const c=m.getContext('2d');c.fillStyle='black';c.fillRect(0,0,m.width,m.height);c.drawImage(paint,0,0);
 const model=$('model').value;status.textContent='Inpainting with '+model+'...';const t0=performance.now();
 try{const r=await fetch('inpaint',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(
  {model:model,image:photo.toDataURL('image/png'),mask:m.toDataURL('image/png')})});
  const j=await r.json();const secs=((performance.now()-t0)/1000).toFixed(2);
  if(j.error){status.textContent='Failed ('+r.status+'): '+j.error;return;}
  $('out').src=j.image;$('out').hidden=false;
  status.textContent='Inpainted '+j.width+'x'+j.height+' ('+j.hole_percent.toFixed(1)+'% hole) with '+j.description+' in '+
   j.seconds.toFixed(2)+' s ('+secs+' s with the transfer); result at its native size, on the right.'+scaleNote;
 }catch(err){status.textContent='Failed: '+err;}};
</script></body></html>"""


def decode_data_url(url: str, max_side: int | None = None) -> Image.Image:
    """``data:image/png;base64,...`` (or bare base64) -> decoded PIL image. ``max_side``: a larger image is refused
    from its header, before its pixels are decoded."""
    if not isinstance(url, str):
        raise RequestError(400, f"an image must be a data URL string, got {type(url).__name__}")
    payload = url.split(",", 1)[1] if url.startswith("data:") else url
    try:
        image = Image.open(io.BytesIO(base64.b64decode(payload, validate=True)))
    except (binascii.Error, ValueError) as error:
        raise RequestError(400, f"not base64 image data: {error}") from error
    except Image.DecompressionBombError as error:  # Pillow's own limit, also checked from the header
        raise RequestError(413, f"image larger than {max_side or MAX_SIDE} px on a side ({error})") from error
    except OSError as error:
        raise RequestError(400, f"not an image Pillow can read: {error}") from error
    if max_side is not None and max(image.size) > max_side:
        raise RequestError(413, f"image of {image.size[0]}x{image.size[1]} is larger than {max_side} px on a side")
    try:
        image.load()
    except (OSError, ValueError) as error:
        raise RequestError(400, f"a broken image: {error}") from error
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
            raise ValueError(f"official= given for unknown model name(s) {unknown}; names: {sorted(self.sources)}")
        self.device = device
        self._loaded: dict[str, Inpainter] = {}
        self._lock = threading.Lock()

    def model(self, name: str) -> Inpainter:
        if name not in self.sources:
            raise RequestError(400, f"unknown model {name!r}; choose one of {sorted(self.sources)}")
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = load_model(self.sources[name], self.official.get(name), self.device)
            return self._loaded[name]

    def page(self) -> str:
        options = "".join(f'<option value="{n}">{n}</option>' for n in sorted(self.sources, key=lambda n: n in CLASSICAL_SOURCES))
        return PAGE.replace("__OPTIONS__", options).replace("__MAX_SIDE__", str(MAX_SIDE))

    def inpaint(self, request: object) -> dict:
        """``{"model", "image", "mask"}`` (data URLs; mask white = hole) -> ``{"image", "description", "width",
        "height", "hole_percent", "seconds"}``: the composite at the photo's size. Raises :class:`RequestError`."""
        if not isinstance(request, dict):
            raise RequestError(400, f"the body must be a JSON object {{model, image, mask}}, got {type(request).__name__}")
        missing = [key for key in ("image", "mask") if key not in request]
        if missing:
            raise RequestError(400, f"missing {' and '.join(map(repr, missing))}: the body is {{model, image, mask}}")
        started = time.perf_counter()
        image, mask = decode_data_url(request["image"], MAX_SIDE), decode_data_url(request["mask"], MAX_SIDE)
        model = self.model(str(request.get("model", "telea")))
        try:
            result = model(image, mask)
        except (ValueError, OSError) as error:
            raise RequestError(422, f"{type(error).__name__}: {error}") from error
        hole = (np.asarray(mask.convert("L").resize(image.size, Image.NEAREST)) > 127).mean()
        return {"image": encode_png(result), "description": model.description, "width": result.width,
                "height": result.height, "hole_percent": 100 * float(hole), "seconds": time.perf_counter() - started}


def read_body(headers, stream, max_body: int) -> bytes:
    """The request body, bounded: Content-Length must be a non-negative integer of at most ``max_body``; a body
    shorter than announced ends in the socket's timeout (408)."""
    declared = headers.get("Content-Length")
    if declared is None:
        raise RequestError(411, "Content-Length is required")
    if not declared.strip().isdigit():
        raise RequestError(400, f"Content-Length {declared!r} is not a non-negative integer")
    length = int(declared)
    if length > max_body:
        raise RequestError(413, f"a body of {length} bytes is over the limit of {max_body}")
    try:
        body = stream.read(length)
    except TimeoutError as error:
        raise RequestError(408, f"the body did not arrive in time ({length} bytes announced)") from error
    if len(body) < length:
        raise RequestError(400, f"the body ended after {len(body)} of {length} announced bytes")
    return body


def make_server(app: WebDemo, host: str = "127.0.0.1", port: int = 7860, max_body: int = MAX_BODY,
                timeout: float = TIMEOUT_S) -> ThreadingHTTPServer:
    """An HTTP server for ``app``: GET / is the page, POST /inpaint the request function (JSON). Every request
    gets an answer: bad ones a 4xx status with ``{"error": message}``."""

    class Handler(BaseHTTPRequestHandler):
        def setup(self):
            self.timeout = timeout  # socket timeout for every read of this connection
            super().setup()

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status >= 400:
                self.send_header("Connection", "close")  # the rest of a refused body is never read
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def _send_json(self, status: int, reply: dict) -> None:
            self._send(status, json.dumps(reply).encode(), "application/json")

        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path in ("/", "/index.html"):
                self._send(200, app.page().encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self):  # noqa: N802
            if self.path != "/inpaint":
                return self._send_json(404, {"error": f"no such endpoint {self.path!r}; POST /inpaint"})
            try:
                body = read_body(self.headers, self.rfile, max_body)
                try:
                    request = json.loads(body)
                except (json.JSONDecodeError, UnicodeDecodeError) as error:
                    raise RequestError(400, f"bad JSON: {error}") from error
                reply = app.inpaint(request)
            except RequestError as error:
                return self._send_json(error.status, {"error": str(error)})
            except Exception as error:  # a bug or a model failure: still an answer, and the log has the trace
                log.exception("request failed")
                return self._send_json(500, {"error": f"{type(error).__name__}: {error}"})
            self._send_json(200, reply)

        def log_message(self, format, *args):  # noqa: A002 - quiet: one log line per request
            log.info("%s %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="webdemo")
def main(cfg: DictConfig) -> None:
    """Console entry point (``inpaint-webdemo``): serve until Ctrl-C."""
    app = WebDemo(_names(cfg.models, "models"), _names(cfg.official, "official"), cfg.device)
    server = make_server(app, cfg.host, cfg.port)
    print(f"inpaint-webdemo: open http://{cfg.host}:{server.server_address[1]}/  (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _names(node, key: str) -> dict[str, str]:
    """``{NAME: value}`` from the mapping option ``key`` (``models={demo:<run>}``; null: none), values as strings."""
    if node is None:
        return {}
    if not isinstance(node, DictConfig):
        raise SystemExit(f"inpaint-webdemo: {key}={node!r}: expected a mapping {{NAME:value,...}}")
    return {str(name): str(value) for name, value in OmegaConf.to_container(node).items()}


if __name__ == "__main__":
    main()
