"""After ``make demo``: the demo's model against Telea and against Input on real photos with real masks.

The demo trains and tests on the photos that scikit-image ships; this script scores its run on photos it
never saw, with the NVIDIA irregular test masks: ``train_photos/*.jpg`` (resized so the short side is
``--resize-short``, centre crop ``--size``) paired in sorted order with the first masks (sorted,
resized nearest) whose hole ratio falls in each bin, ``--per-bin`` pairs per bin. The ``real_samples``
images are pre-masked and are not scored. Prints PSNR/SSIM/L1 per bin for Input, Telea and the model,
then the model's differences to Telea and to Input.

Usage: ``python benchmarks/bench_demo.py [--run outputs/demo/runs/<stamp>] [--data ../shared/data]``
(defaults: the newest demo run; ``$INPAINTING_SHARED_DIR/data`` or ``../shared/data`` beside the repo).
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys

import numpy as np
import torch

from inpainting.data.io import load_image
from inpainting.data.mask_files import MaskFiles
from inpainting.data.sources import list_image_files
from inpainting.data.transforms import center_crop_square, image_to_tensor, mask_to_tensor, resize
from inpainting.eval.classical import telea
from inpainting.eval.metrics import BinnedInpaintingMetrics, hole_ratio

REPO = pathlib.Path(__file__).resolve().parents[1]
BINS = ["0-20%", "20-40%", "40-60%"]
EDGES = [0.0, 0.2, 0.4, 0.6]
METRICS = {"psnr": "PSNR (dB) ↑", "ssim": "SSIM ↑", "l1": "L1 ↓"}


def default_data() -> pathlib.Path:
    shared = os.environ.get("INPAINTING_SHARED_DIR")
    return (pathlib.Path(shared) if shared else REPO.parent / "shared") / "data"


def newest_run() -> pathlib.Path:
    runs = sorted((REPO / "outputs" / "demo" / "runs").glob("*/checkpoints"))
    if not runs:
        sys.exit("no demo run under outputs/demo/runs: run `make demo` first, or pass --run")
    return runs[-1].parent


def pairs(data: pathlib.Path, size: int, resize_short: int, per_bin: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    photos = list_image_files(data / "train_photos")
    masks = MaskFiles(data / "nvidia_irregular_masks" / "testing_mask_dataset", interpolation="nearest")
    needed = per_bin * len(BINS)
    if len(photos) < needed:
        sys.exit(f"{data / 'train_photos'}: {len(photos)} photos, {needed} needed (--per-bin {per_bin})")
    chosen: list[list[np.ndarray]] = [[] for _ in BINS]
    for path in masks.paths:
        mask = masks.load(path, size, size)
        ratio = float(mask.mean())
        b = next((i for i in range(len(BINS)) if EDGES[i] <= ratio < EDGES[i + 1]), None)
        if b is not None and len(chosen[b]) < per_bin:
            chosen[b].append(mask)
        if all(len(c) == per_bin for c in chosen):
            break
    images, hole_masks, bins = [], [], []
    for i, path in enumerate(photos[:needed]):
        photo = load_image(path)
        scale = resize_short / min(photo.shape[:2])
        photo = resize(photo, max(resize_short, round(photo.shape[0] * scale)), max(resize_short, round(photo.shape[1] * scale)))
        images.append(image_to_tensor(resize(center_crop_square(photo), size, size)))
        hole_masks.append(mask_to_tensor(chosen[i % len(BINS)][i // len(BINS)]))
        bins.append(i % len(BINS))
    return torch.stack(images), torch.stack(hole_masks), torch.tensor(bins)


def load_model(run: pathlib.Path):
    from inpainting.api import load_run_module

    return load_run_module(run, device="cpu")  # the run's best checkpoint, its config read as data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=pathlib.Path, default=None, help="demo run folder (default: the newest)")
    parser.add_argument("--data", type=pathlib.Path, default=None, help="shared data folder (train_photos, nvidia masks)")
    parser.add_argument("--size", type=int, default=128, help="square crop side (a multiple of 16)")
    parser.add_argument("--resize-short", type=int, default=128, help="short side before the centre crop")
    parser.add_argument("--per-bin", type=int, default=16)
    args = parser.parse_args()
    data = args.data or default_data()
    if not (data / "train_photos").is_dir():
        sys.exit(f"{data}: no train_photos folder (set --data or INPAINTING_SHARED_DIR)")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model, ckpt = load_model(args.run or newest_run())
    image, mask, bins = pairs(data, args.size, args.resize_short, args.per_bin)
    rows = {"Input": torch.zeros_like(image), "Telea": telea(image, mask)}
    with torch.no_grad():
        rows[model.method_name] = torch.cat([model(image[i:i + 8], mask[i:i + 8])["pred"] for i in range(0, len(image), 8)])
    scores = {}
    for name, pred in rows.items():
        metric = BinnedInpaintingMetrics(BINS)
        metric.update(pred, image, mask, bins)
        scores[name] = {k: float(v) for k, v in metric.compute().items()}
    ratios = [f"{100 * float(hole_ratio(mask[bins == b]).mean()):.0f}%" for b in range(len(BINS))]
    print(f"checkpoint: {ckpt}\n{len(image)} pairs ({args.per_bin} per bin, mean hole ratios {', '.join(ratios)}), "
          f"{args.size}x{args.size}, photos {data / 'train_photos'}, NVIDIA test masks\n")
    columns = [*BINS, "overall"]
    for metric, title in METRICS.items():
        print(f"{title}\n| method | " + " | ".join(columns) + " |\n|---|" + "---:|" * len(columns))
        for name in rows:
            print(f"| {name} | " + " | ".join(f"{scores[name][f'{metric}/{c}']:.4g}" for c in columns) + " |")
        for other in ("Telea", "Input"):
            diff = [scores[model.method_name][f"{metric}/{c}"] - scores[other][f"{metric}/{c}"] for c in columns]
            print(f"| {model.method_name} − {other} | " + " | ".join(f"{d:+.4g}" for d in diff) + " |")
        print()


if __name__ == "__main__":
    main()
