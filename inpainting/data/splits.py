"""Deterministic splits of one image list, for datasets that ship no validation split (Dunhuang)."""
from __future__ import annotations

from inpainting.data.sources import ImageList, random_subset

SPLIT_PARTS = ("held_out", "rest")


def held_out_split(images: ImageList, count: int, part: str, seed: int = 0) -> ImageList:
    """One part of a fixed split of ``images``: ``"held_out"`` is ``count`` images drawn with ``seed``
    (as ``random_subset``, list order kept), ``"rest"`` the others in list order. Both parts come
    from the same draw, so they never overlap."""
    if part not in SPLIT_PARTS:
        raise ValueError(f"part must be one of {SPLIT_PARTS}, got {part!r}")
    if not 0 < int(count) < len(images):
        raise ValueError(f"cannot hold out {count} of {len(images)} images: both parts must be non-empty")
    held = random_subset(images, int(count), seed)
    if part == "held_out":
        return held
    chosen = set(held.paths)
    keep = [i for i, path in enumerate(images.paths) if path not in chosen]
    return ImageList([images.paths[i] for i in keep], [images.names[i] for i in keep])


FOLDER_SPLITS = ("train", "val", "test")


def folder_split(root, split: str, val: int, test: int, seed: int = 0) -> ImageList:
    """``split`` of the images under ``root`` (e.g. a user's own photos), the same on every machine:
    ``test`` images held out for testing, then ``val`` of the rest for validation, the others for training."""
    from inpainting.data.sources import list_image_files

    if split not in FOLDER_SPLITS:
        raise ValueError(f"split must be one of {FOLDER_SPLITS}, got {split!r}")
    images = ImageList(list_image_files(root))
    if split == "test":
        return held_out_split(images, test, "held_out", seed)
    rest = held_out_split(images, test, "rest", seed)
    return held_out_split(rest, val, "held_out" if split == "val" else "rest", seed)
