"""Image sources: an ordered list of image files with stable names.

The embedded demo source points at the real photographs that installed packages ship
(scikit-image, scikit-learn, matplotlib); they are read from the installed packages at run time.
"""
from __future__ import annotations

import importlib.util
import pathlib
from typing import Dict, List, Optional, Sequence

import numpy as np

from inpainting.data.io import PathLike, load_image


class ImageList:
    """An ordered, indexable list of image files; ``names`` default to the file stems."""

    def __init__(self, paths: Sequence[PathLike], names: Optional[Sequence[str]] = None) -> None:
        self.paths = [pathlib.Path(p) for p in paths]
        self.names = list(names) if names is not None else [p.stem for p in self.paths]
        if len(self.names) != len(self.paths):
            raise ValueError(f"{len(self.names)} names for {len(self.paths)} image paths")
        if not self.paths:
            raise ValueError("image source is empty")

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> np.ndarray:
        """RGB uint8 (H, W, 3) array of image ``index``."""
        return load_image(self.paths[index])


def _package_dir(package: str) -> pathlib.Path:
    # find_spec locates the installed package without importing it (sklearn/matplotlib imports are slow)
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed; the embedded demo photos come from it")
    return pathlib.Path(next(iter(spec.submodule_search_locations)))


def _package_photos() -> Dict[str, pathlib.Path]:
    skimage_dir = _package_dir("skimage") / "data"
    sklearn_dir = _package_dir("sklearn") / "datasets" / "images"
    matplotlib_dir = _package_dir("matplotlib") / "mpl-data" / "sample_data"
    photos = {
        "astronaut": skimage_dir / "astronaut.png",
        "chelsea": skimage_dir / "chelsea.png",
        "coffee": skimage_dir / "coffee.png",
        "rocket": skimage_dir / "rocket.jpg",
        "hubble_deep_field": skimage_dir / "hubble_deep_field.jpg",
        "immunohistochemistry": skimage_dir / "ihc.png",
        "retina": skimage_dir / "retina.jpg",
        "motorcycle_left": skimage_dir / "motorcycle_left.png",
        "motorcycle_right": skimage_dir / "motorcycle_right.png",
        "china": sklearn_dir / "china.jpg",
        "flower": sklearn_dir / "flower.jpg",
        "grace_hopper": matplotlib_dir / "grace_hopper.jpg",
    }
    missing = [f"{name} ({path})" for name, path in photos.items() if not path.is_file()]
    if missing:
        raise FileNotFoundError("embedded demo photos missing from the installed packages: " + ", ".join(missing))
    return photos


# Held-out photos: never used for training. Test keeps two so both a face and a scene are scored.
EMBEDDED_SPLITS: Dict[str, List[str]] = {
    "val": ["astronaut"],
    "test": ["grace_hopper", "china"],
    "train": ["chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
              "motorcycle_left", "motorcycle_right", "flower"],
}


def embedded_photos(split: str) -> ImageList:
    """The 12 package-shipped photos, split train (9) / val (astronaut) / test (grace_hopper, china)."""
    if split not in EMBEDDED_SPLITS:
        raise ValueError(f"unknown embedded split {split!r}; choose one of {sorted(EMBEDDED_SPLITS)}")
    photos = _package_photos()
    names = EMBEDDED_SPLITS[split]
    return ImageList([photos[n] for n in names], names)
