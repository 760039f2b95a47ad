import pytest
import torch

from inpainting.losses.reconstruction import HoleNormalizedL1Loss, hole_normalized_l1


def make_batch(hole_pixels_per_image=(16, 48)):
    gen = torch.Generator().manual_seed(1)
    pred = torch.rand(2, 3, 8, 8, generator=gen)
    target = torch.rand(2, 3, 8, 8, generator=gen)
    mask = torch.zeros(2, 1, 8, 8)
    for i, n in enumerate(hole_pixels_per_image):
        mask[i].view(-1)[:n] = 1.0
    return pred, target, mask


def test_divides_whole_image_l1_by_batch_hole_ratio():
    pred, target, mask = make_batch((16, 48))  # batch hole ratio (16 + 48) / 128 = 0.5
    l1 = (pred - target).abs().mean()
    assert torch.allclose(hole_normalized_l1(pred, target, mask), l1 / 0.5)
    # the known region counts too: only a change outside the hole still changes the loss
    changed = pred.clone()
    changed[:, :, 7, 7] += 1.0
    assert mask[:, :, 7, 7].sum() == 0
    assert hole_normalized_l1(changed, target, mask) > hole_normalized_l1(pred, target, mask)


def test_small_holes_get_larger_weight():
    pred, target, small = make_batch((1, 0))
    assert torch.allclose(hole_normalized_l1(pred, target, small), (pred - target).abs().mean() * 128)


def test_plain_switch_gives_unnormalized_l1():
    pred, target, mask = make_batch()
    loss = HoleNormalizedL1Loss(normalize_by_hole_ratio=False)
    assert torch.allclose(loss(pred, target, mask), (pred - target).abs().mean())


def test_batch_without_holes_falls_back_to_plain_l1():
    pred, target, mask = make_batch((0, 0))
    pred.requires_grad_(True)
    value = HoleNormalizedL1Loss()(pred, target, mask)
    assert torch.isfinite(value)
    assert torch.allclose(value, (pred - target).abs().mean())
    value.backward()
    assert torch.isfinite(pred.grad).all()


def test_gradient_matches_scaled_l1():
    pred, target, mask = make_batch((16, 48))
    pred.requires_grad_(True)
    hole_normalized_l1(pred, target, mask).backward()
    expected = torch.sign(pred.detach() - target) / pred.numel() / 0.5
    assert torch.allclose(pred.grad, expected)


def test_bad_mask_shape_is_a_clear_error():
    pred, target, _ = make_batch()
    with pytest.raises(ValueError, match=r"mask of shape \(B, 1, H, W\) = \(2, 1, 8, 8\)"):
        hole_normalized_l1(pred, target, torch.zeros(2, 3, 8, 8))
