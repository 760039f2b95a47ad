import math

import pytest
import torch

from inpainting.losses.adversarial import AdversarialLoss, discriminator_uses_sigmoid

PROBS_REAL = torch.tensor([[[[0.9, 0.6], [0.8, 0.7]]]])
PROBS_FAKE = torch.tensor([[[[0.2, 0.4], [0.1, 0.3]]]])


def mean(values):
    return sum(values) / len(values)


def test_nsgan_is_bce_on_probabilities():
    loss = AdversarialLoss("nsgan")
    real = PROBS_REAL.flatten().tolist()
    fake = PROBS_FAKE.flatten().tolist()
    d_real = mean([-math.log(p) for p in real])
    d_fake = mean([-math.log(1 - p) for p in fake])
    assert loss.discriminator_loss(PROBS_REAL, PROBS_FAKE).item() == pytest.approx((d_real + d_fake) / 2, rel=1e-6)
    assert loss.generator_loss(PROBS_FAKE).item() == pytest.approx(mean([-math.log(p) for p in fake]), rel=1e-6)


def test_lsgan_is_mse_on_probabilities():
    loss = AdversarialLoss("lsgan")
    real = PROBS_REAL.flatten().tolist()
    fake = PROBS_FAKE.flatten().tolist()
    d = (mean([(p - 1) ** 2 for p in real]) + mean([p**2 for p in fake])) / 2
    assert loss.discriminator_loss(PROBS_REAL, PROBS_FAKE).item() == pytest.approx(d, rel=1e-6)
    assert loss.generator_loss(PROBS_FAKE).item() == pytest.approx(mean([(p - 1) ** 2 for p in fake]), rel=1e-6)


def test_hinge_on_raw_scores():
    loss = AdversarialLoss("hinge")
    real = torch.tensor([2.0, 0.5, -1.0, 0.0])
    fake = torch.tensor([-2.0, 0.5, 1.0, -0.5])
    d_real = mean([0.0, 0.5, 2.0, 1.0])  # relu(1 - s)
    d_fake = mean([0.0, 1.5, 2.0, 0.5])  # relu(1 + s)
    assert loss.discriminator_loss(real, fake).item() == pytest.approx((d_real + d_fake) / 2)
    assert loss.generator_loss(fake).item() == pytest.approx(-fake.mean().item())
    # the G term ignores the label, as in the official code
    assert loss(fake, is_real=False, for_discriminator=False).item() == pytest.approx(-fake.mean().item())


@pytest.mark.parametrize("kind", ["nsgan", "lsgan", "hinge"])
def test_gradients_push_the_right_way(kind):
    loss = AdversarialLoss(kind)
    fake = PROBS_FAKE.clone().requires_grad_(True)
    loss.generator_loss(fake).backward()
    assert (fake.grad < 0).all()  # G wants D(fake) higher
    fake.grad = None
    real = PROBS_REAL.clone().requires_grad_(True)
    loss.discriminator_loss(real, fake).backward()
    assert (real.grad <= 0).all() and (fake.grad >= 0).all() and fake.grad.abs().sum() > 0


def test_sigmoid_rule_and_unknown_kind():
    assert discriminator_uses_sigmoid("nsgan") and discriminator_uses_sigmoid("lsgan")
    assert not discriminator_uses_sigmoid("hinge")
    with pytest.raises(ValueError, match="unknown GAN loss kind 'wgan'"):
        AdversarialLoss("wgan")
