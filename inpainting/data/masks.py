"""Hole masks: polarity of mask files, hole ratio, seeded randomness and a procedural free-form generator.

Convention everywhere downstream of this module: a mask is a uint8 (H, W) array with 1 = hole.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

log = logging.getLogger(__name__)

# Separate random streams so that train, val and test draws never collide for the same index.
STREAM_TRAIN, STREAM_VAL, STREAM_TEST = 0, 1, 2


def sample_rng(seed: int, *keys: int) -> np.random.Generator:
    """A generator determined only by (seed, *keys), e.g. (seed, stream, epoch, index).

    Every sample owns its generator, so results do not depend on DataLoader workers, their order,
    or how many samples were drawn before.
    """
    return np.random.default_rng([int(seed), *(int(k) for k in keys)])


def hole_ratio(mask: np.ndarray) -> float:
    """Fraction of hole pixels in a {0,1} mask (any shape)."""
    return float(np.count_nonzero(mask)) / float(mask.size)


def fit_mask_to_image(raw_mask: np.ndarray, image_shape: Sequence[int], what: str = "mask") -> np.ndarray:
    """The size rule of ``inpaint-predict``, ``inpaint-eval predictions=`` and the API (docs/evaluation.md):
    the image's size rules; a mask of another size is resized to it (nearest neighbour, so it stays binary)
    with a warning naming ``what``. ``image_shape``: (H, W, ...)."""
    height, width = int(image_shape[0]), int(image_shape[1])
    if raw_mask.shape[:2] == (height, width):
        return raw_mask
    log.warning("%s is %dx%d, its image %dx%d: resizing the mask (nearest)", what, raw_mask.shape[1], raw_mask.shape[0],
                width, height)
    from PIL import Image

    return np.asarray(Image.fromarray(raw_mask).resize((width, height), Image.NEAREST))


@dataclass(frozen=True)
class MaskPolarity:
    """How a mask file encodes holes; the ONE place where threshold and reversal are applied.

    As the official loaders: pixel > ``threshold`` becomes white, then ``reverse`` swaps white and
    black; white is hole. NVIDIA test masks and the papers' lists: threshold 0, no reverse.
    NVIDIA raw training masks (black = hole): reverse. Dunhuang (white = known, JPEG): threshold
    100, reverse.
    """

    threshold: int = 0
    reverse: bool = False

    def holes(self, raw: np.ndarray) -> np.ndarray:
        """uint8 {0,1} hole mask (1 = hole) from a raw single-channel mask array."""
        white = raw > self.threshold
        return (white != self.reverse).astype(np.uint8)


class FreeFormMaskGenerator:
    """Brush-stroke masks (DeepFill-v2 style polylines) plus an optional box, within a hole-ratio range.

    A target ratio is drawn uniformly in (min_ratio, max_ratio]; strokes are added until the hole
    ratio reaches it. A stroke that would overshoot ``max_ratio`` is discarded and the following
    strokes are drawn thinner and shorter. After ``max_strokes`` tries without landing in the range
    a ``RuntimeError`` is raised, so the result is always inside (min_ratio, max_ratio].

    Widths and lengths are fractions of the image size, so a mask at 64 px looks like a shrunken
    256 px mask (at 256: widths 12-40 px, segment length about 45 px, as DeepFill v2).
    """

    def __init__(
        self,
        min_ratio: float = 0.0,
        max_ratio: float = 0.6,
        min_vertices: int = 4,
        max_vertices: int = 12,
        width_range: Tuple[float, float] = (12 / 256, 40 / 256),
        box_prob: float = 0.3,
        box_side_range: Tuple[float, float] = (0.1, 0.5),
        max_strokes: int = 200,
    ) -> None:
        _check_range(min_ratio, max_ratio)
        self.min_ratio, self.max_ratio = float(min_ratio), float(max_ratio)
        self.min_vertices, self.max_vertices = int(min_vertices), int(max_vertices)
        self.width_range = (float(width_range[0]), float(width_range[1]))
        self.box_prob = float(box_prob)
        self.box_side_range = (float(box_side_range[0]), float(box_side_range[1]))
        self.max_strokes = int(max_strokes)

    def __call__(
        self, height: int, width: int, rng: np.random.Generator,
        ratio_range: Optional[Sequence[float]] = None,
    ) -> np.ndarray:
        """A uint8 (height, width) mask, 1 = hole, with hole ratio in (lo, hi] (default: the generator's range)."""
        lo, hi = ratio_range if ratio_range is not None else (self.min_ratio, self.max_ratio)
        _check_range(lo, hi)
        target = float(rng.uniform(lo, hi))
        mask = np.zeros((height, width), np.uint8)
        if rng.random() < self.box_prob:
            self._draw_box(mask, rng, max_area=target)
        ratio, scale = hole_ratio(mask), 1.0
        if ratio > hi:  # only possible for a tiny image where one pixel exceeds the range
            mask[:], ratio = 0, 0.0
        for _ in range(self.max_strokes):
            if ratio >= target and ratio > lo:
                return mask
            candidate = mask.copy()
            self._draw_stroke(candidate, rng, scale)
            candidate_ratio = hole_ratio(candidate)
            if candidate_ratio > hi:
                scale *= 0.7
                continue
            mask, ratio = candidate, candidate_ratio
        if lo < ratio <= hi:
            return mask
        raise RuntimeError(
            f"free-form mask generator could not reach hole ratio ({lo}, {hi}] at {height}x{width} "
            f"after {self.max_strokes} strokes (reached {ratio:.4f}); widen the range or raise max_strokes")

    def _draw_box(self, mask: np.ndarray, rng: np.random.Generator, max_area: float) -> None:
        height, width = mask.shape
        side_lo, side_hi = self.box_side_range
        box_h = int(rng.uniform(side_lo, side_hi) * height)
        box_w = int(rng.uniform(side_lo, side_hi) * width)
        # keep the box below the target so the strokes still have room to add shape
        shrink = math.sqrt(max(0.0, 0.7 * max_area * height * width) / max(1, box_h * box_w))
        if shrink < 1.0:
            box_h, box_w = int(box_h * shrink), int(box_w * shrink)
        if box_h < 1 or box_w < 1:
            return
        top = int(rng.integers(0, height - box_h + 1))
        left = int(rng.integers(0, width - box_w + 1))
        mask[top:top + box_h, left:left + box_w] = 1

    def _draw_stroke(self, mask: np.ndarray, rng: np.random.Generator, scale: float) -> None:
        height, width = mask.shape
        side = min(height, width)
        brush = max(1, int(round(rng.uniform(*self.width_range) * side * scale)))
        mean_length = math.hypot(height, width) / 8 * max(scale, 0.25)
        vertices = int(rng.integers(self.min_vertices, self.max_vertices + 1))
        mean_angle, angle_jitter = 2 * math.pi / 5, 2 * math.pi / 15
        x, y = float(rng.integers(0, width)), float(rng.integers(0, height))
        cv2.circle(mask, (int(x), int(y)), brush // 2, 1, -1)
        for i in range(vertices):
            angle = mean_angle + rng.uniform(-angle_jitter, angle_jitter)
            angle = angle if i % 2 == 0 else 2 * math.pi - angle
            length = float(np.clip(rng.normal(mean_length, mean_length / 2), 0, 2 * mean_length))
            heading = rng.uniform(0, 2 * math.pi) if i == 0 else heading + angle  # noqa: F821 (set at i == 0)
            nx = float(np.clip(x + length * math.cos(heading), 0, width - 1))
            ny = float(np.clip(y + length * math.sin(heading), 0, height - 1))
            cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 1, brush)
            cv2.circle(mask, (int(nx), int(ny)), brush // 2, 1, -1)
            x, y = nx, ny


def _check_range(lo: float, hi: float) -> None:
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"hole-ratio range must satisfy 0 <= lo < hi <= 1, got ({lo}, {hi})")
