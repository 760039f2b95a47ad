import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from inpainting.losses.ssim import L1SSIMLoss, gaussian_window, ssim


def pytorch_ssim_window() -> torch.Tensor:
    """The 11x11 window as ``pytorch_ssim.create_window`` makes it: float32 taps from Python floats,
    float32 normalization, float32 outer product (written here from its formula)."""
    taps = torch.tensor([math.exp(-((x - 11 // 2) ** 2) / float(2 * 1.5**2)) for x in range(11)], dtype=torch.float32)
    taps = taps / taps.sum()
    return taps[:, None] * taps[None, :]


def reference_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Float64 SSIM written independently: scipy correlation, zero border, per image and channel,
    with the official float32 window."""
    window = pytorch_ssim_window().double().numpy()
    c1, c2 = 0.01**2, 0.03**2
    maps = []
    for img_a, img_b in zip(a.reshape(-1, *a.shape[2:]), b.reshape(-1, *b.shape[2:])):
        def mean(z):
            return ndimage.correlate(z, window, mode="constant", cval=0.0)
        mu_a, mu_b = mean(img_a), mean(img_b)
        var_a = mean(img_a * img_a) - mu_a**2
        var_b = mean(img_b * img_b) - mu_b**2
        cov = mean(img_a * img_b) - mu_a * mu_b
        maps.append(((2 * mu_a * mu_b + c1) * (2 * cov + c2))
                    / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))
    return float(np.mean(maps))


@pytest.fixture
def pair():
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 20, 27, generator=gen)
    b = (a + 0.2 * torch.randn(2, 3, 20, 27, generator=gen)).clamp(0, 1)
    return a, b


def test_window_is_bitwise_the_official_float32_window():
    expected = pytorch_ssim_window()
    window = gaussian_window(3)
    assert window.dtype == torch.float32 and window.shape == (3, 1, 11, 11)
    for channel in range(3):
        assert torch.equal(window[channel, 0], expected)
    # float64 images get the float32 window cast up (pytorch_ssim's type_as), not a float64 window
    assert torch.equal(gaussian_window(1, dtype=torch.float64)[0, 0], expected.double())
    # the check can fail: a float64 normalization gives different entries
    taps = torch.tensor([math.exp(-((x - 5) ** 2) / 4.5) for x in range(11)], dtype=torch.float64)
    taps = taps / taps.sum()
    assert not torch.equal(torch.outer(taps, taps).float(), expected)


def test_ssim_of_identical_images_is_one(pair):
    a, _ = pair
    assert ssim(a, a).item() == pytest.approx(1.0, abs=1e-6)


def test_ssim_is_symmetric(pair):
    a, b = pair
    assert ssim(a, b).item() == pytest.approx(ssim(b, a).item(), abs=1e-7)


def test_ssim_matches_float64_reference(pair):
    a, b = pair
    expected = reference_ssim(a.double().numpy(), b.double().numpy())
    assert ssim(a.double(), b.double()).item() == pytest.approx(expected, abs=1e-12)
    assert ssim(a, b).item() == pytest.approx(expected, abs=1e-5)
    assert expected < 0.9  # the pair is genuinely different


def test_zero_padding_lowers_ssim_of_constant_images_at_the_border():
    # Away from the border two constants give the same SSIM everywhere; with zero padding the border
    # windows see the zeros, so only a zero-padded implementation matches the reference here.
    a = torch.full((1, 1, 16, 16), 0.8, dtype=torch.float64)
    b = torch.full((1, 1, 16, 16), 0.6, dtype=torch.float64)
    assert ssim(a, b).item() == pytest.approx(reference_ssim(a.numpy(), b.numpy()), abs=1e-12)


def test_l1_ssim_value_and_parts(pair):
    a, b = pair
    total, parts = L1SSIMLoss(ssim_weight=0.2)(a, b)
    l1 = (a - b).abs().mean()
    assert torch.allclose(parts["l1"], l1)
    assert torch.allclose(parts["ssim"], ssim(a, b))
    assert torch.allclose(total, l1 - 0.2 * ssim(a, b))
    assert L1SSIMLoss()(a, a)[0].item() == pytest.approx(-0.2, abs=1e-6)
    assert L1SSIMLoss(ssim_weight=0.0)(a, b)[0].item() == pytest.approx(l1.item())


def test_gradients_are_finite(pair):
    a, b = pair
    pred = a.clone().requires_grad_(True)
    L1SSIMLoss()(pred, b)[0].backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    same = b.clone().requires_grad_(True)
    ssim(same, b).backward()  # at the optimum: still finite
    assert torch.isfinite(same.grad).all()


def test_adam_steps_decrease_the_loss(pair):
    a, target = pair
    pred = a.clone().requires_grad_(True)
    opt = torch.optim.Adam([pred], lr=0.02)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = L1SSIMLoss()(pred, target)[0]
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.05
    assert ssim(pred.detach(), target) > ssim(a, target)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(1, 3, 8, 8\) and \(1, 3, 8, 9\)"):
        ssim(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
