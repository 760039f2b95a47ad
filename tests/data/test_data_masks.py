"""Procedural masks, polarity and bins."""
import numpy as np
import pytest

from inpainting.data import FreeFormMaskGenerator, MaskPolarity, bin_index, bin_names, hole_ratio, sample_rng
from inpainting.data.bins import check_edges


@pytest.mark.parametrize("size", [64, 256])
@pytest.mark.parametrize("lo,hi", [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.01, 0.05), (0.0, 0.6)])
def test_generator_lands_in_requested_range(size, lo, hi):
    generator = FreeFormMaskGenerator()
    for index in range(25):
        mask = generator(size, size, sample_rng(3, 0, index), (lo, hi))
        assert mask.shape == (size, size) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 1}
        assert lo < hole_ratio(mask) <= hi


def test_generator_is_deterministic_per_seed_and_key():
    generator = FreeFormMaskGenerator()
    first = generator(96, 80, sample_rng(7, 1, 2, 3))
    again = generator(96, 80, sample_rng(7, 1, 2, 3))
    other = generator(96, 80, sample_rng(7, 1, 2, 4))
    assert first.shape == (96, 80)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_generator_raises_when_range_unreachable():
    # one 1x1 pixel is a ratio of 1/16 at 4x4: (0.01, 0.05] holds no reachable value
    with pytest.raises(RuntimeError, match="could not reach hole ratio"):
        FreeFormMaskGenerator(max_strokes=20)(4, 4, sample_rng(0), (0.01, 0.05))


@pytest.mark.parametrize("lo,hi", [(0.3, 0.2), (-0.1, 0.5), (0.2, 1.5)])
def test_generator_rejects_bad_range(lo, hi):
    with pytest.raises(ValueError, match="hole-ratio range"):
        FreeFormMaskGenerator(lo, hi)


def test_polarity_follows_official_threshold_then_reverse():
    raw = np.array([[0, 1, 100, 101, 255]], np.uint8)
    assert MaskPolarity().holes(raw).tolist() == [[0, 1, 1, 1, 1]]  # NVIDIA test / papers: > 0 is hole
    assert MaskPolarity(0, reverse=True).holes(raw).tolist() == [[1, 0, 0, 0, 0]]  # NVIDIA raw train
    assert MaskPolarity(100, reverse=True).holes(raw).tolist() == [[1, 1, 1, 0, 0]]  # Dunhuang


def test_bins_are_half_open_and_named():
    edges = [0.0, 0.2, 0.4, 0.6]
    assert [bin_index(r, edges) for r in (0.0, 1e-6, 0.2, 0.2001, 0.4, 0.6, 0.61)] == [-1, 0, 0, 1, 1, 2, -1]
    assert bin_names(edges) == ["0-20%", "20-40%", "40-60%"]
    assert bin_names([0, .1, .2, .3, .4, .5, .6])[0] == "0-10%"
    with pytest.raises(ValueError, match="strictly increasing"):
        check_edges([0.0, 0.4, 0.2])
