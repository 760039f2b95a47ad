"""The real NVIDIA irregular test masks bin the way the papers use them (every 50th mask, for speed)."""
import numpy as np
import pytest

from inpainting.data import MaskFiles, bin_index, bin_names
from inpainting.data.bins import PAPER_BIN_EDGES
from tests.conftest import shared_path


@pytest.mark.parametrize("interpolation", ["linear", "nearest"])
def test_nvidia_test_masks_bin_into_paper_bins(interpolation, capsys):
    root = shared_path("data", "nvidia_irregular_masks", "testing_mask_dataset")
    paths = [root / f"{i:05d}.png" for i in range(0, 12000, 50)]
    masks = MaskFiles(paths=paths, threshold=0, reverse=False, interpolation=interpolation)
    ratios = masks.ratios(256, 256)
    binned, outside = masks.binned(256, 256, PAPER_BIN_EDGES, ratios)
    counts = [len(b) for b in binned]
    with capsys.disabled():
        print(f"\nNVIDIA test masks (every 50th, 256 px, {interpolation}): "
              f"{dict(zip(bin_names(PAPER_BIN_EDGES), counts))}, outside: {len(outside)}")
    for b, files in enumerate(binned):
        for f in files:
            assert PAPER_BIN_EDGES[b] < ratios[f] <= PAPER_BIN_EDGES[b + 1]
    assert sum(counts) + len(outside) == 240
    # the file blocks of 4,000 (pairs of NVIDIA's 10 % groups) mostly land in the matching paper bin
    expected = [min(i // 4000, 2) for i in range(0, 12000, 50)]
    measured = [bin_index(ratios[str(p)], PAPER_BIN_EDGES) for p in paths]
    agreement = np.mean([e == m for e, m in zip(expected, measured)])
    assert agreement > 0.9, agreement
    assert all(60 <= c <= 100 for c in counts), counts


def test_real_sample_masks_are_white_hole(tmp_path):
    root = shared_path("data", "real_samples", "places2_misf")
    mask = MaskFiles(paths=[root / "10_mask.png"]).load(root / "10_mask.png", 256, 256)
    assert 0.1 < mask.mean() < 0.25  # about 17 % hole, white = hole
