"""Training-sample throughput of one DataLoader worker: decode + crop/resize + flip + mask at 256x256.

Images: 256x256 JPEGs (quality 95, like Places2's 256 release) cut from the package-shipped photos into
a temporary folder. Masks: the procedural free-form generator, and NVIDIA test-mask files when
../shared/data is present. Target: >= 200 samples/s per worker.

    python benchmarks/bench_data.py [--samples 600]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import tempfile
import time

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from inpainting.data import FreeFormMaskGenerator, ImageList, MaskFiles, embedded_photos  # noqa: E402
from inpainting.data.datasets import TrainDataset  # noqa: E402
from inpainting.data.transforms import Preprocess, center_crop_square  # noqa: E402

SHARED_MASKS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "nvidia_irregular_masks" / "testing_mask_dataset"


def make_jpegs(folder: pathlib.Path) -> ImageList:
    paths = []
    for split in ("train", "val", "test"):
        photos = embedded_photos(split)
        for i in range(len(photos)):
            image = cv2.resize(center_crop_square(photos.load(i)), (256, 256), interpolation=cv2.INTER_AREA)
            path = folder / f"{photos.names[i]}.jpg"
            Image.fromarray(image).save(path, quality=95)
            paths.append(path)
    return ImageList(paths)


def samples_per_second(dataset: TrainDataset, samples: int) -> float:
    dataset[(0, 0)]  # warm up imports and caches
    start = time.perf_counter()
    for index in range(samples):
        dataset[(1, index)]
    return samples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=600)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)  # one thread: the figure is per worker (the DataModule leaves cv2's pool alone in workers)
    with tempfile.TemporaryDirectory() as tmp:
        images = make_jpegs(pathlib.Path(tmp))
        mask_sources = {"procedural free-form": FreeFormMaskGenerator(0.0, 0.6)}
        if SHARED_MASKS.is_dir():
            mask_sources["NVIDIA mask files"] = MaskFiles(paths=sorted(SHARED_MASKS.glob("*.png"))[::10])
        for mode in ("official", "crop"):
            for label, masks in mask_sources.items():
                dataset = TrainDataset(images, masks, Preprocess(256, mode), seed=0, length=args.samples)
                rate = samples_per_second(dataset, args.samples)
                verdict = "ok" if rate >= 200 else "BELOW the 200/s target"
                print(f"{mode:8s} preprocess, {label:20s}: {rate:7.1f} samples/s per worker ({verdict})")


if __name__ == "__main__":
    main()
