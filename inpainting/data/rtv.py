"""StructureFlow's "structure" images: Relative Total Variation smoothing (Xu et al. 2012), and their cache.

:func:`rtv_smooth` ports ``scripts/matlab/code/tsmooth.m`` as ``generate_structure_images.m`` calls it
(lambda 0.015, sigma 3, sharpness 0.001, 3 iterations, no mask; docs/structureflow.md). Per iteration:

* texture weights from the current estimate ``x``: ``wto = 1 / max(mean_c sqrt(fx^2 + fy^2), sharpness)``
  (forward differences, zero past the last column/row) times ``1 / max(mean_c |d(G_s * x)|, 0.001)``
  in x and in y, ``G_s`` a separable Gaussian (MATLAB ``fspecial``, odd size ``round(5 s)``, zero
  padding); the weights of the last column (x) and last row (y) are 0;
* solve ``(I + (lambda/2) L_w) S = input`` per channel, ``L_w`` the 5-point weighted Laplacian;
* ``s`` halves, down to 0.5.

Deviation: MATLAB solves with PCG (relative tolerance 0.1, 100 iterations, modified incomplete Cholesky
preconditioner), which scipy cannot reproduce (no ``ichol``); here the system is solved exactly (a
sparse LU shared by the channels), as ``tsmooth.m`` itself does (``A\\b``) when ``ichol`` is missing.

Structure images are computed once (``inpaint-rtv``) and cached as 8-bit PNGs mirroring the images'
relative paths, next to a ``rtv_manifest.json`` with the parameters; :class:`RTVStructureImages`
serves ``[image, structure]`` pairs (6 channels) to the datasets, which split them into the batch's
``image`` and ``structure``; a missing or stale cache is a :class:`~inpainting.data.io.DataError` that
names the file and the command to run.
"""
from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np
import scipy.ndimage
import scipy.sparse
import scipy.sparse.linalg
from PIL import Image

from inpainting.data.io import DataError, load_image
from inpainting.data.sources import ImageList
from inpainting.utils.atomic import atomic_path, write_text

MANIFEST = "rtv_manifest.json"
CACHE_VERSION = 1


@dataclass(frozen=True)
class RTVParams:
    """``tsmooth(I, lambda, sigma, sharpness, maxIter)`` as StructureFlow's script calls it."""

    lam: float = 0.015
    sigma: float = 3.0
    sharpness: float = 0.001
    iterations: int = 3


