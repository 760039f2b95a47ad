"""FID per bin through torchmetrics: per-bin bookkeeping against scipy, n/a texts, offline Inception loading."""
import numpy as np
import pytest
import scipy.linalg
import torch

from inpainting.eval.engine import INPUT_ROW, MetricOptions, Scorer, score_batch
from inpainting.eval.fid import (
    INCEPTION_WEIGHTS_FILE,
    BinnedFID,
    build_fid_inception,
    too_few_images_note,
    try_binned_fid,
)
from inpainting.eval.metrics import to_uint8_truncated
from inpainting.utils.weights import WeightsMissingError

MISSING_NOTE = f"n/a (weights missing: {INCEPTION_WEIGHTS_FILE})"


def scipy_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook formula with a general matrix square root."""
    mu_x, mu_y = x.mean(0), y.mean(0)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = scipy.linalg.sqrtm(cov_x @ cov_y).real
    return float(((mu_x - mu_y) ** 2).sum() + np.trace(cov_x + cov_y - 2 * root))


class TinyFeatures(torch.nn.Module):
    """A stand-in Inception: per-channel means of a 2x2 grid (12-d) of uint8 images, counting its calls."""

    num_features = 12

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, images):
        assert images.dtype == torch.uint8
        self.calls += 1
        return torch.nn.functional.adaptive_avg_pool2d(images.double(), 2).flatten(1)


def features(images):
    return TinyFeatures()(to_uint8_truncated(images)).numpy()


def binned_batch(n=12, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(n, 3, size, size, generator=g)
    mask = torch.zeros(n, 1, size, size)
    mask[:, :, : size // 2] = 1
    bins = torch.tensor([0] * 6 + [1] * 4 + [2] * 2)
    return image, mask, bins


def test_bins_counts_and_small_bins_on_composites():
    image, mask, bins = binned_batch()
    pred = image.clone()
    pred[bins == 0] = pred[bins == 0] * 0.5  # only bin 0 is damaged; bins 1 and 2 composite to the ground truth
    metric = BinnedFID(["0-12.5%", "b", "c"], TinyFeatures(), min_images=3)  # bin names may hold dots
    metric.update(pred[:7], image[:7], mask[:7], bins[:7])
    metric.update(pred[7:], image[7:], mask[7:], bins[7:])
    out = metric.compute()

    comp = pred * mask + image * (1 - mask)
    expected = scipy_frechet(features(image[bins == 0]), features(comp[bins == 0]))
    assert out["0-12.5%"] == pytest.approx(expected, rel=1e-6) and out["0-12.5%"] > 0.01
    assert out["b"] == pytest.approx(0.0, abs=1e-3)  # torchmetrics: sums of products, rounding at 1e-8 of the trace
    assert out["c"] == too_few_images_note(2, 3) == "n/a (only 2 images; FID needs >= 3)"
    assert out["overall"] == pytest.approx(scipy_frechet(features(image), features(comp)), rel=1e-6)


def test_fid_grows_with_a_shift_of_the_composites():
    image, mask, bins = binned_batch()
    scores = []
    for shift in (0.0, 0.05, 0.1, 0.2):
        metric = BinnedFID(["all"], TinyFeatures(), min_images=2)
        metric.update((image + shift).clamp(0, 1), image, mask, torch.zeros_like(bins))
        scores.append(metric.compute()["all"])
    assert scores[0] == pytest.approx(0.0, abs=1e-3)
    assert all(a + 1.0 < b for a, b in zip(scores, scores[1:])), scores


def test_states_gathered_from_two_ranks_equal_one_process():
    image, mask, bins = binned_batch()
    pred = (image * 0.8).clamp(0, 1)
    whole, rank0, rank1 = (BinnedFID(["a", "b", "c"], TinyFeatures(), min_images=2) for _ in range(3))
    whole.update(pred, image, mask, bins)
    rank0.update(pred[::2], image[::2], mask[::2], bins[::2])
    rank1.update(pred[1::2], image[1::2], mask[1::2], bins[1::2])
    for metric, other in zip(rank0.sets, rank1.sets):
        metric.merge_state(other)  # what the "sum" reduction does across ranks
    merged, single = rank0.compute(), whole.compute()
    assert merged.keys() == single.keys()
    for key in single:
        assert merged[key] == pytest.approx(single[key], rel=1e-9, abs=1e-9), key


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="min_images must be >= 2"):
        BinnedFID(["a"], TinyFeatures(), min_images=1)
    metric = BinnedFID(["a"], TinyFeatures(), min_images=2)
    image, mask, _ = binned_batch(n=2)
    with pytest.raises(ValueError, match=r"bin ids must lie in \[0, 0\]"):
        metric.update(image, image, mask, [0, 1])
    with pytest.raises(ValueError, match="same shape"):
        metric.update(image[:, :1], image, mask, [0, 0])


def test_one_inception_serves_every_bin_and_row(standin_inception_weights):
    fids, note = try_binned_fid(["a", "b"], None, 2, rows=2)
    assert note is None and len(fids) == 2
    assert fids[0].inception is fids[1].inception  # one 95 MB network, however many rows and bins
    assert not any(p.numel() for m in fids[0].sets for p in m.parameters())


def test_missing_weights_give_na_and_a_clear_error(hub_dir):
    fids, note = try_binned_fid(["a"], None, 2, rows=2)
    assert fids is None and note == MISSING_NOTE
    with pytest.raises(WeightsMissingError, match=str(hub_dir / "checkpoints" / INCEPTION_WEIGHTS_FILE)):
        build_fid_inception()


def test_inception_from_hub_file_gives_2048d_features(standin_inception_weights, standin_inception_state):
    model = build_fid_inception()
    torch.testing.assert_close(model.Mixed_7c.branch_pool.conv.weight, standin_inception_state["Mixed_7c.branch_pool.conv.weight"], rtol=0, atol=0)
    g = torch.Generator().manual_seed(0)
    levels = torch.randint(0, 255, (2, 3, 32, 32), generator=g, dtype=torch.uint8)
    out = model(levels)
    assert out.shape == (2, 2048) and torch.isfinite(out).all() and (out[0] - out[1]).abs().max() > 0
    assert not any(p.requires_grad for p in model.parameters()) and not model.train(True).training


def test_a_file_that_is_not_the_fid_inception_is_rejected(hub_dir, tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(1008, 2048)}, path)
    with pytest.raises(ValueError, match="not a torch-fidelity InceptionV3 state dict"):
        build_fid_inception(path)


def toy_batch(n=5, size=32):
    g = torch.Generator().manual_seed(0)
    image = torch.rand(n, 3, size, size, generator=g)
    mask = torch.zeros(n, 1, size, size)
    for i in range(n):
        mask[i, :, : 8 + 12 * (i % 2)] = 1
    return {"image": image, "mask": mask, "bin": torch.tensor([i % 2 for i in range(n)])}


def test_scorer_reports_fid_na_without_weights(hub_dir):
    batch = toy_batch()
    scorer = Scorer([0.0, 0.3, 0.8], [INPUT_ROW, "oracle"], MetricOptions(fid=True))
    score_batch(scorer, "oracle", batch["image"], batch)
    table = scorer.compute().table
    assert table["oracle"]["fid/0-30%"] == table[INPUT_ROW]["fid/overall"] == MISSING_NOTE


def test_scorer_fid_per_bin_with_standin_inception(standin_inception_weights):
    batch = toy_batch()  # bins: 3 images and 2
    scorer = Scorer([0.0, 0.3, 0.8], [INPUT_ROW, "oracle"], MetricOptions(fid=True, fid_min_images=3, fid_features=64))
    score_batch(scorer, "oracle", batch["image"], batch)
    table = scorer.compute().table
    assert table["oracle"]["fid/0-30%"] == pytest.approx(0.0, abs=1e-3)  # the oracle's composite is the ground truth
    # the holes left empty move the features: far above the oracle's 0 (0.3 to 1 over stand-in weight draws)
    assert table[INPUT_ROW]["fid/0-30%"] > 0.05 and table[INPUT_ROW]["fid/overall"] > 0.05
    assert table["oracle"]["fid/30-80%"] == "n/a (only 2 images; FID needs >= 3)"
