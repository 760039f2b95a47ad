"""The PConv / RFRNet loss against RFRNet's get_g_loss (model.py), on a stand-in VGG16 file."""
import pytest
import torch
from torch import nn

from inpainting.losses import PConvLoss, VGG16PoolFeatures, total_variation
from inpainting.utils.weights import WeightsMissingError


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(0)
    output = torch.rand(2, 3, 32, 32, generator=gen, requires_grad=True)
    target = torch.rand(2, 3, 32, 32, generator=gen)
    hole = torch.zeros(2, 1, 32, 32)
    hole[0, :, 4:20, 6:18] = 1
    hole[1, :, 10:30, 2:12] = 1
    return output, target, hole


def rfrnet_g_loss(lossnet, real, fake, valid):
    """RFRNetModel.get_g_loss, transcribed (mask 1 = valid, 3 channels)."""
    comp = fake * (1 - valid) + real * valid
    feats = [lossnet(x) for x in (real, fake, comp)]

    def style(a_feats, b_feats):
        total = 0.0
        for a, b in zip(a_feats, b_feats):
            _, c, w, h = a.size()
            a, b = a.view(a.size(0), c, -1), b.view(b.size(0), c, -1)
            total += torch.mean(torch.abs(a @ a.transpose(2, 1) - b @ b.transpose(2, 1)) / (c * w * h))
        return total

    def perceptual(a_feats, b_feats):
        return sum(torch.mean(torch.abs(a - b)) for a, b in zip(a_feats, b_feats))

    x = comp * (1 - valid)
    tv = torch.mean(torch.abs(x[:, :, 1:, :] - x[:, :, :-1, :])) + torch.mean(torch.abs(x[:, :, :, 1:] - x[:, :, :, :-1]))
    return (tv * 0.1 + (style(feats[0], feats[1]) + style(feats[0], feats[2])) * 120
            + (perceptual(feats[0], feats[1]) + perceptual(feats[0], feats[2])) * 0.05
            + torch.mean(torch.abs(real - fake) * valid) + 6 * torch.mean(torch.abs(real - fake) * (1 - valid)))


def test_equals_rfrnet_official_loss_with_the_hub_file(standin_vgg16, batch):
    from torchvision.models.vgg import cfgs, make_layers

    output, target, hole = batch
    features = make_layers(cfgs["D"])
    features.load_state_dict({k[len("features."):]: v for k, v in standin_vgg16.items()})
    slices = [nn.Sequential(*features[:5]), nn.Sequential(*features[5:10]), nn.Sequential(*features[10:17])]

    def lossnet(x):  # RFRNet's VGG16FeatureExtractor
        out = []
        for part in slices:
            x = part(x)
            out.append(x)
        return out

    expected = rfrnet_g_loss(lossnet, target, output, (1 - hole).expand(-1, 3, -1, -1))
    loss = PConvLoss()  # RFRNet's settings: raw [0,1] into VGG, TV of the composite's hole
    total, parts = loss(output, target, hole)
    assert set(parts) == {"valid", "hole", "perceptual", "style", "tv"}
    torch.testing.assert_close(total, expected, rtol=1e-5, atol=0)
    total.backward()
    assert output.grad.abs().sum() > 0
    assert not any(k.startswith("vgg.") for k in loss.state_dict())  # frozen weights stay out of checkpoints


def test_dilated_hole_tv_counts_only_the_dilated_region():
    composite = torch.zeros(1, 1, 6, 6)
    composite[..., 0, 0] = 1.0  # far from the hole: ignored
    composite[..., 3, 4] = 2.0  # next to the hole, inside its dilation
    hole = torch.zeros(1, 1, 6, 6)
    hole[..., 2:4, 2:4] = 1
    # pixels (i, j) of the dilation rows/cols 1..4: horizontal pairs (3,3)-(3,4) and (3,4)-(3,5), vertical (2,4)-(3,4)
    # and (3,4)-(4,4): each |diff| = 2
    assert total_variation(composite, hole, "dilated_hole").item() == pytest.approx(4 * 2.0 / 36)
    with pytest.raises(ValueError, match="tv_region"):
        total_variation(composite, hole, "all")


def test_zero_weights_build_no_vgg_and_missing_file_is_named(hub_dir, batch):
    output, target, hole = batch
    loss = PConvLoss(weights={"perceptual": 0, "style": 0}, tv_region="dilated_hole")
    assert loss.vgg is None
    _, parts = loss(output, target, hole)
    assert set(parts) == {"valid", "hole", "tv"}
    with pytest.raises(WeightsMissingError, match="vgg16-397923af.pth"):
        PConvLoss()
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        loss(output, target, hole.expand(-1, 3, -1, -1))


def test_imagenet_norm_changes_only_the_vgg_input(standin_vgg16, batch):
    output, target, hole = batch
    vgg = VGG16PoolFeatures()
    feats = vgg(torch.rand(1, 3, 32, 32))
    assert [tuple(f.shape) for f in feats] == [(1, 64, 16, 16), (1, 128, 8, 8), (1, 256, 4, 4)]
    _, raw = PConvLoss()(output, target, hole)
    _, normed = PConvLoss(vgg_imagenet_norm=True)(output, target, hole)
    assert raw["valid"] == normed["valid"] and raw["perceptual"] != normed["perceptual"]
