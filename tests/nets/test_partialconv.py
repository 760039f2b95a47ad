"""The shared partial convolution against NVIDIA's PartialConv2d (official forward fixture)."""
import pytest
import torch
from torch import nn

from inpainting.nets.partialconv import PartialConv2d
from tests.conftest import shared_path
from tests.nets.official_weights import official_state_dict


class Chain(nn.Module):
    """The fixture's three-layer container (its key names are the fixture's own)."""

    def __init__(self, multi_channel: bool):
        super().__init__()
        kw = {"multi_channel": multi_channel}
        self.pconv1 = PartialConv2d(3, 16, 7, stride=2, padding=3, bias=True, **kw)
        self.pconv2 = PartialConv2d(16, 8, 3, stride=1, padding=1, bias=True, **kw)
        self.pconv3 = PartialConv2d(8, 4, 3, stride=1, padding=2, dilation=2, bias=False, **kw)

    def forward(self, x, mask):
        outs = []
        for layer in (self.pconv1, self.pconv2, self.pconv3):
            x, mask = layer(x, mask)
            outs.append((x, mask))
        return outs


@pytest.fixture(scope="module")
def fixture():
    return torch.load(shared_path("fixtures", "official_forward", "partialconv.pt"), weights_only=True)


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_chain_matches_official(fixture, mode):
    chain = Chain(multi_channel=mode == "multi")
    chain.load_state_dict(official_state_dict(fixture["keys"]), strict=True)
    assert sum(p.numel() for p in chain.parameters()) == 3816
    with torch.no_grad():
        outs = chain(fixture["image"], fixture[f"mask_{mode}"])
    for i, (out, mask) in enumerate(outs, start=1):
        expected = fixture[f"{mode}_out{i}"]
        assert out.shape == expected.shape
        assert (out - expected).abs().max() <= 1e-5 * max(1.0, expected.abs().max().item())
        assert torch.equal(mask, fixture[f"{mode}_mask{i}"])


def test_hole_windows_are_zero_and_mask_grows():
    torch.manual_seed(0)
    layer = PartialConv2d(3, 4, 3, padding=1, bias=True)
    x = torch.rand(1, 3, 16, 16)
    valid = torch.ones(1, 1, 16, 16)
    valid[..., 4:12, 4:12] = 0
    out, updated = layer(x, valid)
    assert torch.all(out[..., 6:10, 6:10] == 0)  # windows that saw no valid pixel
    assert updated.sum() > valid.sum()  # holes shrink by one pixel per side
    # the result ignores what the hole holds
    out2, _ = layer(x.masked_fill(valid == 0, 5.0), valid)
    assert torch.allclose(out, out2)


def test_mask_shape_is_checked():
    layer = PartialConv2d(3, 4, 3, padding=1, multi_channel=True)
    with pytest.raises(ValueError, match=r"\(B,3,8,8\)"):
        layer(torch.rand(1, 3, 8, 8), torch.ones(1, 1, 8, 8))
