"""VGG19 loading and the perceptual/style losses, on a stand-in weights file (no real ImageNet weights here)."""
import pytest
import torch
from torch import nn

from inpainting.losses.feature_losses import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PERCEPTUAL_LAYERS,
    STYLE_LAYERS,
    PerceptualLoss,
    StyleLoss,
    gram_matrix,
)
from inpainting.losses.vgg import (
    LAYER_ENDS,
    VGG19_WEIGHTS_FILE,
    VGG19Features,
    default_vgg19_weights_path,
)
from inpainting.utils.weights import WeightsMissingError

SPEC_SPLITS = (2, 4, 7, 9, 12, 14, 16, 18, 21, 23, 25, 27, 30, 32, 34, 36)


@pytest.fixture(scope="module")
def images():
    gen = torch.Generator().manual_seed(3)
    output = torch.rand(2, 3, 32, 32, generator=gen)
    target = torch.rand(2, 3, 32, 32, generator=gen)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:24, 4:20] = 1.0
    return output, target, mask


def reference_features(standin, x, names):
    return {name: standin.reference[: LAYER_ENDS[name]](x) for name in names}


def test_split_points_are_the_spec_indices():
    assert tuple(LAYER_ENDS.values()) == SPEC_SPLITS
    assert list(LAYER_ENDS)[::4] == ["relu1_1", "relu3_1", "relu4_1", "relu5_1"]
    assert list(LAYER_ENDS)[-1] == "relu5_4"


def test_loads_from_torch_hub_cache_and_matches_torchvision_layout(standin, monkeypatch, images):
    monkeypatch.setenv("TORCH_HOME", str(standin.home))
    assert default_vgg19_weights_path() == standin.path
    extractor = VGG19Features()  # default: "imagenet" weights from the hub cache
    x = images[0]
    ours = extractor(x, LAYER_ENDS)
    expected = reference_features(standin, x, LAYER_ENDS)
    assert list(ours) == list(LAYER_ENDS)
    for name in LAYER_ENDS:
        torch.testing.assert_close(ours[name], expected[name], rtol=0, atol=0)
    assert ours["relu5_4"].shape == (2, 512, 2, 2)


def test_missing_file_is_a_clear_error_and_nothing_is_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("tried to download"))
    expected = tmp_path / "hub" / "checkpoints" / VGG19_WEIGHTS_FILE
    with pytest.raises(FileNotFoundError, match=VGG19_WEIGHTS_FILE) as error:
        PerceptualLoss()
    assert str(expected) in str(error.value) and "weights to 0" in str(error.value)
    with pytest.raises(WeightsMissingError, match=str(tmp_path / "nowhere.pth")):
        VGG19Features(weights_path=tmp_path / "nowhere.pth")


def test_wrong_files_are_clear_errors(tmp_path):
    not_vgg = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(1)}, not_vgg)
    with pytest.raises(ValueError, match=r"other\.pth: not a torchvision VGG19 state_dict"):
        VGG19Features(weights_path=not_vgg)
    truncated = tmp_path / "truncated.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, truncated)
    with pytest.raises(ValueError, match=r"truncated\.pth: does not match torchvision's VGG19"):
        VGG19Features(weights_path=truncated)


def test_frozen_but_passes_gradients_to_the_input(vgg, images):
    assert not any(p.requires_grad for p in vgg.parameters())
    x = images[0].clone().requires_grad_(True)
    vgg(x, ["relu2_1"])["relu2_1"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="unknown VGG19 layers"):
        vgg(x, ["relu6_1"])


def test_vgg_weights_stay_out_of_checkpoints(vgg):
    holder = nn.Module()
    holder.head = nn.Linear(2, 2)
    holder.perceptual = PerceptualLoss(vgg=vgg)
    state = holder.state_dict()
    assert set(state) == {"head.weight", "head.bias"}
    before = vgg.features[0].weight.clone()
    holder.load_state_dict(state, strict=True)  # a checkpoint without VGG keys loads strictly
    stale = dict(state, **{"perceptual.vgg.features.0.weight": torch.zeros_like(before)})
    holder.load_state_dict(stale, strict=True)  # an old copy inside a checkpoint is ignored
    assert torch.equal(vgg.features[0].weight, before)


def test_gram_matrix_on_a_hand_example():
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)  # C=2, H=1, W=2
    expected = torch.tensor([[5.0, 11.0], [11.0, 25.0]]) / 4
    torch.testing.assert_close(gram_matrix(f), expected.view(1, 2, 2))
    batch = torch.cat([f, 2 * f])
    torch.testing.assert_close(gram_matrix(batch)[1], 4 * expected)  # per sample


def test_perceptual_loss_values(vgg, standin, images):
    output, target, _ = images
    loss = PerceptualLoss(vgg=vgg)
    assert loss(target, target).item() == 0.0
    value = loss(output, target)
    a = reference_features(standin, output, PERCEPTUAL_LAYERS)
    b = reference_features(standin, target, PERCEPTUAL_LAYERS)
    expected = sum((a[n] - b[n]).abs().mean() for n in PERCEPTUAL_LAYERS)
    torch.testing.assert_close(value, expected)
    assert value > 0


def test_imagenet_norm_switch(vgg, standin, images):
    output, target, _ = images
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    normed = PerceptualLoss(vgg=vgg, imagenet_norm=True)(output, target)
    raw_on_normalized = PerceptualLoss(vgg=vgg)((output - mean) / std, (target - mean) / std)
    torch.testing.assert_close(normed, raw_on_normalized)
    assert not torch.allclose(normed, PerceptualLoss(vgg=vgg)(output, target))


def test_style_loss_compares_only_the_hole(vgg, standin, images):
    output, target, mask = images
    loss = StyleLoss(vgg=vgg)
    outside_only = target * mask + output * (1 - mask)  # differs from target outside the hole only
    assert loss(outside_only, target, mask).item() == 0.0
    value = loss(output, target, mask)
    a = reference_features(standin, output * mask, STYLE_LAYERS)
    b = reference_features(standin, target * mask, STYLE_LAYERS)
    expected = sum((gram_matrix(a[n]) - gram_matrix(b[n])).abs().mean() for n in STYLE_LAYERS)
    torch.testing.assert_close(value, expected)
    assert value > 0
    with pytest.raises(ValueError, match="StyleLoss: expected a mask"):
        loss(output, target, mask.expand(-1, 3, -1, -1))


def test_each_loss_builds_its_own_vgg_unless_one_is_shared(standin, vgg, images):
    output, target, _ = images
    own = PerceptualLoss(weights_path=standin.path)
    assert own.vgg is not vgg
    torch.testing.assert_close(own(output, target), PerceptualLoss(vgg=vgg)(output, target), rtol=0, atol=0)
    assert StyleLoss(vgg=vgg).vgg is vgg
