"""PConv U-Net built from the paper's layer table (no released network to compare with)."""
import pytest
import torch

from inpainting.nets.checkpoints import CheckpointError
from inpainting.nets.pconv import META, PConvInpainter, PConvUNet, load_pconv_unet


def count(net):
    return sum(p.numel() for p in net.parameters())


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return PConvUNet().eval()  # 7 levels, for 256x256


def test_layer_table_and_parameter_counts(unet):
    # the paper's layer table counts 25.78 M (7 levels) and 32.87 M (8 levels) (docs/rfrnet_pconv.md)
    assert count(unet) == META.param_count == 25_784_276
    assert count(PConvUNet(levels=8)) == 32_865_236
    shapes = {name: tuple(p.shape) for name, p in unet.named_parameters() if name.endswith("conv.weight")}
    assert shapes["enc_1.conv.weight"] == (64, 3, 7, 7) and shapes["enc_3.conv.weight"] == (256, 128, 5, 5)
    assert shapes["enc_7.conv.weight"] == (512, 512, 3, 3) and "enc_8.conv.weight" not in shapes
    assert shapes["dec_7.conv.weight"] == (512, 1024, 3, 3) and shapes["dec_4.conv.weight"] == (256, 768, 3, 3)
    assert shapes["dec_1.conv.weight"] == (3, 67, 3, 3)
    assert unet.enc_1.bn is None and unet.dec_1.bn is None and unet.dec_1.activation is None
    assert unet.dec_2.activation.negative_slope == 0.2


def test_adapter_ignores_hole_content_and_checks_size(unet):
    adapter = PConvInpainter(unet)
    assert adapter.meta is META and META.size_multiple == 128
    gen = torch.Generator().manual_seed(1)
    image = torch.rand(2, 3, 128, 128, generator=gen)
    mask = torch.zeros(2, 1, 128, 128)
    mask[0, :, 20:70, 30:90] = 1
    mask[1, :, 60:120, 0:50] = 1
    with torch.no_grad():
        pred = adapter(image, mask)["pred"]
        other = adapter(image + mask * 5.0, mask)["pred"]
    assert pred.shape == (2, 3, 128, 128) and torch.isfinite(pred).all()
    assert torch.equal(pred, other)
    with pytest.raises(ValueError, match="divisible by 128"):
        adapter(torch.rand(1, 3, 64, 64), torch.zeros(1, 1, 64, 64))


def test_bare_state_dict_loads_strictly(tmp_path):
    torch.manual_seed(0)
    source = PConvUNet(levels=4)
    torch.save(source.state_dict(), tmp_path / "pconv.pth")
    adapter = PConvInpainter(PConvUNet(levels=4))
    adapter.load_weights(weights=str(tmp_path / "pconv.pth"))
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in adapter.generator.state_dict().items())
    deeper = PConvUNet(levels=5).state_dict()  # same shapes up to level 4, plus level 5
    deeper.pop("dec_1.conv.bias")
    torch.save(deeper, tmp_path / "deeper.pth")
    with pytest.raises(CheckpointError, match=r"deeper.pth does not match PConvUNet") as error:
        load_pconv_unet(PConvUNet(levels=4), tmp_path / "deeper.pth")
    assert "missing keys (1): ['dec_1.conv.bias']" in str(error.value)
    assert "unexpected keys" in str(error.value) and "'enc_5.conv.weight'" in str(error.value)
    with pytest.raises(ValueError, match="at least 4 levels"):
        PConvUNet(levels=3)
