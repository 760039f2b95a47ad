"""Classical inpainting baselines with the framework's calling convention.

Each baseline is a callable ``(image, mask) -> pred``: ``image`` (B,3,H,W) float in [0,1], ``mask``
(B,1,H,W) with 1 = hole; ``pred`` (B,3,H,W) float in [0,1] on the input's device. The hole pixels
are zeroed before a baseline sees them, so no ground truth can leak into a score.
:class:`inpainting.nets.classical.ClassicalInpainter` wraps one as a network adapter (JPGNet's DGNet).
"""
from __future__ import annotations

import functools
from typing import Callable, Sequence

import cv2
import numpy as np
import torch
from skimage.restoration import inpaint_biharmonic

from inpainting.utils.shapes import check_image_mask

Inpainter = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _per_image(image: torch.Tensor, mask: torch.Tensor, fill: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> torch.Tensor:
    """Run ``fill(hwc_float_image_with_zeroed_holes, hw_bool_hole)`` per image; returns (B,3,H,W) in [0,1]."""
    check_image_mask(image, mask, "classical inpainting")
    holes = mask.detach().cpu() > 0.5
    known = (image.detach().cpu().float() * ~holes).clamp(0, 1)
    outputs = [
        torch.from_numpy(np.ascontiguousarray(fill(known[i].permute(1, 2, 0).numpy(), holes[i, 0].numpy())))
        for i in range(image.shape[0])
    ]
    return torch.stack(outputs).permute(0, 3, 1, 2).float().clamp(0, 1).to(image.device)


def _opencv(flag: int, radius: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def fill(known: np.ndarray, hole: np.ndarray) -> np.ndarray:
        u8 = np.round(known * 255).astype(np.uint8)
        return cv2.inpaint(u8, hole.astype(np.uint8) * 255, radius, flag).astype(np.float32) / 255

    return fill


def telea(image: torch.Tensor, mask: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """OpenCV fast-marching inpainting (Telea 2004), neighbourhood ``radius`` in pixels."""
    return _per_image(image, mask, _opencv(cv2.INPAINT_TELEA, radius))


def navier_stokes(image: torch.Tensor, mask: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """OpenCV Navier-Stokes based inpainting (Bertalmio et al. 2001), neighbourhood ``radius`` in pixels."""
    return _per_image(image, mask, _opencv(cv2.INPAINT_NS, radius))


def biharmonic(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """scikit-image biharmonic inpainting, channels solved independently."""
    return _per_image(image, mask, lambda known, hole: inpaint_biharmonic(known.astype(np.float64), hole, channel_axis=-1))


def _patchmatch_library():
    """The ``pypatchmatch`` module (optional extra), or an error that says how to install it."""
    try:
        import patchmatch
    except ImportError:
        raise ImportError("the PatchMatch method needs the pypatchmatch package: pip install 'pfinpaint[patchmatch]'") from None
    return patchmatch


def patch_match(image: torch.Tensor, mask: torch.Tensor, patch_size: int = 3, seed: int = 0) -> torch.Tensor:
    """PatchMatch inpainting (Barnes et al. 2009; the ``pypatchmatch`` wheel): copies patches of
    ``2 * patch_size + 1`` pixels from the known region into the holes, so it keeps real texture where
    Telea and Navier-Stokes blur. Its randomised search starts from ``seed`` for every image (same input,
    same output). Needs the optional extra: ``pip install 'pfinpaint[patchmatch]'``."""
    library = _patchmatch_library()

    def fill(known: np.ndarray, hole: np.ndarray) -> np.ndarray:
        library.set_random_seed(seed)
        u8 = np.ascontiguousarray(np.round(known * 255).astype(np.uint8))
        return library.inpaint(u8, hole.astype(np.uint8), patch_size=patch_size).astype(np.float32) / 255

    return _per_image(image, mask, fill)


def empty_holes(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The "Input" row of the tables: holes left empty (zeros), so the composite is ``image * (1 - mask)``."""
    check_image_mask(image, mask, "classical inpainting")
    return torch.zeros_like(image)


CLASSICAL_METHODS: dict[str, Inpainter] = {
    "input": empty_holes,
    "telea": telea,
    "navier_stokes": navier_stokes,
    "biharmonic": biharmonic,
    "patchmatch": patch_match,
}


# how each method is called as a row of the test tables
CLASSICAL_ROW_NAMES = {"telea": "Telea", "navier_stokes": "Navier-Stokes", "biharmonic": "Biharmonic",
                       "patchmatch": "PatchMatch"}
# the names that select one as a model (load_model("ns"), inpaint-predict model.source=telea) -> its method
CLASSICAL_SOURCES = {**{name: name for name in CLASSICAL_ROW_NAMES}, "ns": "navier_stokes"}


def classical_rows(methods: Sequence[str], key: str) -> dict[str, str]:
    """``{row name: method}`` of the classical methods a config option ``key`` names (e.g. ``[telea]`` ->
    ``{"Telea": "telea"}``); an unknown name is an error naming ``key`` and the choices."""
    unknown = sorted(set(methods) - set(CLASSICAL_ROW_NAMES))
    if unknown:
        raise ValueError(f"unknown {key} {unknown}; choose from {sorted(CLASSICAL_ROW_NAMES)}")
    if "patchmatch" in methods:
        _patchmatch_library()  # when the run starts, not at its test after training
    return {CLASSICAL_ROW_NAMES[name]: name for name in methods}


def classical_inpainter(name: str, **kwargs) -> Inpainter:
    """The baseline called ``name`` (one of ``CLASSICAL_METHODS``) with its options bound, e.g. ``radius=5``."""
    if name not in CLASSICAL_METHODS:
        raise ValueError(f"unknown classical inpainter {name!r}; choose from {sorted(CLASSICAL_METHODS)}")
    if name == "patchmatch":
        _patchmatch_library()  # fail when the method is chosen, not at its first batch
    method = CLASSICAL_METHODS[name]
    return functools.partial(method, **kwargs) if kwargs else method  # picklable: DataLoader workers call it