def _matlab_round(x: float) -> int:
    return int(np.floor(x + 0.5))  # half away from zero for x >= 0 (Python's round is half-to-even)


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``conv2(conv2(im, g, 'same'), g', 'same')`` per channel, ``g = fspecial('gaussian', [1, ksize], sigma)``."""
    size = _matlab_round(5 * sigma) | 1
    taps = np.arange(size) - (size - 1) / 2
    g = np.exp(-taps**2 / (2 * sigma**2))
    g /= g.sum()
    out = scipy.ndimage.correlate1d(image, g, axis=1, mode="constant")
    return scipy.ndimage.correlate1d(out, g, axis=0, mode="constant")


def _forward_differences(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fx = np.zeros_like(image)
    fy = np.zeros_like(image)
    fx[:, :-1] = image[:, 1:] - image[:, :-1]
    fy[:-1] = image[1:] - image[:-1]
    return fx, fy


def _texture_weights(x: np.ndarray, sigma: float, sharpness: float) -> tuple[np.ndarray, np.ndarray]:
    channels = x.shape[2]
    fx, fy = _forward_differences(x)
    wto = 1.0 / np.maximum(np.sqrt(fx**2 + fy**2).sum(2) / channels, sharpness)
    gfx, gfy = _forward_differences(_gaussian_blur(x, sigma))
    wx = wto / np.maximum(np.abs(gfx).sum(2) / channels, 0.001)
    wy = wto / np.maximum(np.abs(gfy).sum(2) / channels, 0.001)
    wx[:, -1] = 0
    wy[-1, :] = 0
    return wx, wy


def _solve(image: np.ndarray, wx: np.ndarray, wy: np.ndarray, lam: float) -> np.ndarray:
    """``(I + lam L_w) S = image``: pixel (r, c) couples to (r, c+1) with ``wx`` and to (r+1, c) with ``wy``."""
    h, w, channels = image.shape
    n = h * w
    ex = (lam * wx).ravel()  # row-major: the right neighbour is +1, the one below is +w
    ey = (lam * wy).ravel()
    diag = 1.0 + ex + ey
    diag[1:] += ex[:-1]
    diag[w:] += ey[:-w]
    off = scipy.sparse.diags([-ex[:-1], -ey[:-w]], [1, w], shape=(n, n))
    system = (off + off.T + scipy.sparse.diags(diag)).tocsc()
    lu = scipy.sparse.linalg.splu(system, permc_spec="MMD_AT_PLUS_A")  # symmetric ordering: ~1.5x faster
    return lu.solve(image.reshape(n, channels)).reshape(h, w, channels)


def rtv_smooth(image: np.ndarray, params: RTVParams = RTVParams()) -> np.ndarray:
    """Structure image of ``image`` (uint8 or float in [0, 1], (H, W) or (H, W, C)); float64, same shape."""
    data = np.asarray(image)
    data = data / 255.0 if data.dtype == np.uint8 else data.astype(np.float64)
    gray = data.ndim == 2
    if gray:
        data = data[:, :, None]
    x, sigma = data, params.sigma
    for _ in range(params.iterations):
        wx, wy = _texture_weights(x, sigma, params.sharpness)
        x = _solve(data, wx, wy, params.lam / 2)
        sigma = max(sigma / 2, 0.5)
    return x[:, :, 0] if gray else x


def to_uint8(image: np.ndarray) -> np.ndarray:
    """What MATLAB's ``imwrite`` stores for a double image: clip to [0, 1], round to 8 bits."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _common_folder(images: ImageList) -> pathlib.Path:
    return pathlib.Path(os.path.commonpath([str(p.parent.resolve()) for p in images.paths]))


def default_cache_dir(images: ImageList) -> pathlib.Path:
    """Beside the dataset: ``<common folder of the images>_rtv``."""
    root = _common_folder(images)
    return root.parent / f"{root.name}_rtv"


class RTVStructureImages(ImageList):
    """``images`` with their cached RTV structure images: ``load(i)`` is ``[RGB, structure RGB]`` (H, W, 6).

    Args:
        images: the image source (any :class:`ImageList`).
        cache_dir: the cache folder (default: :func:`default_cache_dir`).
        params: RTV parameters; the cache must have been computed with the same ones.
    The structure file of image ``p`` is ``<cache folder> / p.relative_to(common folder)`` with suffix
    ``.png``, the cache folder being ``cache_dir / <common folder's name>`` or, by default, the common
    folder's sibling ``<name>_rtv``. Missing files, other parameters, or an image newer than its structure are errors.
    """

    def __init__(self, images: ImageList, cache_dir: Optional[str | os.PathLike] = None,
                 params: Optional[RTVParams | dict] = None) -> None:
        super().__init__(images.paths, images.names)
        self.source = images
        self.params = RTVParams(**params) if isinstance(params, Mapping) else (params or RTVParams())
        self.root = _common_folder(images)
        # one folder per split root, so train/ and val/ files with the same name never collide
        self.cache_dir = (pathlib.Path(cache_dir) / self.root.name if cache_dir is not None
                          else default_cache_dir(images))
        self._checked_manifest = False

    def structure_path(self, index: int) -> pathlib.Path:
        return (self.cache_dir / self.paths[index].resolve().relative_to(self.root)).with_suffix(".png")

    def manifest(self) -> dict:
        return {"version": CACHE_VERSION, "params": asdict(self.params)}

    def _check_manifest(self) -> None:
        path = self.cache_dir / MANIFEST
        hint = "compute it with `inpaint-rtv <the same config overrides>`"
        if not path.is_file():
            raise DataError(f"RTV structure cache missing: {path} does not exist; {hint}")
        found = json.loads(path.read_text())
        if found != self.manifest():
            raise DataError(f"RTV structure cache {self.cache_dir} is stale: it was computed with {found}, "
                            f"the config asks for {self.manifest()}; recompute it with `inpaint-rtv ... force=true`")
        self._checked_manifest = True

    def is_fresh(self, index: int) -> bool:
        structure = self.structure_path(index)
        return structure.is_file() and structure.stat().st_mtime >= self.paths[index].stat().st_mtime

    def load_structure(self, index: int) -> np.ndarray:
        if not self._checked_manifest:
            self._check_manifest()
        structure = self.structure_path(index)
        if not structure.is_file():
            raise DataError(f"RTV structure image missing: {structure} (for {self.paths[index]}); compute the cache "
                            f"with `inpaint-rtv <the same config overrides>`")
        if not self.is_fresh(index):
            raise DataError(f"RTV structure image {structure} is older than its image {self.paths[index]}; "
                            f"rerun `inpaint-rtv` to refresh it")
        return load_image(structure)

    def load(self, index: int) -> np.ndarray:
        image, structure = self.source.load(index), self.load_structure(index)
        if structure.shape != image.shape:
            raise DataError(f"RTV structure image {self.structure_path(index)} is {structure.shape[:2]}, its image "
                            f"{self.paths[index]} is {image.shape[:2]}; rerun `inpaint-rtv ... force=true`")
        return np.concatenate([image, structure], axis=2)

    # -- filling the cache (inpaint-rtv) ------------------------------------------------------------
    def start_cache(self, force: bool = False) -> None:
        """Create the folder and manifest; other parameters in an existing manifest need ``force``."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self.cache_dir / MANIFEST
        if path.is_file() and json.loads(path.read_text()) != self.manifest() and not force:
            raise DataError(f"{path} holds other RTV parameters ({path.read_text().strip()}); pass force=true to "
                            f"recompute every structure image with {self.manifest()}")
        write_text(path, json.dumps(self.manifest()))
        self._checked_manifest = False

    def compute(self, index: int) -> pathlib.Path:
        """Smooth image ``index`` and write its structure PNG atomically (a crash never leaves half a file)."""
        target = self.structure_path(index)
        target.parent.mkdir(parents=True, exist_ok=True)
        structure = to_uint8(rtv_smooth(self.source.load(index), self.params))
        with atomic_path(target) as tmp:
            Image.fromarray(structure).save(tmp, format="PNG")
        return target


def rtv_structures(cache_dir: Optional[str] = None, params: Optional[dict] = None):
    """The ``data.structures`` hook: wraps each split's images in :class:`RTVStructureImages`."""
    def wrap(images: ImageList) -> RTVStructureImages:
        return RTVStructureImages(images, cache_dir, params)
    return wrap
