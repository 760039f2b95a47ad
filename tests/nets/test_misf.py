"""MISF generator (and ablation variants) and the PatchGAN discriminator."""
import pytest
import torch
import torch.nn.functional as F

from inpainting.nets import (
    CheckpointError,
    MISFGenerator,
    PatchDiscriminator,
    expand_feature_kernels,
    load_misf_discriminator,
    load_misf_generator,
)
from inpainting.nets.misf import VARIANTS
from tests.conftest import shared_path
from tests.nets.official_weights import official_state_dict


@pytest.fixture(scope="module")
def fixture():
    return torch.load(shared_path("fixtures", "official_forward", "misf_generator.pt"), weights_only=True)


def _n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_generator_keys_and_parameter_count(fixture):
    g = MISFGenerator()
    assert _n_params(g) == 23_059_493
    assert {k: tuple(v.shape) for k, v in g.state_dict().items()} == {k: tuple(v) for k, v in fixture["keys"].items()}


def test_generator_matches_official(fixture, tmp_path):
    path = tmp_path / "places2_InpaintingModel_gen.pth"
    torch.save({"iteration": 7, "generator": official_state_dict(fixture["keys"])}, path)
    g = MISFGenerator()
    assert load_misf_generator(g, path) == 7
    with torch.no_grad():
        out = g.eval()(fixture["image"], fixture["mask"])
    assert (out - fixture["output"]).abs().max().item() < 1e-5


def test_discriminator_keys_count_and_loading(tmp_path):
    torch.manual_seed(0)  # the raw-score check below needs a negative score: not left to the tests run before
    d = PatchDiscriminator()
    assert _n_params(d) == 2_763_776
    keys = d.state_dict()
    assert len(keys) == 18 and keys["features.0.weight_v"].shape == (48,)
    assert torch.equal(keys["features.0.weight_orig"], keys["conv1.0.weight_orig"])
    scores, feats = d(torch.rand(1, 3, 64, 64))
    assert scores.shape == (1, 1, 6, 6) and len(feats) == 5
    assert ((scores > 0) & (scores < 1)).all()
    hinge = PatchDiscriminator(use_sigmoid=False)
    hinge.load_state_dict(d.state_dict())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():  # eval: no power iteration, both see the same normalized weights
        raw, probs = hinge.eval()(x)[0], d.eval()(x)[0]
    assert torch.allclose(torch.sigmoid(raw), probs) and (raw < 0).any()
    path = tmp_path / "1_InpaintingModel_dis.pth"
    torch.save({"discriminator": d.state_dict()}, path)
    other = PatchDiscriminator()
    load_misf_discriminator(other, path)
    assert torch.equal(other.conv5[0].weight_orig, d.conv5[0].weight_orig)


def test_init_is_normal_002():
    g = MISFGenerator("en_decoder")
    w = g.middle[0].conv_block[1].weight
    assert abs(w.std().item() - 0.02) < 1e-3 and g.middle[0].conv_block[1].bias.abs().max() == 0
    d = PatchDiscriminator()
    assert abs(d.conv4[0].weight_orig.std().item() - 0.02) < 1e-3


def test_feature_kernel_expansion_is_interleaved_and_m1_faithful():
    raw = torch.randn(2, 9, 3, 5)
    fixed = expand_feature_kernels(raw, fix_nonsquare=True)
    assert torch.equal(fixed, raw.repeat_interleave(4, 1))
    # Faithful path = the official 3-D nearest interpolation with (w, h) swapped, then re-viewed.
    official = F.interpolate(raw.unsqueeze(0), size=(36, 5, 3), mode="nearest").view(2, 36, 3, 5)
    assert torch.equal(expand_feature_kernels(raw), official)
    assert not torch.equal(official, fixed)
    square = torch.randn(1, 9, 4, 4)
    assert torch.equal(expand_feature_kernels(square), expand_feature_kernels(square, fix_nonsquare=True))


def test_nonsquare_quirk_switch_changes_only_nonsquare_outputs():
    torch.manual_seed(0)
    g = MISFGenerator(width=0.25).eval()
    fixed = MISFGenerator(width=0.25, fix_nonsquare_kernels=True).eval()
    fixed.load_state_dict(g.state_dict())
    with torch.no_grad():
        for h, w, same in ((32, 32, True), (32, 48, False)):
            x, m = torch.rand(1, 3, h, w), (torch.rand(1, 1, h, w) > 0.5).float()
            assert torch.equal(g(x, m), fixed(x, m)) == same


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_build_and_run(variant):
    torch.manual_seed(0)
    g = MISFGenerator(variant, width=0.25)
    for h, w in ((64, 64), (64, 96)):
        x, m = torch.rand(2, 3, h, w), (torch.rand(2, 1, h, w) > 0.6).float()
        out = g(x, m)
        assert out.shape == (2, 3, h, w)
        assert ((out > 0) & (out < 1)).all()
    out.mean().backward()
    dead = {"kpn_model.conv_final.weight", "kpn_model.conv_final.bias"}
    assert all(p.grad is not None for n, p in g.named_parameters() if n not in dead)


def test_variant_structure():
    kpb = {v: MISFGenerator(v, width=0.25).kpn_model for v in VARIANTS}
    assert kpb["en_decoder"] is None
    assert not hasattr(kpb["img_filter"], "kernels") and kpb["img_filter"].core_img is not None
    assert kpb["sem_filter_f1"].kernels.out_channels == 16 * 9 // 4  # e0: 64*0.25 channels
    assert kpb["sem_filter_f2"].kernels.out_channels == 32 * 9 // 4
    assert kpb["sem_filter_f3"].kernels.out_channels == 64 * 9 // 4
    assert not hasattr(kpb["sem_filter_f3"], "conv4")  # no dead decoder path
    assert kpb["en_decoder_filter"].conv3.conv1[0].in_channels == 32  # no SIFB concatenation
    # F3 at full width is MISF's head, key for key
    full = MISFGenerator("sem_filter_f3").state_dict()
    assert full["kpn_model.kernels.weight"].shape == (576, 256, 1, 1)


def test_full_size_variants_at_64():
    with torch.no_grad():
        for variant in ("img_filter", "sem_filter_f1"):
            out = MISFGenerator(variant)(torch.rand(1, 3, 64, 64), torch.ones(1, 1, 64, 64))
            assert out.shape == (1, 3, 64, 64)


def test_errors():
    with pytest.raises(ValueError, match="unknown MISF variant"):
        MISFGenerator("misf_v2")
    g = MISFGenerator("en_decoder", width=0.25)
    with pytest.raises(ValueError, match="divisible by 4"):
        g(torch.rand(1, 3, 30, 32), torch.zeros(1, 1, 30, 32))
    with pytest.raises(ValueError, match="expected a mask of shape"):
        g(torch.rand(1, 3, 32, 32), torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="divisible by 4"):
        MISFGenerator("sem_filter_f1", width=0.1)


def test_wrong_checkpoint_lists_keys(tmp_path):
    path = tmp_path / "bad_gen.pth"
    state = MISFGenerator().state_dict()
    state.pop("kpn_model.conv_final.bias")
    state["kpn_model.extra.weight"] = torch.zeros(1)
    torch.save({"iteration": 1, "generator": state}, path)
    with pytest.raises(CheckpointError) as err:
        load_misf_generator(MISFGenerator(), path)
    msg = str(err.value)
    assert "bad_gen.pth" in msg and "kpn_model.conv_final.bias" in msg and "kpn_model.extra.weight" in msg
