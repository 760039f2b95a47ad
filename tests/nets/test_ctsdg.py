"""CTSDG against the authors' own forward pass (official_forward/ctsdg.pt, README-part2.md)."""
import pytest
import torch
from torch import nn

from inpainting.nets.checkpoints import CheckpointError
from inpainting.nets.ctsdg import (
    RAL,
    CTSDGInpainter,
    Discriminator,
    Generator,
    load_ctsdg_checkpoint,
    structure_inputs,
    wrapped_bytes,
)
from tests.conftest import shared_path
from tests.nets.official_weights import official_state_dict


def ctsdg_state_dict(module: nn.Module, key_shapes: dict, aliases: dict | None = None) -> dict:
    """The fixture's weights: the base recipe, then its rules 1-4 (BN buffers, aliases, SN u/v, BN gain 1+)."""
    state = official_state_dict(key_shapes)
    batch_norms = {name for name, m in module.named_modules() if isinstance(m, nn.BatchNorm2d)}
    for key in state:
        owner, leaf = key.rsplit(".", 1)
        if leaf == "running_mean":
            state[key] = torch.zeros_like(state[key])
        elif leaf == "running_var":
            state[key] = torch.ones_like(state[key])
        elif leaf == "num_batches_tracked":
            state[key] = torch.zeros((), dtype=torch.long)
    for alias, source in (aliases or {}).items():
        state[alias] = state[source].clone()
    for key in state:
        owner, leaf = key.rsplit(".", 1)
        if leaf in ("weight_u", "weight_v"):
            state[key] = state[key] / state[key].norm()
        elif leaf == "weight" and owner in batch_norms:
            state[key] = 1 + state[key]
    return state


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    return ((value - reference).abs().max() / reference.abs().max()).item()


@pytest.fixture(scope="module")
def fixture():
    return torch.load(shared_path("fixtures", "official_forward", "ctsdg.pt"), weights_only=True)


@pytest.fixture(scope="module")
def official_generator():
    return Generator()  # 52 M parameters: built once for the whole module


@pytest.fixture(scope="module")
def generator_run(fixture, official_generator):
    """One forward of the adapter (corrected gray/edge path = the fixture's inputs), with hooks on every part."""
    generator = official_generator
    state = ctsdg_state_dict(generator, fixture["g_keys"])
    assert set(state) == set(generator.state_dict())
    generator.load_state_dict(state, strict=True)
    adapter = CTSDGInpainter(generator, structure_from="image").eval()
    seen = {}

    def keep(name):
        def hook(module, inputs, output):
            seen[name] = (inputs, output)
        return hook

    for name, module in generator.named_children():
        module.register_forward_hook(keep(name))
    for name in ("ral", "msfa"):
        getattr(generator.cfa, name).register_forward_hook(keep(f"cfa_{name}"))
    generator.cfa.msfa.weight_calc.register_forward_hook(keep("cfa_msfa_weight"))
    generator.register_forward_hook(keep("generator"))
    image, hole = (fixture["image"] + 1) / 2, 1 - fixture["mask"]
    with torch.no_grad():
        out = adapter(image, hole)
    return out, seen


def test_parameter_counts(official_generator):
    discriminator = Discriminator()
    assert sum(p.numel() for p in official_generator.parameters()) == 52_147_789 == CTSDGInpainter.meta.param_count
    assert sum(p.numel() for p in discriminator.parameters()) == 5_531_729
    parts = {name: sum(p.numel() for p in m.parameters()) for name, m in discriminator.named_children()}
    assert parts == {"texture_branch": 2_763_776, "structure_branch": 2_762_752, "edge_detector": 5_201}


def test_official_keys_and_shapes(fixture, official_generator):
    for module, keys in ((official_generator, fixture["g_keys"]), (Discriminator(), fixture["d_keys"])):
        assert {k: list(v.shape) for k, v in module.state_dict().items()} == keys


