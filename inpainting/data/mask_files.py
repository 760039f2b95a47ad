"""Masks read from files (NVIDIA irregular masks, the papers' lists, Dunhuang), for training and evaluation.

Every file goes through the same steps: decode one channel (``io.load_mask_file``), fit to the image
(centre crop to the image's aspect ratio, cv2 resize), then ``MaskPolarity`` (threshold, reverse).
The official loaders resize with INTER_LINEAR and threshold at 0, so interpolation fringe becomes
hole; ``interpolation="nearest"`` is the documented alternative. A mask with no hole or no known
pixel after these steps is an error naming the file.
"""
from __future__ import annotations

import json
import math
import pathlib
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from inpainting.data.bins import bin_index
from inpainting.data.io import DataError, PathLike, load_mask_file
from inpainting.data.masks import MaskPolarity, hole_ratio
from inpainting.data.sources import IMAGE_EXTENSIONS, scan_image_files
from inpainting.utils.atomic import write_text

_INTERPOLATIONS = {"linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}


def fit_to(array: np.ndarray, height: int, width: int, interpolation: int) -> np.ndarray:
    """Centre crop ``array`` to the aspect ratio height:width, then resize it to (height, width)."""
    h, w = array.shape[:2]
    if h * width != w * height:
        crop_h, crop_w = (h, round(h * width / height)) if w * height > h * width else (round(w * height / width), w)
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        array = array[top:top + crop_h, left:left + crop_w]
    if array.shape[:2] != (height, width):
        array = cv2.resize(array, (width, height), interpolation=interpolation)
    return array


class MaskFiles:
    """An ordered set of mask files with their polarity; random masks for training, fixed ones for eval.

    Args:
        root: folder searched recursively (sorted; listed on first use), or ``None`` when ``paths`` is given.
        paths: explicit mask files (e.g. from a list file), used in this order.
        threshold, reverse: ``MaskPolarity`` (papers/NVIDIA test: 0, False; NVIDIA raw train: 0, True;
            Dunhuang: 100, True).
        interpolation: ``"linear"`` (official) or ``"nearest"`` for resizing masks to the image size.
        augment: training only: random rotation (up to ``max_rotation`` degrees), dilation (kernel up
            to ``max_dilation`` px), crop (side fraction in ``crop_range``) and flips, as NVIDIA
            advises for its raw training masks. Without it, training takes a random file as is (official).
    """

    def __init__(self, root: Optional[PathLike] = None, paths: Optional[Sequence[PathLike]] = None,
                 threshold: int = 0, reverse: bool = False, interpolation: str = "linear",
                 augment: bool = False, max_rotation: float = 45.0, max_dilation: int = 9,
                 crop_range: Tuple[float, float] = (0.5, 1.0), max_tries: int = 10) -> None:
        if (root is None) == (paths is None):
            raise ValueError("give exactly one of root (a mask folder) or paths (a list of mask files)")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {sorted(_INTERPOLATIONS)}, got {interpolation!r}")
        self.root = None if root is None else pathlib.Path(root)
        self._paths = None if root is not None else [pathlib.Path(p) for p in paths]
        if self._paths is not None and not self._paths:
            raise DataError("MaskFiles: the list of mask files is empty")
        self._skipped: list = []  # (path, reason) of links a folder scan left out, for inpaint-check-data
        self.polarity = MaskPolarity(int(threshold), bool(reverse))
        self.interpolation = interpolation
        self.augment, self.max_rotation, self.max_dilation = augment, float(max_rotation), int(max_dilation)
        self.crop_range = (float(crop_range[0]), float(crop_range[1]))
        self.max_tries = int(max_tries)

    @property
    def paths(self) -> List[pathlib.Path]:
        """The mask files; a ``root`` folder is listed on first use, so that a run which never draws
        these masks (e.g. testing only, without the training masks) does not need the folder."""
        if self._paths is None:
            if not self.root.is_dir():
                raise DataError(f"{self.root}: mask folder not found")
            paths, self._skipped = scan_image_files(self.root)
            if not paths:
                raise DataError(f"{self.root}: no mask files ({', '.join(IMAGE_EXTENSIONS)})")
            self._paths = paths
        return self._paths

    @property
    def skipped(self) -> list:
        """(path, reason) of what the folder scan left out (links that are broken or loop)."""
        _ = self.paths
        return self._skipped

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, path: PathLike, height: int, width: int) -> np.ndarray:
        """uint8 {0,1} hole mask of ``path`` fitted to (height, width); errors on all-known/all-hole."""
        raw = fit_to(load_mask_file(path), height, width, _INTERPOLATIONS[self.interpolation])
        return _check_not_degenerate(self.polarity.holes(raw), path)

    def ratios(self, height: int, width: int, cache_file: Optional[PathLike] = None) -> Dict[str, float]:
        """Measured hole ratio of every file at (height, width), keyed by path string.

        With ``cache_file`` (JSON), ratios measured before under the same size, polarity and
        interpolation are reused and new ones are added; scanning 12,000 masks takes a while.
        """
        key = {"height": height, "width": width, "threshold": self.polarity.threshold,
               "reverse": self.polarity.reverse, "interpolation": self.interpolation}
        cached: Dict[str, float] = {}
        if cache_file is not None and pathlib.Path(cache_file).is_file():
            stored = json.loads(pathlib.Path(cache_file).read_text())
            if stored.get("key") == key:
                cached = stored["ratios"]
        ratios = {str(p): cached[str(p)] if str(p) in cached else hole_ratio(self.load(p, height, width))
                  for p in self.paths}
        if cache_file is not None and len(cached) != len(ratios):
            pathlib.Path(cache_file).parent.mkdir(parents=True, exist_ok=True)
            write_text(cache_file, json.dumps({"key": key, "ratios": {**cached, **ratios}}))
        return ratios

    def binned(self, height: int, width: int, edges: Sequence[float],
               ratios: Optional[Dict[str, float]] = None) -> Tuple[List[List[str]], List[Tuple[str, float]]]:
        """Files per bin (sorted order) by MEASURED ratio at (height, width), and the (file, ratio) in no bin."""
        ratios = ratios if ratios is not None else self.ratios(height, width)
        bins: List[List[str]] = [[] for _ in range(len(edges) - 1)]
        outside = []
        for path in map(str, self.paths):
            b = bin_index(ratios[path], edges)
            if b >= 0:
                bins[b].append(path)
            else:
                outside.append((path, ratios[path]))
        return bins, outside

    def eval_mask(self, pair, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        """The fixed mask of an evaluation pair (``rng`` unused: file masks are not augmented for eval)."""
        return self.load(pair.mask_path, height, width)

    def __call__(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        """A training mask: a random file, augmented when ``augment`` is set."""
        path = self.paths[int(rng.integers(len(self.paths)))]
        if not self.augment:
            return self.load(path, height, width)
        holes = _check_not_degenerate(self.polarity.holes(load_mask_file(path)), path)
        for _ in range(self.max_tries):  # an augmentation can crop every hole away: draw it again
            mask = self._augment(holes, height, width, rng)
            if 0 < np.count_nonzero(mask) < mask.size:
                return mask
        raise DataError(f"{path}: {self.max_tries} augmentations in a row gave an all-known or all-hole mask")

    def _augment(self, holes: np.ndarray, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        h, w = holes.shape
        angle = rng.uniform(-self.max_rotation, self.max_rotation)
        rotation = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        mask = cv2.warpAffine(holes, rotation, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        kernel = int(rng.integers(1, self.max_dilation + 1))
        if kernel > 1:
            mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel)))
        side = rng.uniform(*self.crop_range)
        crop_h = max(1, math.floor(h * side))
        crop_w = min(w, max(1, round(crop_h * width / height)))  # keep the target aspect ratio
        top, left = int(rng.integers(0, h - crop_h + 1)), int(rng.integers(0, w - crop_w + 1))
        mask = cv2.resize(mask[top:top + crop_h, left:left + crop_w], (width, height), interpolation=cv2.INTER_NEAREST)
        if rng.random() < 0.5:
            mask = mask[:, ::-1]
        if rng.random() < 0.5:
            mask = mask[::-1]
        return np.ascontiguousarray(mask)


def _check_not_degenerate(mask: np.ndarray, path: PathLike) -> np.ndarray:
    holes = np.count_nonzero(mask)
    if holes == 0:
        raise DataError(f"{path}: mask has no hole pixels (all known) after thresholding")
    if holes == mask.size:
        raise DataError(f"{path}: mask is all hole (no known pixels) after thresholding")
    return mask


def paired_mask_files(images, mask_dir: PathLike, suffix: str = "_mask.jpg", **kwargs) -> MaskFiles:
    """Masks paired one-to-one with ``images`` by name: ``mask_dir/<image stem><suffix>``.

    The Dunhuang layout (``<split>/<id>_mask.jpg`` next to ``<split>_gt/<id>.jpg``); a missing mask
    is an error naming it. ``kwargs`` go to ``MaskFiles`` (Dunhuang: threshold=100, reverse=True).
    """
    mask_dir = pathlib.Path(mask_dir)
    paths = [mask_dir / f"{pathlib.Path(p).stem}{suffix}" for p in images.paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataError(f"{len(missing)} paired mask file(s) missing, e.g. {missing[0]}")
    return MaskFiles(paths=paths, **kwargs)
