"""Compute StructureFlow's RTV structure images once, into the cache a training config reads.

    inpaint-rtv experiment=structureflow_structure data=places2 paths.data_dir=/datasets [--splits train val]
        [--workers 4] [--force]

Positional arguments are Hydra overrides of the training config; its ``data.structures`` (set by the
StructureFlow experiments, see ``inpainting.data.rtv``) says where the cache lives. Resumable: images
whose structure file is present and newer than the image are skipped; each file is written atomically.
``--force`` recomputes everything (needed when the RTV parameters changed). Exit status 0 on success.
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
from typing import List, Optional

import hydra
from rich.console import Console
from rich.progress import track

from inpainting.data.rtv import RTVStructureImages
from inpainting.utils.resources import compose

SPLITS = ("train", "val", "test")


def _compute(job):
    images, index = job
    return images.compute(index)


def fill_cache(images: RTVStructureImages, label: str, workers: int = 1, force: bool = False) -> tuple[int, int]:
    """Compute every missing or stale structure image of ``images``: (computed, skipped)."""
    images.start_cache(force)
    todo = [i for i in range(len(images)) if force or not images.is_fresh(i)]
    jobs = [(images, i) for i in todo]
    description = f"RTV {label} ({len(todo)} of {len(images)})"
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for _ in track(pool.imap_unordered(_compute, jobs), total=len(jobs), description=description):
                pass
    else:
        for job in track(jobs, description=description):
            _compute(job)
    return len(todo), len(images) - len(todo)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the training config")
    parser.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS))
    parser.add_argument("--workers", type=int, default=1, help="processes computing images in parallel")
    parser.add_argument("--force", action="store_true", help="recompute every image (e.g. after a parameter change)")
    args = parser.parse_args(argv)
    console = Console()
    dm = hydra.utils.instantiate(compose("train", args.overrides).data)  # the training config's data node
    seen = set()
    for split in args.splits:
        images = dm.images(split)
        if images is None:
            continue
        if not isinstance(images, RTVStructureImages):
            console.print(f"[red]data.{split}_images are not RTV structure images: the config sets no "
                          "data.structures (use a StructureFlow experiment, or add data.structures)")
            return 1
        key = tuple(images.paths)
        if key in seen:  # the test split falls back to val
            continue
        seen.add(key)
        computed, skipped = fill_cache(images, split, args.workers, args.force)
        console.print(f"{split}: {computed} computed, {skipped} already cached in {images.cache_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