def test_generator_inputs_outputs_match_official(fixture, generator_run):
    out, seen = generator_run
    (input_image, input_structure, valid), _ = seen["generator"]
    assert (input_image - fixture["input_image"]).abs().max() < 1e-6
    assert (input_structure - fixture["input_structure"]).abs().max() < 1e-6 and torch.equal(valid, fixture["mask"])
    output, projected_image, projected_edge = seen["generator"][1]
    for name, value in (("output", output), ("projected_image", projected_image), ("projected_edge", projected_edge)):
        assert (value - fixture[name]).abs().max() < 1e-5, name
    assert (out["pred"] - (fixture["output"] + 1) / 2).abs().max() < 1e-5
    assert (out["gray"] - fixture["gray"]).abs().max() < 1e-6 and torch.equal(out["edge"], fixture["edge"])


def test_generator_intermediates_match_official(fixture, generator_run):
    _, seen = generator_run
    sums = {}
    for branch in ("texture", "structure"):
        for level in range(1, 8):
            for part in ("ec", "dc"):
                sums[f"{part}_{branch}_{level}_sum"] = seen[f"{part}_{branch}_{level}"][1][0].sum((2, 3))
    sums.update(bigff_sum=seen["bigff"][1].sum((2, 3)), fusion1_sum=seen["fusion_layer1"][1].sum((2, 3)),
                cfa_ral_sum=seen["cfa_ral"][1].sum((2, 3)), cfa_msfa_weight_sum=seen["cfa_msfa_weight"][1].sum((2, 3)),
                cfa_sum=seen["cfa_msfa"][1].sum((2, 3)), fusion2_sum=seen["fusion_layer2"][1].sum((2, 3)))
    errors = {name: relative_error(value, fixture[name]) for name, value in sums.items()}
    assert max(errors.values()) < 1e-5, errors
    assert (seen["ec_texture_7"][1][0] - fixture["ec_texture_7"]).abs().max() < 1e-5


def test_discriminator_matches_official(fixture):
    discriminator = Discriminator()
    discriminator.load_state_dict(ctsdg_state_dict(discriminator, fixture["d_keys"], fixture["d_key_aliases"]))
    discriminator.eval()
    with torch.no_grad():
        real_logits, real_edge = discriminator.logits(fixture["image"], fixture["gray"], fixture["edge"])
        fake_logits, fake_edge = discriminator.logits(fixture["output"], fixture["gray"])
        fake_pred, _ = discriminator(fixture["output"], fixture["gray"])
    assert relative_error(real_logits, fixture["d_real_logits"]) < 1e-5
    assert relative_error(fake_logits, fixture["d_fake_logits"]) < 1e-5
    assert (real_edge - fixture["d_real_edge"]).abs().max() < 1e-5
    assert (fake_edge - fixture["d_fake_edge"]).abs().max() < 1e-5
    assert torch.equal(fake_pred, torch.sigmoid(fake_logits))


def test_structure_inputs_match_official_and_corrected_paths(fixture):
    image = (fixture["image"] + 1) / 2
    edge, gray = structure_inputs(image, "image")
    assert (gray - fixture["gray"]).abs().max() < 1e-6 and torch.equal(edge, fixture["edge"])
    edge, gray = structure_inputs(image, "wrap")  # the official loader's byte wrap of the [-1, 1] tensor
    assert (gray - fixture["gray_official_wrap"]).abs().max() < 1e-6
    assert torch.equal(edge, fixture["edge_official_wrap"])
    assert (fixture["edge_official_wrap"] != fixture["edge"]).float().mean() > 0.1  # the switch matters


def test_wrap_maps_bytes_as_the_official_cast():
    image = torch.tensor([0.0, 0.25, 0.5, 1.0]).view(1, 4, 1, 1)  # normalized: -1, -0.5, 0, 1
    assert torch.equal(wrapped_bytes(image).flatten() * 255, torch.tensor([1.0, 129.0, 0.0, 255.0]))


def _per_sample_ral(ral, x):
    return torch.cat([ral(x[i:i + 1], x[i:i + 1]) for i in range(x.shape[0])])


