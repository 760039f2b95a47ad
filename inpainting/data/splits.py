"""A deterministic train/val/test split of one image folder (e.g. a user's own photos)."""
from __future__ import annotations

import numpy as np

from inpainting.data.io import PathLike
from inpainting.data.sources import ImageList, list_image_files

SPLITS = ("train", "val", "test")


def folder_split(root: PathLike, split: str, val: int, test: int, seed: int = 0) -> ImageList:
    """``split`` of the images under ``root``: a seeded permutation of the sorted files gives ``test``
    images to test, the next ``val`` to validation and the rest to training, the same on every machine."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    files = list_image_files(root)
    if len(files) <= val + test:
        raise ValueError(f"{root}: {len(files)} images, but val={val} and test={test} leave none to train on")
    order = np.random.default_rng(seed).permutation(len(files))
    chosen = {"test": order[:test], "val": order[test:test + val], "train": order[test + val:]}[split]
    return ImageList([files[i] for i in sorted(chosen)])
