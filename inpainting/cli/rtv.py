"""Compute StructureFlow's RTV structure images once, into the cache a training config reads.

    inpaint-rtv experiment=structureflow_structure data=places2 paths.data_dir=/datasets [splits=[train,val]]
        [workers=4] [force=true]

A Hydra app (``conf/rtv.yaml``: the training config plus this command's options; ``--help`` lists them);
the training config's ``data.structures`` (set by the StructureFlow experiments, see ``inpainting.data.rtv``)
says where the cache lives. Resumable: images whose structure file is present and newer than the image
are skipped; each file is written atomically. ``force=true`` recomputes everything (needed when the RTV
parameters changed). Exit status 0 on success, 1 when the config sets no structure images.
"""
from __future__ import annotations

import multiprocessing

import hydra
from omegaconf import DictConfig
from rich.console import Console
from rich.progress import track

from inpainting.cli.common import CONFIG_DIR
from inpainting.data.rtv import RTVStructureImages

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


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="rtv")
def main(cfg: DictConfig) -> None:
    """Console entry point (``inpaint-rtv``); the exit status is ``fill``'s."""
    raise SystemExit(fill(cfg))


def fill(cfg: DictConfig) -> int:
    """Fill the RTV cache of ``cfg.data`` (``conf/rtv.yaml`` composed) for ``cfg.splits``; returns the exit status."""
    unknown = sorted(set(cfg.splits) - set(SPLITS))
    if unknown:
        raise ValueError(f"splits={list(cfg.splits)}: {unknown} not among {list(SPLITS)}")
    console = Console()
    dm = hydra.utils.instantiate(cfg.data)  # only the data node of the training config is built
    seen = set()
    for split in cfg.splits:
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
        computed, skipped = fill_cache(images, split, cfg.workers, cfg.force)
        console.print(f"{split}: {computed} computed, {skipped} already cached in {images.cache_dir}")
    return 0


if __name__ == "__main__":
    main()
