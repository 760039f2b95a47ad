"""The torch metric protocol agrees with skimage on the same uint8 arrays; the binned accumulator is exact."""
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from inpainting.eval.metrics import (
    BinnedInpaintingMetrics,
    inpainting_scores,
    psnr_uint8,
    ssim_uint8,
    to_uint8_truncated,
)
from inpainting.utils.composite import composite


def _batch(b=3, h=32, w=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    image = torch.rand(b, 3, h, w, generator=g)
    pred = (image + 0.2 * torch.randn(b, 3, h, w, generator=g)).clamp(-0.1, 1.1)  # out of range on purpose
    mask = (torch.rand(b, 1, h, w, generator=g) > 0.6).float()
    return pred, image, mask


def _hwc(u8: torch.Tensor) -> np.ndarray:
    return u8.permute(1, 2, 0).numpy()


def test_truncation_not_rounding():
    x = torch.tensor([0.0, 0.999 / 255, 1.999 / 255, 254.9 / 255, 1.0, 1.7, -0.3])
    assert to_uint8_truncated(x).tolist() == [0, 0, 1, 254, 255, 255, 0]


def test_psnr_and_ssim_match_skimage_per_image():
    pred, image, mask = _batch()
    comp_u8 = to_uint8_truncated(composite(pred, image, mask))
    gt_u8 = to_uint8_truncated(image)
    psnr = psnr_uint8(comp_u8, gt_u8)
    ssim = ssim_uint8(comp_u8, gt_u8)
    for i in range(pred.shape[0]):
        ref_psnr = peak_signal_noise_ratio(_hwc(gt_u8[i]), _hwc(comp_u8[i]))
        ref_ssim = structural_similarity(_hwc(gt_u8[i]), _hwc(comp_u8[i]), channel_axis=-1, data_range=255)
        assert psnr[i].item() == pytest.approx(ref_psnr, abs=1e-9)
        assert ssim[i].item() == pytest.approx(ref_ssim, abs=1e-9)


def test_ssim_matches_skimage_on_smooth_similar_images():
    # high-SSIM regime (small differences on smooth content), where float32 cancellation would show
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 48), indexing="ij")
    base = torch.stack([xx, yy, (xx + yy) / 2])[None]
    noisy = base + 0.01 * torch.randn(1, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    a, b = to_uint8_truncated(base), to_uint8_truncated(noisy)
    ref = structural_similarity(_hwc(a[0]), _hwc(b[0]), channel_axis=-1, data_range=255)
    assert ssim_uint8(b, a).item() == pytest.approx(ref, abs=1e-9)
    assert ref > 0.9


def test_psnr_of_identical_images_is_capped_at_100():
    u8 = to_uint8_truncated(torch.rand(2, 3, 8, 8))
    assert psnr_uint8(u8, u8).tolist() == [100.0, 100.0]


def test_scores_use_the_composite_and_whole_image_l1():
    pred, image, mask = _batch(b=2)
    scores = inpainting_scores(pred, image, mask)
    comp = (pred * mask + image * (1 - mask)).clamp(0, 1)
    expected_l1 = (comp - image).abs().mean(dim=(1, 2, 3)).double()
    torch.testing.assert_close(scores["l1"], expected_l1)
    # known pixels never count against the model: a prediction that is wrong only outside the hole is perfect
    wrong_outside = image * mask + (1 - image) * (1 - mask)
    perfect = inpainting_scores(wrong_outside, image, mask)
    assert perfect["psnr"].tolist() == [100.0, 100.0]
    assert perfect["ssim"].tolist() == pytest.approx([1.0, 1.0])
    assert perfect["l1"].tolist() == [0.0, 0.0]


def test_bad_shapes_raise_clear_errors():
    pred, image, mask = _batch(b=2)
    with pytest.raises(ValueError, match="expected a mask of shape"):
        inpainting_scores(pred, image, mask[:, :, :10])
    with pytest.raises(ValueError, match="smaller than the 7x7 window"):
        ssim_uint8(torch.zeros(1, 3, 5, 5, dtype=torch.uint8), torch.zeros(1, 3, 5, 5, dtype=torch.uint8))


def test_binned_metric_per_bin_means_and_rows():
    pred, image, mask = _batch(b=5, seed=3)
    bins = [0, 2, 0, 2, 2]
    metric = BinnedInpaintingMetrics(["0-20%", "20-40%", "40-60%"])
    metric.update(pred[:2], image[:2], mask[:2], bins[:2], names=["a", "b"])
    metric.update(pred[2:], image[2:], mask[2:], torch.tensor(bins[2:]), names=["c", "d", "e"])
    out = metric.compute()
    scores = inpainting_scores(pred, image, mask)
    for name in ("psnr", "ssim", "l1"):
        assert out[f"{name}/0-20%"].item() == pytest.approx(scores[name][[0, 2]].mean().item())
        assert out[f"{name}/40-60%"].item() == pytest.approx(scores[name][[1, 3, 4]].mean().item())
        assert out[f"{name}/overall"].item() == pytest.approx(scores[name].mean().item())
        assert f"{name}/20-40%" not in out  # empty bin: no value, only a zero count
    assert out["count/20-40%"].item() == 0 and out["count/40-60%"].item() == 3 and out["count/overall"].item() == 5
    rows = metric.per_image()
    assert [r["name"] for r in rows] == ["a", "b", "c", "d", "e"]
    assert [r["bin"] for r in rows] == ["0-20%", "40-60%", "0-20%", "40-60%", "40-60%"]
    assert rows[1]["hole_ratio"] == pytest.approx(mask[1].mean().item())
    assert rows[4]["psnr"] == pytest.approx(scores["psnr"][4].item())
    metric.reset()
    assert metric.per_image() == []
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert metric.compute()["count/overall"].item() == 0


def test_binned_metric_forward_keeps_accumulating():
    pred, image, mask = _batch(b=4, seed=5)
    metric = BinnedInpaintingMetrics(["low", "high"])
    batch_value = metric(pred[:2], image[:2], mask[:2], [0, 1], names=["a", "b"])
    metric(pred[2:], image[2:], mask[2:], [1, 1], names=["c", "d"])
    assert batch_value["count/overall"].item() == 2
    assert metric.compute()["count/overall"].item() == 4
    assert [r["name"] for r in metric.per_image()] == ["a", "b", "c", "d"]


def test_binned_metric_extra_scorer_and_bin_validation():
    pred, image, mask = _batch(b=2)
    metric = BinnedInpaintingMetrics(["all"], extra_scorers={"mean_abs": lambda c, g: (c - g).abs().mean((1, 2, 3))})
    metric.update(pred, image, mask, [0, 0])
    out = metric.compute()
    assert out["mean_abs/all"].item() == pytest.approx(out["l1/all"].item(), rel=1e-6)
    with pytest.raises(ValueError, match="bin ids must lie in"):
        metric.update(pred, image, mask, [0, 1])


def test_sync_concatenates_every_rank_so_bin_means_are_exact():
    pred, image, mask = _batch(b=4, seed=7)
    other_rank = BinnedInpaintingMetrics(["a", "b"])
    other_rank.update(pred[1:], image[1:], mask[1:], [1, 0, 1])
    other_states = {}

    def gather(tensor, group=None):  # stands in for all_gather across two ranks, called once per state
        name = next(names)
        return [tensor, other_states[name]]

    this_rank = BinnedInpaintingMetrics(["a", "b"], dist_sync_fn=gather, distributed_available_fn=lambda: True)
    this_rank.update(pred[:1], image[:1], mask[:1], [0], names=["mine"])
    other_states.update({name: torch.cat(getattr(other_rank, name)) for name in this_rank._reductions})
    names = iter(list(this_rank._reductions))
    out = this_rank.compute()
    scores = inpainting_scores(pred, image, mask)
    assert out["count/overall"].item() == 4
    assert out["psnr/a"].item() == pytest.approx(scores["psnr"][[0, 2]].mean().item())
    assert out["ssim/b"].item() == pytest.approx(scores["ssim"][[1, 3]].mean().item())
    assert [r["name"] for r in this_rank.per_image()] == ["mine"]  # local rows again after compute


# -- per-paper protocol: JPGNet scores L1/LPIPS on the unclamped composite, MISF on the clamped one -----
def _out_of_range_batch():
    g = torch.Generator().manual_seed(3)
    image = torch.rand(2, 3, 16, 16, generator=g)
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    # a PFUNet/UAFNet-like raw output: its last conv has no activation, so it leaves [0, 1]
    pred = image + torch.where(torch.rand(2, 3, 16, 16, generator=g) > 0.5, 0.6, -0.6)
    return pred, image, mask


def test_jpgnet_protocol_scores_l1_on_the_unclamped_composite():
    pred, image, mask = _out_of_range_batch()
    comp = composite(pred, image, mask)
    assert comp.min() < 0 and comp.max() > 1
    jpgnet = inpainting_scores(pred, image, mask, protocol="jpgnet")
    misf = inpainting_scores(pred, image, mask, protocol="misf")
    for i in range(2):  # the official per-image F.l1_loss, unclamped (JPGNet) and clamped (MISF)
        assert jpgnet["l1"][i].item() == pytest.approx(torch.nn.functional.l1_loss(comp[i], image[i]).item(), rel=1e-6)
        assert misf["l1"][i].item() == pytest.approx(torch.nn.functional.l1_loss(comp[i].clamp(0, 1), image[i]).item(), rel=1e-6)
    assert (jpgnet["l1"] > misf["l1"] + 1e-3).all()
    # PSNR/SSIM quantise with a clip in both papers
    assert torch.equal(jpgnet["psnr"], misf["psnr"]) and torch.equal(jpgnet["ssim"], misf["ssim"])


def test_protocol_reaches_l1_and_the_extra_scorers_of_the_accumulator():
    pred, image, mask = _out_of_range_batch()
    seen = {}

    def spy(name):
        def scorer(comp, gt):
            seen[name] = comp
            return (comp - gt).abs().flatten(1).mean(1)
        return scorer

    results = {}
    for protocol in ("misf", "jpgnet"):
        metric = BinnedInpaintingMetrics(["all"], extra_scorers={"lpips": spy(protocol)}, protocol=protocol)
        metric.update(pred, image, mask, [0, 0])
        results[protocol] = metric.compute()["l1/overall"].item()
    assert seen["misf"].min() >= 0 and seen["misf"].max() <= 1
    assert torch.equal(seen["jpgnet"], composite(pred, image, mask))
    assert results["jpgnet"] > results["misf"] + 1e-3


def test_unknown_protocol_is_an_error():
    pred, image, mask = _out_of_range_batch()
    with pytest.raises(ValueError, match="protocol"):
        inpainting_scores(pred, image, mask, protocol="edgeconnect")
    with pytest.raises(ValueError, match="protocol"):
        BinnedInpaintingMetrics(["all"], protocol="clamped")
