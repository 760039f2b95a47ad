"""Image geometry (crop/resize), joint flips and conversion to the framework's tensors."""
from __future__ import annotations

import numbers
from typing import Optional, Tuple

import cv2
import numpy as np
import torch

from inpainting.data.io import DataError

PREPROCESS_MODES = ("official", "crop")
SMALL_IMAGE_RULES = ("upscale", "error")
MAX_UPSCALE = 4  # inpaint-check-data flags images blown up more (CelebA's 178 px at 512 is 2.9x)
MAX_ASPECT = 4  # ... and strips longer than this to one


def center_crop_square(array: np.ndarray) -> np.ndarray:
    """Centre crop to a square of the shorter side (official loaders, when H != W)."""
    height, width = array.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return array[top:top + side, left:left + side]


def _cv2_resize(array: np.ndarray, height: int, width: int, interpolation: int) -> np.ndarray:
    """``cv2.resize``, also for images with more than 4 channels (an image stacked with its structure),
    which cv2 only takes up to 4 at a time."""
    if array.ndim == 3 and array.shape[2] > 4:
        return np.concatenate([_cv2_resize(array[:, :, i:i + 3], height, width, interpolation)
                               for i in range(0, array.shape[2], 3)], axis=2)
    return cv2.resize(array, (width, height), interpolation=interpolation)


def resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize with cv2: INTER_AREA when shrinking both sides (avoids aliasing), else INTER_LINEAR."""
    shrinking = height <= array.shape[0] and width <= array.shape[1]
    return _cv2_resize(array, height, width, cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


class Preprocess:
    """Turns a decoded RGB image into a ``size`` x ``size`` one.

    ``mode="official"`` (default, docs/authors-code.md#misf-data): centre crop to the shorter side, then cv2
    INTER_LINEAR resize to ``size``; no randomness, identical for train and eval.
    ``mode="crop"``: optionally resize so the shorter side is ``resize_short``, then take a
    ``size`` crop at a position drawn from ``rng`` (random for training; for evaluation the rng is
    seeded per pair, so the crop is fixed). An image whose shorter side is below ``size`` is
    upscaled to it (``small_images="upscale"``, LaMa's rule; in ``official`` mode the official
    loaders' own resize) or rejected (``"error"``, in both modes).
    """

    def __init__(self, size: int, mode: str = "official", resize_short: Optional[int] = None,
                 small_images: str = "upscale") -> None:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size <= 0:
            raise ValueError(f"image_size must be a positive number of pixels, got {size}")
        if mode not in PREPROCESS_MODES:
            raise ValueError(f"preprocess mode must be one of {PREPROCESS_MODES}, got {mode!r}")
        if small_images not in SMALL_IMAGE_RULES:
            raise ValueError(f"small_images must be one of {SMALL_IMAGE_RULES}, got {small_images!r}")
        if resize_short is not None and resize_short < size:
            raise ValueError(f"resize_short ({resize_short}) must be >= crop size ({size})")
        self.size, self.mode = int(size), mode
        self.resize_short = None if resize_short is None else int(resize_short)
        self.small_images = small_images

    def prepare(self, image: np.ndarray, source: str = "") -> np.ndarray:
        """The deterministic part (cacheable): official crop + resize, or the ``crop`` mode's resizes."""
        if self.mode == "official":
            self._check_size(image, source)
            return _cv2_resize(center_crop_square(image), self.size, self.size, cv2.INTER_LINEAR)
        if self.resize_short is not None:
            image = _resize_short_side(image, self.resize_short)
        if min(image.shape[:2]) < self.size:
            self._check_size(image, source)
            image = _resize_short_side(image, self.size)
        return image

    def _check_size(self, image: np.ndarray, source: str) -> None:
        if self.small_images == "error" and min(image.shape[:2]) < self.size:
            raise DataError(f"{source}: image {image.shape[0]}x{image.shape[1]} is smaller than the "
                            f"{self.size}x{self.size} crop (set small_images=upscale to enlarge it)")

    def unsuitable(self, height: int, width: int) -> Optional[str]:
        """Why a decoded ``height`` x ``width`` image makes a poor sample, or None (for inpaint-check-data).

        Tiny images (blown up more than ``MAX_UPSCALE`` times) and strips (aspect ratio beyond
        ``MAX_ASPECT``, whose centre crop or random crops see a small part) are flagged.
        """
        short, long = min(height, width), max(height, width)
        # crop mode first brings the short side to resize_short (never below size)
        target = self.resize_short if self.mode == "crop" and self.resize_short is not None else self.size
        reasons = []
        if short * MAX_UPSCALE < target:
            reasons.append(f"would be upscaled {target / short:.1f}x (to {target} px)")
        if long > MAX_ASPECT * short:
            reasons.append(f"has an aspect ratio of {long / short:.1f}:1 (a square crop sees {100 * short / long:.1f} % of it)")
        return f"image {height}x{width} " + " and ".join(reasons) if reasons else None

    def crop(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The random part: a ``size`` crop of a prepared image at a position drawn from ``rng``."""
        if self.mode == "official":
            return image
        top = int(rng.integers(0, image.shape[0] - self.size + 1))
        left = int(rng.integers(0, image.shape[1] - self.size + 1))
        return image[top:top + self.size, left:left + self.size]

    def __call__(self, image: np.ndarray, rng: np.random.Generator, source: str = "") -> np.ndarray:
        """The preprocessed uint8 (size, size, 3) image; ``source`` names the file in errors."""
        return self.crop(self.prepare(image, source), rng)


def _resize_short_side(image: np.ndarray, short: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = short / min(height, width)
    return resize(image, max(short, round(height * scale)), max(short, round(width * scale)))


def joint_hflip(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                p: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Flip image and mask together with probability ``p`` (the official training augmentation)."""
    if rng.random() < p:
        return image[:, ::-1], mask[:, ::-1]
    return image, mask


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float32 (3, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float().div_(255.0)


def mask_to_tensor(mask: np.ndarray) -> torch.Tensor:
    """uint8 {0,1} (H, W) -> float32 (1, H, W), 1 = hole."""
    return torch.from_numpy(np.ascontiguousarray(mask)[None]).float()
