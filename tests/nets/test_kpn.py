"""JPGNet KPN (PFUNet / UAFNet), uncertainty map and fusion against the official forward fixture."""
import pytest
import torch

from inpainting.nets import (
    KPN,
    SmartFusion,
    load_jpgnet_kpn,
    naive_fusion,
    pfunet,
    uafnet,
    uncertainty_map,
)
from tests.conftest import shared_path
from tests.nets.official_weights import official_state_dict

ATOL = 1e-5


@pytest.fixture(scope="module")
def fixture():
    return torch.load(shared_path("fixtures", "official_forward", "jpgnet_kpn.pt"), weights_only=True)


def _load_official(net, keys, tmp_path, name):
    path = tmp_path / name
    torch.save(official_state_dict(keys), path)
    return load_jpgnet_kpn(net, path).eval()


def _close(actual, expected, atol=ATOL):
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() < atol * max(1.0, expected.abs().max().item())


def test_parameter_counts_and_keys(fixture):
    pf, uaf = pfunet(), uafnet()
    assert sum(p.numel() for p in pf.parameters()) == 27_395_427
    assert sum(p.numel() for p in uaf.parameters()) == 27_548_256
    for net, keys in ((pf, fixture["pfunet_keys"]), (uaf, fixture["uafnet_keys"])):
        ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        assert ours == {k: tuple(v) for k, v in keys.items()}


@pytest.mark.parametrize("impl", ["shift", "unfold"])
def test_pfunet_matches_official(fixture, tmp_path, impl):
    net = _load_official(pfunet(filter_impl=impl), fixture["pfunet_keys"], tmp_path, "pfunet.pth")
    with torch.no_grad():
        out, kernels = net(fixture["pfunet_input"])
    _close(kernels.sum((2, 3)), fixture["pfunet_kernels_sum"], 1e-4)
    _close(out, fixture["pfunet_output"])
    _close(uncertainty_map(kernels), fixture["uncertainty"])


def test_uafnet_matches_official(fixture, tmp_path):
    net = _load_official(uafnet(), fixture["uafnet_keys"], tmp_path, "uafnet.pth")
    with torch.no_grad():
        out, kernels = net(fixture["uafnet_guide"], fixture["uafnet_data"])
    assert kernels.shape == (2, 54, 64, 64)
    _close(out, fixture["uafnet_output"])


def test_smart_fusion_builds_official_guide(fixture, tmp_path):
    guide, data = fixture["uafnet_guide"], fixture["uafnet_data"]
    res1, res2, k = guide[:, :3], guide[:, 3:6], guide[:, 6:33]
    fusion = SmartFusion()
    _load_official(fusion.net, fixture["uafnet_keys"], tmp_path, "uafnet.pth")
    built_guide, built_data = fusion.build_inputs(res1, res2, k)
    _close(built_guide, guide)
    assert torch.equal(built_data, data)
    with torch.no_grad():
        out, _ = fusion(res1, res2, k)
    _close(out, fixture["uafnet_output"])


def test_small_width_trains_and_keeps_kernel_head():
    torch.manual_seed(0)
    net = pfunet(width=0.25)
    assert net.outc.weight.shape == (27, 27, 1, 1)
    assert net.conv1.conv1[0].weight.shape == (16, 3, 3, 3)
    x = torch.rand(2, 3, 32, 48, requires_grad=True)
    out, kernels = net(x)
    assert out.shape == (2, 3, 32, 48) and kernels.shape == (2, 27, 32, 48)
    out.square().mean().backward()
    assert all(p.grad is not None for p in net.parameters() if p is not net.conv_fusion.weight and p is not net.conv_fusion.bias)
    assert net.conv_fusion.weight.grad is None  # dead in PFUNet


def test_shape_errors():
    net = pfunet(width=0.125)
    with pytest.raises(ValueError, match="divisible by 16"):
        net(torch.rand(1, 3, 40, 48))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        net(torch.rand(1, 4, 32, 32))
    with pytest.raises(ValueError, match="model_type"):
        KPN(3, 3, model_type=3)


