"""EdgeConnect: G1, G2, D1, D2 against the authors' code (edgeconnect.pt), Canny edges, the adapter's
stages and test path, loading."""
import numpy as np
import pytest
import torch
from skimage.feature import canny

from inpainting.nets import (
    CheckpointError,
    EdgeConnect,
    EdgeGenerator,
    InpaintGenerator,
    PatchDiscriminator,
    canny_edges,
    load_edgeconnect_generator,
    rgb_to_gray,
)
from inpainting.utils.checkpoint_read import load_state_dict_strict
from tests.conftest import shared_path
from tests.nets.official_weights import official_state_dict


def _n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_and_official_key_names():
    g2 = InpaintGenerator()
    assert _n_params(g2) == 10_774_595  # identical to MISF's SIFB
    g1 = EdgeGenerator()
    assert _n_params(g1) == 10_761_089
    assert _n_params(g1) + _n_params(g2) == EdgeConnect.meta.param_count
    assert _n_params(PatchDiscriminator(2)) == 2_762_752 and _n_params(PatchDiscriminator(3)) == 2_763_776
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


def _fixture_net(net: torch.nn.Module, key_shapes: dict) -> torch.nn.Module:
    """The fixture's deterministic weights; spectral-norm u/v are the recipe vector over its 2-norm (README-part1)."""
    state = official_state_dict(key_shapes)
    for key, value in state.items():
        if key.endswith(("weight_u", "weight_v")):
            state[key] = value / torch.linalg.vector_norm(value)
    return load_state_dict_strict(net, state, "edgeconnect.pt recipe").eval()


def _relative(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual - expected).abs().max() / expected.abs().max())


@pytest.fixture(scope="module")
def official():
    return torch.load(shared_path("fixtures", "official_forward", "edgeconnect.pt"), weights_only=True)


def test_generators_and_discriminators_match_the_authors_code(official):
    keys = official["keys"]
    g1 = _fixture_net(EdgeGenerator(), keys["g1"])
    g2 = _fixture_net(InpaintGenerator(), keys["g2"])
    d1 = _fixture_net(PatchDiscriminator(2), keys["d1"])
    d2 = _fixture_net(PatchDiscriminator(3), keys["d2"])
    assert [_n_params(n) for n in (g1, g2, d1, d2)] == [official["n_params"][k] for k in ("g1", "g2", "d1", "d2")]
    with torch.no_grad():
        # eval-mode spectral norm: no power iteration, sigma = u . W v (small, sometimes negative)
        sigma = float(g1.middle[3].conv_block[1].weight_orig.flatten(1).mv(g1.middle[3].conv_block[1].weight_v)
                      @ g1.middle[3].conv_block[1].weight_u)
        assert sigma == pytest.approx(official["sn_sigma"]["g1"]["middle.3.conv_block.1"], rel=1e-4)
        torch.testing.assert_close(g1(official["g1_input"]), official["g1_output"], atol=2e-5, rtol=0)
        torch.testing.assert_close(g2(official["g2_input"]), official["g2_output"], atol=2e-5, rtol=0)
        for d, name in ((d1, "d1"), (d2, "d2")):
            scores, features = d(official[f"{name}_input"])
            # logits about 1e7-1e8 (README): compared relative to their largest magnitude
            assert _relative(features[4], official[f"{name}_conv5"]) < 1e-4, name
            for i in range(4):
                assert _relative(features[i].sum((2, 3)), official[f"{name}_conv{i + 1}_sum"]) < 1e-4, (name, i)


def test_test_path_matches_the_official_pipeline(official):
    """The adapter's released test path (Canny on known pixels, raw G1 edges into G2) = ``pipeline_output``.

    The stored tensor is G2's raw output, not the merged image the README names (it differs from the
    image outside the holes by up to 1.0, and from G2's raw output by 7e-6)."""
    keys = official["keys"]
    model = EdgeConnect(_fixture_net(EdgeGenerator(), keys["g1"]), _fixture_net(InpaintGenerator(), keys["g2"])).eval()
    image, mask = official["image"], official["mask"]
    with torch.no_grad():
        out = model(image, mask)
    torch.testing.assert_close(out["pred"], official["pipeline_output"], atol=2e-5, rtol=0)
    # Canny of the known pixels, as the official test Dataset, = the fixture's G1 edge channel
    torch.testing.assert_close(canny_edges(official["d1_input"][:, :1], mask) * (1 - mask), official["g1_input"][:, 1:2])


def _tiny_images():
    torch.manual_seed(0)
    image = torch.rand(2, 3, 32, 32)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:20, 10:26] = 1
    return image, mask


def test_adapter_stages_and_conventions():
    image, mask = _tiny_images()
    model = EdgeConnect(EdgeGenerator(residual_blocks=1), InpaintGenerator(residual_blocks=1)).eval()
    with torch.no_grad():
        out = model(image, mask)
        # G2 sees white holes: changing hole content of the input must not change anything
        other = model(torch.where(mask.bool(), torch.rand_like(image), image), mask)
    assert out["pred"].shape == image.shape and 0 <= out["pred"].min() and out["pred"].max() <= 1
    assert torch.allclose(out["pred"] * mask, other["pred"] * mask, atol=1e-6)
    # stage 3 training: G1's edges inside the hole, the full image's Canny outside; G1 frozen
    model.train()
    with torch.no_grad():
        trained = model(image, mask)
    canny = canny_edges(rgb_to_gray(image))
    assert torch.equal(trained["edges"] * (1 - mask), canny * (1 - mask))
    assert not any(p.requires_grad for p in model.edge_generator.parameters())
    frozen_sn = EdgeConnect(EdgeGenerator(residual_blocks=1), InpaintGenerator(residual_blocks=1),
                            sn_updates_in_frozen_edge_generator=False).train()
    assert not frozen_sn.edge_generator.training and frozen_sn.inpaint_generator.training
    assert model.edge_generator.training  # faithful: official MODEL 3 keeps G1 in train mode
    # stage 2: ground-truth Canny; stage 1: G1 alone with its target
    inpaint = EdgeConnect(inpaint_generator=InpaintGenerator(residual_blocks=1), stage="inpaint")
    assert torch.equal(inpaint(image, mask)["edges"], canny)
    edge = EdgeConnect(EdgeGenerator(residual_blocks=1), stage="edge")(image, mask)
    assert torch.equal(edge["canny"], canny) and edge["pred"].shape == image.shape
    with pytest.raises(ValueError, match="missing \\['inpaint_generator'\\]"):
        EdgeConnect(EdgeGenerator(residual_blocks=1))
    with pytest.raises(ValueError, match="divisible by 4"):
        model(image[..., :30, :30], mask[..., :30, :30])


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
        EdgeConnect(EdgeGenerator(residual_blocks=1), InpaintGenerator(residual_blocks=1)).load_weights(
            edge_weights=tmp_path / "EdgeModel_gen.pth", inpaint_weights=path)
    with pytest.raises(ValueError, match="edge_weights=.*has no edge generator"):
        EdgeConnect(inpaint_generator=InpaintGenerator(residual_blocks=1), stage="inpaint").load_weights(edge_weights=path)
    torch.save({"weights": g2.state_dict()}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError, match="odd.pth.*'generator'"):
        load_edgeconnect_generator(g2, tmp_path / "odd.pth")
