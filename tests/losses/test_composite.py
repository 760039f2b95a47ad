import pytest
import torch

from inpainting.losses import (
    AdversarialLoss,
    HoleNormalizedL1Loss,
    InpaintingGeneratorLoss,
    InpaintingLossWeights,
    PerceptualLoss,
    StyleLoss,
)


@pytest.fixture(scope="module")
def batch():
    gen = torch.Generator().manual_seed(5)
    output = torch.rand(2, 3, 32, 32, generator=gen)
    target = torch.rand(2, 3, 32, 32, generator=gen)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 4:20, 10:30] = 1.0
    fake = torch.rand(2, 1, 2, 2, generator=gen) * 0.8 + 0.1
    return output, target, mask, fake


def test_defaults_are_misf_weights():
    assert InpaintingLossWeights() == InpaintingLossWeights(adversarial=0.1, l1=1.0, perceptual=0.1, style=250.0)


def test_zero_vgg_weights_build_no_vgg_and_need_no_weight_file(tmp_path, monkeypatch, batch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no VGG file anywhere
    output, target, mask, fake = batch
    loss = InpaintingGeneratorLoss({"perceptual": 0, "style": 0})
    assert loss.perceptual is None and loss.style is None
    total, parts = loss(output, target, mask, fake)
    assert set(parts) == {"adversarial", "l1"}
    expected = 0.1 * AdversarialLoss("nsgan").generator_loss(fake) + HoleNormalizedL1Loss()(output, target, mask)
    torch.testing.assert_close(total, expected)
    with pytest.raises(FileNotFoundError, match="vgg19-dcbfe0f7.pth"):
        InpaintingGeneratorLoss()  # default weights need the file


def test_full_loss_is_the_weighted_sum_of_its_terms(standin, vgg, batch):
    output, target, mask, fake = batch
    loss = InpaintingGeneratorLoss(vgg_weights_path=standin.path)
    assert loss.style.vgg is not loss.perceptual.vgg  # one VGG19 each, as MISF
    pred = output.clone().requires_grad_(True)
    total, parts = loss(pred, target, mask, fake)
    expected = {
        "adversarial": AdversarialLoss("nsgan").generator_loss(fake),
        "l1": HoleNormalizedL1Loss()(output, target, mask),
        "perceptual": PerceptualLoss(vgg=vgg)(output, target),
        "style": StyleLoss(vgg=vgg)(output, target, mask),
    }
    for name, value in expected.items():
        torch.testing.assert_close(parts[name], value)
    weighted = 0.1 * expected["adversarial"] + expected["l1"] + 0.1 * expected["perceptual"] + 250 * expected["style"]
    torch.testing.assert_close(total, weighted)
    total.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_vgg_per_loss_by_default(standin):
    loss = InpaintingGeneratorLoss({"adversarial": 0, "l1": 0}, vgg_weights_path=standin.path)
    assert loss.style.vgg is not loss.perceptual.vgg


def test_switches_reach_the_terms(batch):
    output, target, mask, fake = batch
    loss = InpaintingGeneratorLoss({"perceptual": 0, "style": 0}, gan_kind="hinge", normalize_l1_by_hole_ratio=False)
    _, parts = loss(output, target, mask, fake)
    torch.testing.assert_close(parts["adversarial"], -fake.mean())
    torch.testing.assert_close(parts["l1"], (output - target).abs().mean())
    real = torch.full_like(fake, 2.0)
    torch.testing.assert_close(loss.discriminator_loss(real, fake), (1 + fake).mean() / 2)


def test_bad_calls_are_clear_errors(batch):
    output, target, mask, _ = batch
    loss = InpaintingGeneratorLoss({"perceptual": 0, "style": 0})
    with pytest.raises(ValueError, match=r"fake_outputs = D\(output\) is required"):
        loss(output, target, mask)
    with pytest.raises(ValueError, match=r"unknown InpaintingLossWeights fields \['content'\]"):
        InpaintingGeneratorLoss({"content": 1.0})
    with pytest.raises(ValueError, match="every loss weight is 0"):
        InpaintingGeneratorLoss(InpaintingLossWeights(0, 0, 0, 0))(output, target, mask)
