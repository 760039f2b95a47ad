"""StructureFlow's Gs, Gt and two-scale discriminator against the authors' code (structureflow.pt)."""
import pytest
import torch

from inpainting.nets.checkpoints import CheckpointError
from inpainting.nets.structureflow import (
    FlowGenerator,
    MultiDiscriminator,
    StructureGenerator,
    load_structureflow_network,
)
from tests.conftest import shared_path
from tests.nets.official_weights import official_state_dict


def _fixture():
    return torch.load(shared_path("fixtures", "official_forward", "structureflow.pt"), weights_only=True)


@pytest.fixture(scope="module")
def nets():
    """Full-width networks, built once (~2 s each on one core); tests load the weights they need."""
    return {"gs": StructureGenerator(), "gt": FlowGenerator(), "d": MultiDiscriminator()}


def _replayed(network, keys, tmp_path, name):
    """The recipe's weights (spectral-norm u and v unit-normalized, README-part2 rule 3), loaded from a file."""
    state = official_state_dict(keys)
    for key, value in state.items():
        if key.endswith(("weight_u", "weight_v")):
            state[key] = value / value.norm()
    path = tmp_path / name
    torch.save(state, path)
    return load_structureflow_network(network, path).eval()


def _n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts(nets):
    assert _n_params(nets["gs"]) == 36_057_411
    gt = nets["gt"]
    assert _n_params(gt) == 56_473_475
    assert (_n_params(gt.flow_column), _n_params(gt.conv_column)) == (32_888_256, 23_585_219)
    assert _n_params(nets["d"]) == 1_196_544


def test_official_key_names_and_shapes(nets):
    fx = _fixture()
    for name in ("gs", "gt", "d"):
        assert {k: list(v.shape) for k, v in nets[name].state_dict().items()} == fx[f"{name}_keys"]


# Generator outputs agree to ~4e-5 (Gs), 3e-6 (Gt image), 3e-5 (flow, |flow| up to 2.3); a layout
# mistake gives 1e-3 or more (README-part2). Discriminator scores (~1e6-1e8) are compared relatively.
def test_structure_generator_matches_fixture(nets, tmp_path):
    fx = _fixture()
    gs = _replayed(nets["gs"], fx["gs_keys"], tmp_path, "latest_net_s_gen.pth")
    with torch.no_grad():
        out = gs(fx["gs_input"])
    assert (out - fx["gs_output"]).abs().max() < 1e-4


def test_flow_generator_matches_fixture(nets, tmp_path):
    fx = _fixture()
    gt = _replayed(nets["gt"], fx["gt_keys"], tmp_path, "latest_net_f_gen.pth")
    sampled = {}
    hook = gt.conv_column.down_sample[0].register_forward_hook(lambda m, i, o: sampled.__setitem__("x1", o))
    with torch.no_grad():
        out, flow = gt(fx["gt_input"])
    hook.remove()
    assert (flow - fx["gt_flow"]).abs().max() < 1e-4
    assert (sampled["x1"] - fx["gt_x1"]).abs().max() < 1e-4
    with torch.no_grad():
        assert (gt.conv_column.resample16(fx["gt_x1"], fx["gt_flow"]) - fx["gt_sampled16"]).abs().max() < 1e-5
        assert (gt.conv_column.resample4(fx["gt_x1"], fx["gt_flow"]) - fx["gt_sampled4"]).abs().max() < 1e-5
    assert (out - fx["gt_output"]).abs().max() < 1e-4


def test_discriminator_matches_fixture_relative(nets, tmp_path):
    fx = _fixture()
    d = _replayed(nets["d"], fx["d_keys"], tmp_path, "latest_net_f_dis.pth")
    with torch.no_grad():
        scores = d(fx["d_input"])
    for got, key in zip(scores, ("d_output_scale1", "d_output_scale2")):
        ref = fx[key]
        assert got.shape == ref.shape
        assert (got - ref).abs().max() / ref.abs().max() < 1e-5  # measured 2.9e-6


def test_loader_lists_missing_and_unexpected_keys(tmp_path):
    small = dict(dim=8, n_res=1)
    path = tmp_path / "latest_net_f_gen.pth"
    torch.save(FlowGenerator(**small).state_dict(), path)
    loaded = load_structureflow_network(FlowGenerator(**small), path)
    assert isinstance(loaded, FlowGenerator)
    with pytest.raises(CheckpointError, match=r"(?s)latest_net_f_gen.pth.*missing keys.*input_layer.conv.weight_orig"
                                              r".*unexpected keys.*flow_column.down_sample_flow.0.0.conv.weight"):
        load_structureflow_network(StructureGenerator(**small), path)
    with pytest.raises(FileNotFoundError, match="latest_net_s_gen.pth"):
        load_structureflow_network(StructureGenerator(**small), tmp_path / "latest_net_s_gen.pth")