def test_uncertainty_variants():
    torch.manual_seed(0)
    k = torch.randn(2, 27, 8, 12)
    taps = k.view(2, 3, 9, 8, 12)
    for reduce, raw in {
        "avg": k.mean(1, keepdim=True),
        "max": taps.amax(2).mean(1, keepdim=True),
        "l1": taps.abs().sum(2).mean(1, keepdim=True),
        "l2": taps.norm(dim=2).mean(1, keepdim=True),
    }.items():
        batch = uncertainty_map(k, reduce=reduce)
        _close(batch, (raw - raw.min()) / (raw.max() - raw.min()))
        image = uncertainty_map(k, reduce=reduce, normalize="image")
        for i in range(2):
            assert image[i].min() == 0 and torch.isclose(image[i].max(), torch.tensor(1.0))
    # batch normalization couples samples, per-image does not
    assert not torch.allclose(uncertainty_map(k[:1]), uncertainty_map(k)[:1])
    assert torch.allclose(uncertainty_map(k[:1], normalize="image"), uncertainty_map(k, normalize="image")[:1])
    assert torch.equal(uncertainty_map(torch.ones(1, 27, 4, 4)), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match="reduction"):
        uncertainty_map(k, reduce="median")


def test_naive_fusion_direction():
    filtered, generated = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    u = torch.tensor([[[[0.0, 0.25], [1.0, 0.0]]]])
    out = naive_fusion(filtered, generated, u)
    assert torch.equal(out[0, 0], u[0, 0])  # U = 1 -> the generative result
    assert torch.equal(naive_fusion(filtered, generated, u, threshold=0.0)[0, 0], (u[0, 0] > 0).float())


def test_uafnet_res1_init_returns_the_dgnet_result():
    from inpainting.nets.jpgnet import SmartFusion

    torch.manual_seed(0)
    res1, res2 = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    kernels = 0.1 * torch.randn(2, 27, 32, 32)
    with torch.no_grad():
        pred, _ = SmartFusion(width=0.25, init="res1")(res1, res2, kernels)
        official, _ = SmartFusion(width=0.25)(res1, res2, kernels)
    assert (pred - res1).abs().max() < 0.01  # the official init starts far from it
    assert (official - res1).abs().mean() > 0.2
    with pytest.raises(ValueError, match="unknown UAFNet init"):
        SmartFusion(width=0.25, init="zeros")


def test_softmax_kernels_average_their_neighbourhood():
    torch.manual_seed(0)
    net = uafnet(width=0.125, kernel_norm="softmax")
    kernels = net.predict_kernels(torch.randn(2, 34, 16, 16))
    taps = kernels.view(2, 6, 9, 16, 16)
    assert taps.min() >= 0
    torch.testing.assert_close(taps.sum(2), torch.ones(2, 6, 16, 16))
    with pytest.raises(ValueError, match="unknown kernel_norm 'l1'"):
        uafnet(width=0.125, kernel_norm="l1")
    with pytest.raises(ValueError, match="unknown padding 'reflect'"):
        uafnet(width=0.125, padding="reflect")


@pytest.mark.parametrize("padding,flat", [("replicate", True), ("zeros", False)])
def test_res1_start_with_softmax_kernels_keeps_a_flat_result_flat_up_to_the_border(padding, flat):
    """The demo's UAFNet (softmax kernels, res1 start): a flat res1 comes back exactly with replicate padding;
    zero padding darkens its border; a textured res1 comes back near itself (centre weight 0.87)."""
    torch.manual_seed(0)
    fusion = SmartFusion(width=0.125, init="res1", kernel_norm="softmax", padding=padding)
    res1, res2, kernels = torch.full((1, 3, 32, 32), 0.8), torch.rand(1, 3, 32, 32), torch.randn(1, 27, 32, 32)
    with torch.no_grad():
        pred, _ = fusion(res1, res2, kernels)
        textured = torch.rand(1, 3, 32, 32)
        near, _ = fusion(textured, res2, kernels)
    assert ((pred - res1).abs().max() < 1e-5) == flat
    assert (pred - res1)[..., 8:24, 8:24].abs().max() < 1e-5  # the interior never sees the padding
    assert (near - textured).abs().mean() < 0.1 < (res2 - textured).abs().mean()


def test_fixed_mixing_leaves_only_the_kernel_predictor_trainable():
    fusion = SmartFusion(width=0.125, init="res1", train_mixing=False)
    frozen = {n for n, p in fusion.named_parameters() if not p.requires_grad}
    assert frozen == {"net.conv_fusion.weight", "net.conv_fusion.bias", "net.conv_final.weight", "net.conv_final.bias"}
    assert all(p.requires_grad for p in SmartFusion(width=0.125).parameters())
