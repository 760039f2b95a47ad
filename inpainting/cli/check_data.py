"""Scan a dataset configuration: images per split, mask files per hole-ratio bin, and every problem found.

    inpaint-check-data data=places2 paths.data_dir=/datasets [max_images=1000]

A Hydra app (``conf/check_data.yaml``, ``--help`` lists its options); only the ``data`` node is built.
Problems: files that cannot be used (undecodable, over the pixel limit, masks in no bin), files a
folder scan skipped (broken links, link loops), tiny or strip-shaped images, unpaired images and masks.
Warnings: grey-level (e.g. JPEG) masks, with the share of grey pixels and what the threshold makes of them.
Exit status: 0 when no problem was found (warnings allowed), 1 otherwise, 2 when the DataModule cannot
even be built.
"""
from __future__ import annotations

from collections import Counter
from typing import List, Optional, Tuple

import hydra
import numpy as np
from omegaconf import DictConfig
from rich.console import Console
from rich.progress import track
from rich.table import Table

from inpainting.cli.common import CONFIG_DIR
from inpainting.data import (
    DataError,
    InpaintingDataModule,
    MaskFiles,
    MaskPolarity,
    bin_index,
    hole_ratio,
    load_mask_file,
)

Problem = Tuple[str, str]  # (where, message)


def scan_images(dm: InpaintingDataModule, split: str, max_images: Optional[int]) -> Tuple[int, int, List[Problem]]:
    """Decode and prepare up to ``max_images`` images of ``split``: (listed, checked, problems)."""
    images = dm.images(split)
    if images is None:
        return 0, 0, []
    count = len(images) if max_images is None else min(max_images, len(images))
    problems = skipped_problems(split, images.skipped)
    for index in track(range(count), description=f"{split} images", transient=True):
        try:
            image = images.load(index)
            dm.preprocess.prepare(image, str(images.paths[index]))
        except (DataError, OSError) as error:
            problems.append((split, str(error)))
            continue
        why = dm.preprocess.unsuitable(*image.shape[:2])
        if why:
            problems.append((split, f"{images.paths[index]}: {why}"))
    return len(images), count, problems


def skipped_problems(where: str, skipped) -> List[Problem]:
    """One problem per entry a folder scan left out, and their count."""
    if not skipped:
        return []
    return [(where, f"{len(skipped)} file(s) or folder(s) skipped by the folder scan")] + [
        (where, f"{path}: skipped: {why}") for path, why in skipped]


def grey_mask_warning(path, polarity: MaskPolarity) -> Optional[str]:
    """A warning for a mask file with grey levels (JPEG, anti-aliased): the share of grey pixels and
    the hole ratio the configured threshold gives compared to a mid-grey one (official: > 0 grows holes)."""
    raw = load_mask_file(path)
    grey = float(np.mean((raw > 0) & (raw < 255)))
    if grey == 0:
        return None
    here = hole_ratio(polarity.holes(raw))
    mid = hole_ratio(MaskPolarity(127, polarity.reverse).holes(raw))
    return (f"{path}: grey-level mask: {100 * grey:.1f} % of its pixels are neither black nor white; threshold "
            f"{polarity.threshold} gives a hole ratio of {100 * here:.1f} % (a mid-grey threshold 127: {100 * mid:.1f} %)")


def scan_masks(dm: InpaintingDataModule, masks: MaskFiles, label: str) -> Tuple[Counter, List[Problem], List[Problem]]:
    """Measure every mask file at the working size: counts per bin (-1 = in no bin), problems, warnings."""
    size = dm.preprocess.size
    counts: Counter = Counter()
    problems, warnings = skipped_problems(label, masks.skipped), []
    for path in track(masks.paths, description=f"{label} masks", transient=True):
        try:
            ratio = hole_ratio(masks.load(path, size, size))
            grey = grey_mask_warning(path, masks.polarity)
        except (DataError, OSError) as error:
            problems.append((label, str(error)))
            continue
        if grey:
            warnings.append((label, grey))
        b = bin_index(ratio, dm.bin_edges)
        counts[b] += 1
        if b < 0:
            problems.append((label, f"{path}: hole ratio {ratio:.4f} lies in no bin of {dm.bin_names}"))
    return counts, problems, warnings


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="check_data")
def main(cfg: DictConfig) -> None:
    """Console entry point (``inpaint-check-data``); the exit status is ``check``'s."""
    raise SystemExit(check(cfg))


def check(cfg: DictConfig) -> int:
    """Scan ``cfg.data`` (``conf/check_data.yaml`` composed); returns the exit status: 0 no problem, 1 problems,
    2 when the DataModule cannot be built."""
    console = Console()
    try:
        dm = hydra.utils.instantiate(cfg.data)
    except Exception as error:  # noqa: BLE001 - report any construction failure, e.g. a missing list file
        console.print(f"[red]cannot build the DataModule:[/red] {error}")
        return 2

    problems: List[Problem] = []
    warnings: List[Problem] = []
    splits = Table(title="Images per split")
    for column in ("split", "listed", "checked", "problems"):
        splits.add_column(column, justify="right" if column != "split" else "left")
    for split in ("train", "val", "test"):
        listed, checked, found = scan_images(dm, split, cfg.get("max_images"))
        problems += found
        splits.add_row(split, str(listed), str(checked), str(len(found)))
    console.print(splits)

    mask_sources = {"train masks": dm.train_masks, "val masks": dm.eval_masks, "test masks": dm.test_masks}
    seen = set()
    bins = Table(title=f"Mask files per hole-ratio bin at {dm.preprocess.size} px")
    bins.add_column("masks")
    for name in dm.bin_names + ["no bin"]:
        bins.add_column(name, justify="right")
    for label, masks in mask_sources.items():
        if isinstance(masks, MaskFiles) and id(masks) not in seen:
            seen.add(id(masks))
            counts, found, noted = scan_masks(dm, masks, label)
            problems += found
            warnings += noted
            bins.add_row(label, *(str(counts[b]) for b in range(len(dm.bin_names))), str(counts[-1]))
    if bins.rows:
        console.print(bins)

    pairs = Table(title="Evaluation pairs per bin")
    pairs.add_column("split")
    for name in dm.bin_names:
        pairs.add_column(name, justify="right")
    try:
        dm.setup(None)
        for split in ("val", "test"):
            if split in dm.datasets:
                per_bin = Counter(p.bin for p in dm.datasets[split].pairs)
                pairs.add_row(split, *(str(per_bin[b]) for b in range(len(dm.bin_names))))
        console.print(pairs)
    except (DataError, OSError, RuntimeError) as error:
        problems.append(("eval pairs", str(error)))

    print_findings(console, warnings, "warning")
    if problems:
        print_findings(console, problems, "problem")
        return 1
    console.print("[green]no problems found[/green]" + (f" ({len(warnings)} warning(s) above)" if warnings else ""))
    return 0


def print_findings(console: Console, findings: List[Problem], kind: str, shown: int = 50) -> None:
    if not findings:
        return
    report = Table(title=f"{len(findings)} {kind}(s)")
    report.add_column("where")
    report.add_column(kind, overflow="fold")
    for where, message in findings[:shown]:
        report.add_row(where, message)
    console.print(report)
    if len(findings) > shown:
        console.print(f"... and {len(findings) - shown} more")


if __name__ == "__main__":
    main()
