"""Image geometry (crop/resize), joint flips and conversion to the framework's tensors."""
from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np
import torch

from inpainting.data.io import DataError

PREPROCESS_MODES = ("official", "crop")
SMALL_IMAGE_RULES = ("upscale", "error")


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

    ``mode="official"`` (default, method-spec 3): centre crop to the shorter side, then cv2
    INTER_LINEAR resize to ``size``; no randomness, identical for train and eval.
    ``mode="crop"``: optionally resize so the shorter side is ``resize_short``, then take a
    ``size`` crop at a position drawn from ``rng`` (random for training; for evaluation the rng is
    seeded per pair, so the crop is fixed). An image whose shorter side is below ``size`` is
    upscaled to it (``small_images="upscale"``, LaMa's rule) or rejected (``"error"``).
    """

    def __init__(self, size: int, mode: str = "official", resize_short: Optional[int] = None,
                 small_images: str = "upscale") -> None:
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
            return _cv2_resize(center_crop_square(image), self.size, self.size, cv2.INTER_LINEAR)
        if self.resize_short is not None:
            image = _resize_short_side(image, self.resize_short)
        if min(image.shape[:2]) < self.size:
            if self.small_images == "error":
                raise DataError(f"{source}: image {image.shape[0]}x{image.shape[1]} is smaller than the "
                                f"{self.size}x{self.size} crop (set small_images=upscale to enlarge it)")
            image = _resize_short_side(image, self.size)
        return image

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
