"""Fixtures for the evaluation tests: real photographs with real masks from ../shared/data.

The ``real_samples/{celeba,places2,psv}`` images are *pre-masked* (their hole pixels are white), so
they carry no ground truth in the holes and cannot score a method. Scored pairs therefore use real
photographs (``train_photos``) with real NVIDIA irregular test masks, plus the MISF example pair.
"""
import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import shared_path

PAPER_BINS = ["0-20%", "20-40%", "40-60%"]
SIZE = 256
# two photos per paper bin: one mask from each 10% block of the NVIDIA set (blocks of 2,000 by ratio)
PHOTO_MASK_PAIRS = [
    ("sunhays80_001.jpg", 1500), ("urban100_001.jpg", 3500),
    ("sunhays80_002.jpg", 5500), ("urban100_002.jpg", 7500),
    ("sunhays80_003.jpg", 9500), ("urban100_003.jpg", 11500),
]


def paper_bin(ratio: float) -> int:
    """Bin index of a hole ratio for the papers' (0,20], (20,40], (40,60] % bins."""
    if not 0 < ratio <= 0.6:
        raise ValueError(f"hole ratio {ratio:.3f} outside the papers' bins")
    return min(int(np.ceil(ratio / 0.2)) - 1, 2)


def _square_rgb(path, size=SIZE) -> torch.Tensor:
    img = Image.open(path).convert("RGB")
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1)[None]


def _hole_mask(path, size=SIZE) -> torch.Tensor:
    mask = np.asarray(Image.open(path).convert("L").resize((size, size), Image.NEAREST)) > 127  # 255 = hole
    return torch.from_numpy(mask.astype(np.float32))[None, None]


def _pair(image, mask, name):
    return {"image": image, "mask": mask, "bin": torch.tensor([paper_bin(mask.mean().item())]), "name": [name]}


@pytest.fixture(scope="session")
def paper_bins():
    """The papers' hole-ratio bin names."""
    return list(PAPER_BINS)


@pytest.fixture(scope="session")
def real_pairs():
    """Real scored pairs as dict batches of one: image (1,3,256,256), mask (1,1,256,256) 1 = hole, bin (1,), name."""
    photos = shared_path("data", "train_photos")
    masks = shared_path("data", "nvidia_irregular_masks", "testing_mask_dataset")
    pairs = [
        _pair(_square_rgb(photos / photo), _hole_mask(masks / f"{index:05d}.png"), f"{photo[:-4]}+mask{index:05d}")
        for photo, index in PHOTO_MASK_PAIRS
    ]
    misf = shared_path("data", "real_samples", "places2_misf")
    pairs.append(_pair(_square_rgb(misf / "10.jpg"), _hole_mask(misf / "10_mask.png"), "places2_misf/10"))
    return pairs
