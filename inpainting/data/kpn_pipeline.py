"""PFUNet's own training pipeline: JPGNet's KPN loader (``kpn/dataset.py``, ``DenoisingDataset``; quirk J1).

The KPN trainer does not use the MISF-style loader (binarised 1-channel mask, holes set to 0). It
reads a random mask file in colour (3 channels), resizes it to 256x256 (cv2 INTER_LINEAR; no crop,
no threshold, no polarity flip) and multiplies the ground truth by the SOFT factor ``1 - mask/255``
(white = hole; grey pixels keep part of the image; each channel its own factor). The product is
written back into the uint8 image, so it is truncated toward zero, and only then scaled to [0, 1].
The image is the centre square of the file, not resized: the official code applies the 256x256 mask
to its top-left corner, which broadcasts only for a 256x256 square (Places2's ``data_256``). Here the
image goes through the data config's ``Preprocess`` (for 256x256 images the identity, so samples are
bitwise the official ones; other sizes, where the official code fails, are resized) and the mask is
resized to the image. No flip, no augmentation (``angle_aug``/``geometry_aug`` are off).

Samples carry ``masked`` (the network input, as the official loader returns it), ``image`` (the
target) and ``mask`` ((1,H,W) 1 where any channel is hole, for display and hole ratios).
"""
from __future__ import annotations

from typing import Dict, Optional

import cv2
import numpy as np

from inpainting.data.datasets import SampleKey, TrainDataset, TrainMaskSource
from inpainting.data.io import load_image
from inpainting.data.mask_files import MaskFiles
from inpainting.data.sources import ImageList
from inpainting.data.transforms import Preprocess, image_to_tensor, mask_to_tensor

TRAIN_PIPELINES = ("misf", "kpn")


def soft_mask(masks: TrainMaskSource, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 (H, W, 3) mask as the KPN loader reads it, 255 = hole, values in between kept.

    ``MaskFiles``: a random file decoded in colour and resized (INTER_LINEAR) without threshold; a
    ``reverse`` polarity (white = known files, e.g. Dunhuang) is applied as ``255 - value``. A
    procedural generator gives its binary mask as 0/255 on the three channels.
    """
    if isinstance(masks, MaskFiles):
        path = masks.paths[int(rng.integers(len(masks.paths)))]
        raw = cv2.resize(load_image(path), (width, height), interpolation=cv2.INTER_LINEAR)
        return 255 - raw if masks.polarity.reverse else raw
    holes = masks(height, width, rng)
    return np.repeat(holes[:, :, None] * np.uint8(255), 3, axis=2)


def soft_masked_input(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``image * (1 - mask/255)`` written back into uint8 (truncation toward zero), as the KPN loader."""
    masked = image.copy()
    masked[...] = (1 - mask / 255) * image  # float64 product, cast to uint8 on assignment (truncates)
    return masked


class KPNTrainDataset(TrainDataset):
    """``length`` PFUNet training samples per epoch from the KPN pipeline (module docstring).

    Image ``index % len(images)``; the mask and any crop of ``preprocess="crop"`` come from
    ``sample_rng(seed, STREAM_TRAIN, epoch, index)`` (the official loader draws with Python ``random``).
    """

    def __init__(self, images: ImageList, masks: TrainMaskSource, preprocess: Preprocess, seed: int = 0,
                 length: Optional[int] = None, cache_images: bool = False) -> None:
        super().__init__(images, masks, preprocess, seed, length, hflip=False, cache_images=cache_images)  # no flip, as the KPN loader

    def __getitem__(self, key: SampleKey) -> Dict[str, object]:
        image, rng = self.image_and_rng(key)
        mask = soft_mask(self.masks, image.shape[0], image.shape[1], rng)
        return {"image": image_to_tensor(image), "masked": image_to_tensor(soft_masked_input(image, mask)),
                "mask": mask_to_tensor(mask.any(axis=2).astype(np.uint8))}
