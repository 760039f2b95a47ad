"""EdgeConnect generators, Canny edges, the framework-convention wrapper."""
import numpy as np
import pytest
import torch
from skimage.feature import canny

from inpainting.nets import (
    CheckpointError,
    EdgeConnect,
    EdgeGenerator,
    InpaintGenerator,
    canny_edges,
    load_edgeconnect_generator,
)


def _n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_and_official_key_names():
    g2 = InpaintGenerator()
    assert _n_params(g2) == 10_774_595  # identical to MISF's SIFB
    g1 = EdgeGenerator()
    assert round(_n_params(g1) / 1e6, 2) == 10.76
    keys = g1.state_dict()
    assert "encoder.1.weight_orig" in keys and "encoder.1.bias" in keys
    assert "middle.0.conv_block.1.weight_orig" in keys and "middle.0.conv_block.1.bias" not in keys
    assert "decoder.7.weight" in keys and "decoder.7.weight_orig" not in keys
    assert set(g2.state_dict()) >= {"encoder.7.weight", "middle.7.conv_block.5.bias", "decoder.3.weight"}


def test_canny_matches_skimage_and_ignores_holes():
    torch.manual_seed(0)
    gray = torch.zeros(2, 1, 32, 32)
    gray[:, :, 8:24, 8:24] = 1.0
    gray += 0.05 * torch.rand_like(gray)
    mask = torch.zeros(2, 1, 32, 32)
    mask[1, :, 12:32, 12:32] = 1
    edges = canny_edges(gray, mask)
    assert edges.shape == gray.shape and set(edges.unique().tolist()) <= {0.0, 1.0}
    ref = canny(gray[1, 0].numpy(), sigma=2.0, mask=mask[1, 0].numpy() < 0.5)
    assert np.array_equal(edges[1, 0].numpy().astype(bool), ref)
    assert edges[0].sum() > 0 and edges[1][mask[1] > 0].sum() == 0
    with pytest.raises(ValueError, match="sigma"):
        canny_edges(gray, mask, sigma=0)


def test_wrapper_conventions():
    torch.manual_seed(0)
    model = EdgeConnect(residual_blocks=1).eval()
    image = torch.rand(2, 3, 32, 32)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:20, 10:26] = 1
    with torch.no_grad():
        out = model(image, mask)
        raw = model(image, mask, composite=False)
        # G2 sees white holes: changing hole content of the input must not change anything
        out_other = model(torch.where(mask.bool(), torch.rand_like(image), image), mask)
    assert out.shape == image.shape and 0 <= out.min() and out.max() <= 1
    assert torch.equal(out * (1 - mask), image * (1 - mask))
    assert torch.allclose(out * mask, raw * mask)
    assert torch.allclose(out * mask, out_other * mask, atol=1e-6)


def test_checkpoint_loading_and_errors(tmp_path):
    g2 = InpaintGenerator(residual_blocks=1)
    path = tmp_path / "InpaintingModel_gen.pth"
    torch.save({"iteration": 3, "generator": g2.state_dict()}, path)
    other = InpaintGenerator(residual_blocks=1)
    assert load_edgeconnect_generator(other, path) == 3
    assert torch.equal(other.decoder[7].weight, g2.decoder[7].weight)
    with pytest.raises(CheckpointError, match="missing keys.*middle.1.conv_block"):
        load_edgeconnect_generator(InpaintGenerator(residual_blocks=2), path)
    with pytest.raises(CheckpointError, match=r"(?s)shape mismatch.*encoder.1.weight: file \(64, 4, 7, 7\)"):
        load_edgeconnect_generator(EdgeGenerator(residual_blocks=1, spectral_norm=False), path)
    with pytest.raises(FileNotFoundError, match="EdgeModel_gen.pth"):
        EdgeConnect.from_checkpoints(tmp_path / "EdgeModel_gen.pth", path)
    torch.save({"weights": g2.state_dict()}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError, match="odd.pth.*'generator'"):
        load_edgeconnect_generator(g2, tmp_path / "odd.pth")
