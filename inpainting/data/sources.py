"""Image sources: an ordered list of image files with stable names.

The embedded demo source points at the real photographs that installed packages ship
(scikit-image, scikit-learn, matplotlib); they are read from the installed packages at run time.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import pathlib
import re
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from inpainting.data.io import PathLike, load_image

log = logging.getLogger(__name__)
Skipped = Tuple[str, str]  # (path, why it was left out)


class ImageList:
    """An ordered, indexable list of image files; ``names`` default to the file stems.

    ``skipped``: (path, reason) of entries a folder scan left out (broken links, link loops), for reports.
    """

    def __init__(self, paths: Sequence[PathLike], names: Optional[Sequence[str]] = None,
                 skipped: Sequence[Skipped] = ()) -> None:
        self.paths = [pathlib.Path(p) for p in paths]
        self.names = list(names) if names is not None else [p.stem for p in self.paths]
        self.skipped = list(skipped)
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


# Held-out photos: never used for training. Test keeps two so both a face and a scene are scored; validation
# three (a face, an animal, a still life), so that its curve follows learning rather than one photo's crops.
EMBEDDED_SPLITS: Dict[str, List[str]] = {
    "val": ["astronaut", "chelsea", "coffee"],
    "test": ["grace_hopper", "china"],
    "train": ["rocket", "hubble_deep_field", "immunohistochemistry", "retina", "motorcycle_left", "motorcycle_right",
              "flower"],
}


def embedded_photos(split: str) -> ImageList:
    """The 12 package-shipped photos, split train (7) / val (3) / test (2): see ``EMBEDDED_SPLITS``."""
    if split not in EMBEDDED_SPLITS:
        raise ValueError(f"unknown embedded split {split!r}; choose one of {sorted(EMBEDDED_SPLITS)}")
    photos = _package_photos()
    names = EMBEDDED_SPLITS[split]
    return ImageList([photos[n] for n in names], names)


# .gif is listed so a folder and a single file treat GIFs alike: a still one is read, an animated one refused
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")


class FolderScan(NamedTuple):
    paths: List[pathlib.Path]
    skipped: List[Skipped]


def scan_image_files(root: PathLike) -> FolderScan:
    """Image files under ``root``, recursively, sorted by path (as the official list builder).

    Symbolic links to folders are followed; a link to a folder already being walked (a loop, or a
    second way into the same folder) is skipped, as are broken links and unreadable folders, each
    with the reason, so that no image disappears silently.
    """
    root = pathlib.Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: folder not found")
    paths: List[pathlib.Path] = []
    skipped: List[Skipped] = []
    visited: Dict[Tuple[int, int], pathlib.Path] = {}

    def walk(folder: pathlib.Path) -> None:
        stat = folder.stat()
        visited[(stat.st_dev, stat.st_ino)] = folder
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            skipped.append((str(folder), f"unreadable folder ({error.strerror or error})"))
            return
        for entry in entries:
            path = folder / entry.name
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()  # both follow links
            except OSError as error:
                skipped.append((str(path), f"cannot stat ({error.strerror or error})"))
                continue
            if is_dir:
                target = path.stat()
                seen = visited.get((target.st_dev, target.st_ino))
                if seen is not None:
                    skipped.append((str(path), f"directory link loop (leads back to {seen})"))
                else:
                    walk(path)
            elif is_file:
                if path.suffix.lower() in IMAGE_EXTENSIONS:
                    paths.append(path)
            elif entry.is_symlink():
                skipped.append((str(path), f"broken symbolic link (to {os.readlink(path)})"))
        del visited[(stat.st_dev, stat.st_ino)]  # a later sibling link to this folder is no loop

    walk(root)
    if skipped:
        log.warning("%s: %d file(s) or folder(s) skipped, first: %s (%s)", root, len(skipped), *skipped[0])
    return FolderScan(sorted(paths), skipped)


def list_image_files(root: PathLike) -> List[pathlib.Path]:
    """The image files of ``scan_image_files(root)`` (what it skipped is logged as a warning)."""
    return scan_image_files(root).paths


def read_file_list(list_file: PathLike, root: Optional[PathLike] = None,
                   all_relative: bool = False) -> List[pathlib.Path]:
    """Paths from a list file: a JSON array (what the official code writes, despite the .txt name) or
    one path per line (a trailing integer after whitespace, the class label of the Places365 lists, is
    dropped; the rest of the line, spaces included, is the path).
    Relative paths are resolved against ``root`` (default: the list file's folder); with
    ``all_relative`` a leading '/' is read as relative too (the Places365 lists)."""
    list_file = pathlib.Path(list_file)
    if not list_file.is_file():
        raise FileNotFoundError(f"{list_file}: file list not found")
    text = list_file.read_text()
    if text.lstrip().startswith("["):
        try:
            entries = [str(e) for e in json.loads(text)]
        except json.JSONDecodeError as error:
            raise ValueError(f"{list_file}: looks like a JSON array but does not parse ({error})") from error
    else:
        entries = [_list_line_path(line) for line in text.splitlines() if line.strip()]
    base = pathlib.Path(root) if root is not None else list_file.parent
    return [pathlib.Path(e) if pathlib.Path(e).is_absolute() and not all_relative else base / e.lstrip("/")
            for e in entries]


def _list_line_path(line: str) -> str:
    labelled = re.fullmatch(r"(.*\S)\s+\d+", line.strip())
    return labelled.group(1) if labelled else line.strip()


def image_folder(root: PathLike) -> ImageList:
    """Every image under ``root`` (recursive, sorted, folder links followed); names are paths relative to ``root``."""
    paths, skipped = scan_image_files(root)
    if not paths:
        raise FileNotFoundError(f"{root}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return ImageList(paths, [str(p.relative_to(root).with_suffix("")) for p in paths], skipped)


def image_list(list_file: PathLike, root: Optional[PathLike] = None) -> ImageList:
    """Images named by a list file (JSON array or newline list), in list order."""
    return ImageList(read_file_list(list_file, root))


def random_subset(images: ImageList, count: Optional[int], seed: int) -> ImageList:
    """``count`` images drawn without replacement with ``seed`` (kept in list order); all when None."""
    if count is None or count >= len(images):
        return images
    chosen = np.sort(np.random.default_rng(seed).choice(len(images), size=count, replace=False))
    return ImageList([images.paths[i] for i in chosen], [images.names[i] for i in chosen])


# Places365-Standard, 256x256 release: folder and official list file per split.
PLACES2_LAYOUT = {
    "train": ("data_256", "places365_train_standard.txt"),
    "val": ("val_256", "places365_val.txt"),
    "test": ("test_256", "places365_test.txt"),
}


def places2(root: PathLike, split: str, num_images: Optional[int] = None, subset_seed: int = 0,
            list_dir: Optional[PathLike] = None) -> ImageList:
    """Places365-Standard (256x256): ``root/{data_256,val_256,test_256}`` with the official lists
    ``places365_{train_standard,val,test}.txt`` in ``list_dir`` (default ``root``). ``num_images``
    draws a fixed random subset with ``subset_seed`` (the papers test on 30,000 random test images)."""
    if split not in PLACES2_LAYOUT:
        raise ValueError(f"unknown Places2 split {split!r}; choose one of {sorted(PLACES2_LAYOUT)}")
    folder, list_name = PLACES2_LAYOUT[split]
    root = pathlib.Path(root)
    paths = read_file_list(pathlib.Path(list_dir or root) / list_name, root / folder, all_relative=True)
    names = [str(p.relative_to(root / folder).with_suffix("")) for p in paths]
    return random_subset(ImageList(paths, names), num_images, subset_seed)


CELEBA_PARTITIONS = {"train": "0", "val": "1", "test": "2"}


def celeba(root: PathLike, split: str, image_dir: str = "img_align_celeba",
           partition_file: str = "list_eval_partition.txt") -> ImageList:
    """Aligned CelebA: ``root/img_align_celeba/*.jpg`` split by the official ``list_eval_partition.txt``
    (0 train, 1 val, 2 test)."""
    if split not in CELEBA_PARTITIONS:
        raise ValueError(f"unknown CelebA split {split!r}; choose one of {sorted(CELEBA_PARTITIONS)}")
    root = pathlib.Path(root)
    partition = root / partition_file
    if not partition.is_file():
        raise FileNotFoundError(f"{partition}: CelebA partition file not found")
    files = []
    for number, line in enumerate(partition.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in CELEBA_PARTITIONS.values():
            raise ValueError(f"{partition}:{number}: expected '<file> <0|1|2>', got {line!r}")
        if fields[1] == CELEBA_PARTITIONS[split]:
            files.append(fields[0])
    return ImageList([root / image_dir / f for f in files], [pathlib.Path(f).stem for f in files])


def dunhuang_images(root: PathLike, split: str) -> ImageList:
    """Dunhuang ground truths: ``root/<split>_gt/<id>.<ext>`` (masks: ``paired_mask_files``, as conf/data/dunhuang.yaml pairs them)."""
    folder = pathlib.Path(root) / f"{split}_gt"
    paths, skipped = scan_image_files(folder)
    if not paths:
        raise FileNotFoundError(f"{folder}: no Dunhuang ground-truth images")
    return ImageList(paths, skipped=skipped)
