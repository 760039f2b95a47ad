"""FID per bin: the Fréchet formula against scipy, per-bin bookkeeping, n/a texts, offline Inception loading."""
import csv
import json

import numpy as np
import pytest
import scipy.linalg
import torch
from torch.utils.data import DataLoader

from inpainting.eval.evaluator import Evaluator
from inpainting.eval.fid import (
    INCEPTION_WEIGHTS_FILE,
    BinnedFID,
    InceptionFeatures,
    build_fid_inception,
    frechet_distance,
    too_few_images_note,
    try_inception_features,
)
from inpainting.eval.perceptual import WeightsMissingError
from tests.eval.test_eval_evaluator import Oracle, ToyPairs

MISSING_NOTE = f"n/a (weights missing: {INCEPTION_WEIGHTS_FILE})"


def scipy_frechet(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook formula with a general matrix square root."""
    mu_x, mu_y = x.mean(0), y.mean(0)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = scipy.linalg.sqrtm(cov_x @ cov_y).real
    return float(((mu_x - mu_y) ** 2).sum() + np.trace(cov_x + cov_y - 2 * root))


def gaussian(n, d, seed, scale=1.0, shift=0.0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return rng.normal(size=(n, d)) @ mixing * scale + shift


@pytest.mark.parametrize("n,d", [(300, 6), (9, 32)], ids=["covariance-path", "cross-product-path"])
def test_frechet_distance_matches_scipy(n, d):
    x, y = gaussian(n, d, 0), gaussian(n + 1, d, 1, scale=1.5, shift=0.3)
    ours = frechet_distance(torch.from_numpy(x), torch.from_numpy(y)).item()
    assert ours == pytest.approx(scipy_frechet(x, y), rel=1e-6)


@pytest.mark.parametrize("n,d", [(300, 6), (9, 32)], ids=["covariance-path", "cross-product-path"])
def test_identical_sets_give_zero_and_a_translation_gives_its_squared_norm(n, d):
    x = torch.from_numpy(gaussian(n, d, 2))
    assert frechet_distance(x, x).item() == pytest.approx(0.0, abs=1e-9)
    shift = torch.linspace(-1, 1, d, dtype=torch.float64)
    assert frechet_distance(x, x + shift).item() == pytest.approx(shift.square().sum().item(), rel=1e-9)


def test_frechet_distance_rejects_bad_shapes():
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(torch.zeros(1, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"\(N1,D\) and \(N2,D\)"):
        frechet_distance(torch.zeros(3, 4), torch.zeros(3, 5))


def tiny_features(images: torch.Tensor) -> torch.Tensor:
    """A stand-in extractor: per-channel means of a 2x2 grid (12-d)."""
    return torch.nn.functional.adaptive_avg_pool2d(images, 2).flatten(1)


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
    metric = BinnedFID(["a", "b", "c"], tiny_features, min_images=3)
    metric.update(pred[:7], image[:7], mask[:7], bins[:7])
    metric.update(pred[7:], image[7:], mask[7:], bins[7:], real_features=tiny_features(image[7:]))
    out = metric.compute()

    comp = pred * mask + image * (1 - mask)
    expected = frechet_distance(tiny_features(image[bins == 0]), tiny_features(comp[bins == 0]))
    assert out["fid/a"].item() == pytest.approx(expected.item(), rel=1e-6) and out["fid/a"] > 0.01
    assert out["fid/b"].item() == pytest.approx(0.0, abs=1e-9)
    assert "fid/c" not in out  # 2 images < min_images
    assert out["fid/overall"].item() == pytest.approx(frechet_distance(tiny_features(image), tiny_features(comp)).item(), rel=1e-6)
    assert {k: v.item() for k, v in out.items() if k.startswith("fid_count")} == {
        "fid_count/a": 6, "fid_count/b": 4, "fid_count/c": 2, "fid_count/overall": 12,
    }
    values = metric.table_values(out)
    assert values["fid/c"] == too_few_images_note(2, 3) == "n/a (only 2 images; FID needs >= 3)"
    assert values["fid/a"] == pytest.approx(expected.item(), rel=1e-6)
    assert "a: 6, b: 4, c: 2, overall: 12" in metric.counts_note(out)


def test_fid_grows_with_a_shift_of_the_composites():
    image, mask, bins = binned_batch()
    scores = []
    for shift in (0.0, 0.05, 0.1, 0.2):
        metric = BinnedFID(["all"], tiny_features, min_images=2)
        metric.update((image + shift).clamp(0, 1), image, mask, torch.zeros_like(bins))
        scores.append(metric.compute()["fid/all"].item())
    assert scores[0] == pytest.approx(0.0, abs=1e-9)
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


def test_states_gathered_from_two_ranks_equal_one_process():
    image, mask, bins = binned_batch()
    pred = (image * 0.8).clamp(0, 1)
    whole, rank0, rank1 = (BinnedFID(["a", "b", "c"], tiny_features, min_images=2) for _ in range(3))
    whole.update(pred, image, mask, bins)
    rank0.update(pred[::2], image[::2], mask[::2], bins[::2])
    rank1.update(pred[1::2], image[1::2], mask[1::2], bins[1::2])
    rank0.merge_state(rank1)  # what the "cat" reduction does across ranks
    merged, single = rank0.compute(), whole.compute()
    assert merged.keys() == single.keys()
    for key in single:
        assert merged[key].item() == pytest.approx(single[key].item(), rel=1e-9, abs=1e-12), key


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="min_images must be >= 2"):
        BinnedFID(["a"], tiny_features, min_images=1)
    metric = BinnedFID(["a"], tiny_features, min_images=2)
    image, mask, _ = binned_batch(n=2)
    with pytest.raises(ValueError, match=r"bin ids must lie in \[0, 0\]"):
        metric.update(image, image, mask, [0, 1])
    with pytest.raises(ValueError, match="equal shape and B bin ids"):
        metric.update(image, image, mask, [0, 0], real_features=torch.zeros(2, 5))


def test_extractor_module_stays_out_of_the_state_dict():
    extractor = torch.nn.Conv2d(3, 4, 1)
    metric = BinnedFID(["a"], lambda x: extractor(x).mean((2, 3)), min_images=2)
    metric_with_module = BinnedFID(["a"], extractor, min_images=2)
    assert not list(metric.parameters()) and not list(metric_with_module.parameters())
    assert metric_with_module.state_dict() == {}


def test_missing_weights_give_na_and_a_clear_error(hub_dir):
    extractor, note = try_inception_features()
    assert extractor is None and note == MISSING_NOTE
    with pytest.raises(WeightsMissingError, match=str(hub_dir / "checkpoints" / INCEPTION_WEIGHTS_FILE)):
        build_fid_inception()


def test_inception_from_hub_file_gives_2048d_features(standin_inception_weights, standin_inception_state):
    extractor, note = try_inception_features()
    assert note is None and isinstance(extractor, InceptionFeatures)
    torch.testing.assert_close(extractor.model.Mixed_7c.branch_pool.conv.weight, standin_inception_state["Mixed_7c.branch_pool.conv.weight"], rtol=0, atol=0)
    g = torch.Generator().manual_seed(0)
    levels = torch.randint(0, 255, (2, 3, 32, 32), generator=g).float()
    features = extractor((levels + 0.2) / 255)
    assert features.shape == (2, 2048) and torch.isfinite(features).all()
    assert (features[0] - features[1]).abs().max() > 0
    # uint8 by truncation, like the PSNR protocol: anything within one level gives the same features
    torch.testing.assert_close(extractor((levels + 0.7) / 255), features, rtol=0, atol=0)
    assert (extractor((levels + 1.2) / 255) - features).abs().max() > 0
    assert sum(1 for _ in extractor.model.parameters()) > 0 and not any(p.requires_grad for p in extractor.model.parameters())


def test_a_file_that_is_not_the_fid_inception_is_rejected(hub_dir, tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(1008, 2048)}, path)
    with pytest.raises(ValueError, match="not a torch-fidelity InceptionV3 state dict"):
        build_fid_inception(path)


def read_outputs(out_dir):
    with (out_dir / "metrics.csv").open() as handle:
        rows = {row["method"]: row for row in csv.DictReader(handle)}
    return (out_dir / "metrics.md").read_text(), rows, json.loads((out_dir / "metrics.json").read_text())


def test_evaluator_reports_fid_na_without_weights(hub_dir, tmp_path):
    results = Evaluator(["small", "large"], tmp_path / "out", fid=True, progress=False, grid_rows=0).run(
        Oracle(), DataLoader(ToyPairs(), batch_size=2)
    )
    assert results["model"]["fid/small"] == results["Input"]["fid/overall"] == MISSING_NOTE
    md, rows, saved = read_outputs(tmp_path / "out")
    assert f"{MISSING_NOTE} for every method and bin." in md
    assert rows["model"]["fid/large"] == MISSING_NOTE and saved["Input"]["fid/small"] == MISSING_NOTE


def test_evaluator_fid_per_bin_with_standin_inception(standin_inception_weights, tmp_path):
    evaluator = Evaluator(["small", "large"], tmp_path / "out", fid=True, fid_min_images=3, progress=False, grid_rows=0)
    results = evaluator.run(Oracle(), DataLoader(ToyPairs(n=5), batch_size=3))  # bins: small 3 images, large 2

    assert results["model"]["fid/small"] == pytest.approx(0.0, abs=1e-6)  # the oracle's composite is the ground truth
    assert results["Input"]["fid/small"] > 1e-3 and results["Input"]["fid/overall"] > 1e-3
    assert results["model"]["fid/large"] == "n/a (only 2 images; FID needs >= 3)"
    md, rows, saved = read_outputs(tmp_path / "out")
    assert "## FID ↓" in md and "n/a (only 2 images; FID needs >= 3)" in md
    assert "FID images per bin (small: 3, large: 2, overall: 5)" in md
    assert float(rows["Input"]["fid/small"]) == pytest.approx(results["Input"]["fid/small"])
    assert saved["model"]["fid/large"] == "n/a (only 2 images; FID needs >= 3)"