def test_batched_ral_equals_the_per_sample_loop():
    torch.manual_seed(0)
    ral, x = RAL(), torch.randn(3, 8, 16, 12)
    batched = ral(x, x)
    assert batched.shape == x.shape
    assert (batched - _per_sample_ral(ral, x)).abs().max() < 1e-5
    x2 = x.clone()
    x2[1] = torch.randn(8, 16, 12)  # samples do not see each other
    assert torch.equal(ral(x2, x2)[[0, 2]], batched[[0, 2]])


def test_adapter_conventions_and_size_check():
    torch.manual_seed(0)
    adapter = CTSDGInpainter(Generator(width=8), structure_from="image", edges_from_known_only=True).eval()
    image, mask = torch.rand(1, 3, 128, 128), torch.zeros(1, 1, 128, 128)
    mask[..., 40:90, 30:100] = 1
    with torch.no_grad():
        out = adapter(image, mask)
        filled = adapter(torch.where(mask.bool(), torch.rand_like(image), image), mask)
    assert out["pred"].shape == image.shape and 0 <= out["pred"].min() and out["pred"].max() <= 1
    assert torch.equal(out["pred"], filled["pred"])  # the hole's content is never seen
    with pytest.raises(ValueError, match="divisible by 128"):
        adapter(torch.rand(1, 3, 64, 64), torch.zeros(1, 1, 64, 64))
    with pytest.raises(ValueError, match="structure_from"):
        CTSDGInpainter(Generator(width=8), structure_from="normalised")


def test_fine_tuning_freezes_batch_norm():
    generator = Generator(width=8)
    generator.freeze_ec_bn = True
    assert generator.train() is generator
    assert not any(m.training for m in generator.modules() if isinstance(m, nn.BatchNorm2d))
    encoder_only = Generator(width=8, freeze_bn_scope="encoder")
    encoder_only.freeze_ec_bn = True
    encoder_only.train()
    states = {name: m.training for name, m in encoder_only.named_modules() if isinstance(m, nn.BatchNorm2d)}
    assert all(not v for k, v in states.items() if k.startswith("ec_")) and all(
        v for k, v in states.items() if not k.startswith("ec_"))


def test_official_checkpoint_loads_strictly_and_lists_bad_keys(tmp_path):
    generator, discriminator = Generator(width=8), Discriminator()
    path = tmp_path / "010000.pt"
    torch.save({"n_iter": 10000, "generator": generator.state_dict(),
                "discriminator": discriminator.state_dict()}, path)
    fresh_g, fresh_d = Generator(width=8), Discriminator()
    assert load_ctsdg_checkpoint(path, fresh_g, fresh_d) == 10000
    assert all(torch.equal(v, fresh_g.state_dict()[k]) for k, v in generator.state_dict().items())
    assert torch.equal(fresh_d.texture_branch.features[0].weight_orig, discriminator.texture_branch.conv1[0].weight_orig)

    broken = discriminator.state_dict()
    del broken["structure_branch.features.0.weight_orig"]  # the alias must be in the file too
    broken["structure_branch.conv6.weight"] = torch.zeros(1)
    torch.save({"n_iter": 1, "generator": generator.state_dict(), "discriminator": broken}, path)
    with pytest.raises(CheckpointError, match=r"(?s)\['discriminator'\] does not match Discriminator:\n  missing keys \(1\).*structure_branch"
                                              r"\.features\.0\.weight_orig.*unexpected keys \(1\).*conv6"):
        load_ctsdg_checkpoint(path, Generator(width=8), Discriminator())
    torch.save({"generator": generator.state_dict()}, path)
    with pytest.raises(CheckpointError, match="not a CTSDG checkpoint"):
        load_ctsdg_checkpoint(path, Generator(width=8), Discriminator())
    assert load_ctsdg_checkpoint(path, Generator(width=8)) == 0  # test.py reads the generator only
    with pytest.raises(CheckpointError, match=r"shape mismatch"):
        CTSDGInpainter(Generator(width=16)).load_weights(weights=path)
