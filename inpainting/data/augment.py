"""Optional extra training augmentations: an albumentations transform applied jointly to image and mask."""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from inpainting.data.io import DataError

# The mask goes through albumentations as uint8 {0, 255} (255 = hole), so a mask interpolation other
# than nearest still gives values on the right side of this threshold.
MASK_HOLE_VALUE = 255
MASK_THRESHOLD = 127


class JointAugment:
    """Applies an albumentations transform to a training (image, mask) pair, seeded by the sample.

    ``transform`` is any albumentations transform or ``Compose`` (a lone transform is wrapped in a
    ``Compose``). Before each call the compose is reseeded from the sample's own generator, so the
    same (seed, epoch, index) gives the same result in any worker. The mask is the ``mask=`` target:
    geometric transforms move the hole with the image, pixel-level ones leave it alone. Pixels that a
    geometric transform brings in from outside the image get ``fill_mask`` (default 0 = known; set
    ``fill_mask: 255`` to make them holes). The output must keep the input size and dtypes.
    """

    def __init__(self, transform: Any) -> None:
        # imported here so that `import inpainting.data` does not pay for albumentations when unused
        import albumentations as A

        if isinstance(transform, A.Compose):
            self.compose = transform
        elif isinstance(transform, (A.BasicTransform, A.BaseCompose)):
            self.compose = A.Compose([transform])
        else:
            raise TypeError(f"augment must be an albumentations transform or Compose, got {type(transform).__name__}")
        self.name = _describe(self.compose)

    def __call__(self, image: np.ndarray, mask: np.ndarray,
                 rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """Augmented uint8 (H, W, 3) image and uint8 {0,1} (H, W) mask (1 = hole), same size as the input."""
        self.compose.set_random_seed(int(rng.integers(0, 2**32)))
        out = self.compose(image=np.ascontiguousarray(image),
                           mask=np.ascontiguousarray(mask, dtype=np.uint8) * np.uint8(MASK_HOLE_VALUE))
        new_image, new_mask = out["image"], out["mask"]
        self._check(image, new_image, new_mask)
        return new_image, (new_mask > MASK_THRESHOLD).astype(np.uint8)

    def _check(self, image: np.ndarray, new_image: Any, new_mask: Any) -> None:
        height, width = image.shape[:2]
        if not isinstance(new_image, np.ndarray) or not isinstance(new_mask, np.ndarray):
            raise DataError(f"augment {self.name} returned {type(new_image).__name__} image / "
                            f"{type(new_mask).__name__} mask; numpy arrays are needed (leave ToTensorV2 out: "
                            f"the data module converts to tensors itself)")
        if new_image.shape != image.shape or new_mask.shape != (height, width):
            raise DataError(f"augment {self.name} changed the sample size from {height}x{width} to "
                            f"image {'x'.join(map(str, new_image.shape[:2]))}, mask "
                            f"{'x'.join(map(str, new_mask.shape[:2]))}; training samples must stay "
                            f"image_size x image_size (use size-preserving transforms)")
        if new_image.dtype != np.uint8:
            raise DataError(f"augment {self.name} returned a {new_image.dtype} image; uint8 is needed (leave "
                            f"Normalize/ToFloat out: the data module scales to [0, 1] itself)")


def _describe(compose: Any) -> str:
    # e.g. "Compose[Rotate, ColorJitter]"
    return f"{type(compose).__name__}[{', '.join(type(t).__name__ for t in compose.transforms)}]"
