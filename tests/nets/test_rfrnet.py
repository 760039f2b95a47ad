"""RFRNet against the authors' code (official forward fixture rfrnet.pt), its checkpoint loader and adapter."""
import hydra
import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from inpainting.cli.common import CONFIG_DIR
from inpainting.nets.checkpoints import CheckpointError
from inpainting.nets.rfrnet import META, KnowledgeConsistentAttention, RFRNet, RFRNetInpainter, load_rfrnet_checkpoint
from tests.conftest import shared_path
from tests.nets.official_weights import official_state_dict

BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@pytest.fixture(scope="module")
def fixture():
    return torch.load(shared_path("fixtures", "official_forward", "rfrnet.pt"), weights_only=True)


def fixture_state(fixture, bn_gain: bool) -> dict:
    """The README's recipe: BatchNorm buffers at mean 0 / var 1 / count 0; ``bngain_*``: BN weights 1 + recipe."""
    shapes = fixture["keys"]
    state = official_state_dict({k: s for k, s in shapes.items() if not k.endswith(BN_BUFFERS)})
    for key, shape in shapes.items():
        if key.endswith("running_mean"):
            state[key] = torch.zeros(shape)
        elif key.endswith("running_var"):
            state[key] = torch.ones(shape)
        elif key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
    if bn_gain:
        for key in fixture["bn_weight_keys"]:
            state[key] = state[key] + 1
    sums = fixture["bngain_recipe_sums" if bn_gain else "recipe_sums"]
    for key, expected in sums.items():
        assert state[key].double().sum().item() == pytest.approx(expected, rel=1e-5, abs=1e-4), key
    return state


def run_with_intermediates(adapter: RFRNetInpainter, net: RFRNet, image: torch.Tensor, mask: torch.Tensor):
    """Output and a few of the fixture's intermediates (sums over H,W), recorded with forward hooks."""
    sums: dict[str, list] = {}

    def record(name, pick=lambda out: out):
        def hook(module, inputs, output):
            sums.setdefault(name, []).append(pick(output).sum((-2, -1)))
        return hook

    def first(out):  # partial convs and the attention return tuples
        return out[0]

    hooks = [net.Pconv1.register_forward_hook(record("pconv1_out", first)),
             net.bn1.register_forward_hook(record("bn1_out")),
             net.bn20.register_forward_hook(record("bn20_out")),
             net.Pconv21.register_forward_hook(record("iter_pconv21_out", first)),
             net.RFRModule.enc_3.register_forward_hook(record("iter_rfr_enc3")),
             net.RFRModule.att.att.register_forward_hook(record("iter_kca_out", first)),
             net.RFRModule.att.register_forward_hook(record("iter_att_out", first)),
             net.RFRModule.register_forward_hook(record("iter_rfr_out", first)),
             net.Tconv.register_forward_hook(record("tconv_out")),
             net.tail2.register_forward_hook(record("tail2_out"))]
    try:
        with torch.no_grad():
            output = adapter(image, mask)["pred"]
    finally:
        for hook in hooks:
            hook.remove()
    return output, {k: torch.stack(v) if k.startswith("iter_") else v[0] for k, v in sums.items()}


@pytest.fixture(scope="module", params=[False, True], ids=["output", "bngain_output"])
def official_run(request, fixture):
    """One forward per weight run, through the adapter: framework inputs (mask 1 = hole, noise in the
    holes, which the adapter must blank as ``RFRNetModel.test`` does) must give the official output."""
    net = RFRNet()
    net.load_state_dict(fixture_state(fixture, request.param), strict=True)
    adapter = RFRNetInpainter(net).eval()
    hole = 1 - fixture["in_mask"][:, :1]
    image = fixture["image"] + hole * torch.rand(fixture["image"].shape, generator=torch.Generator().manual_seed(0))
    calls, states = [], []
    net.register_forward_pre_hook(lambda module, inputs: calls.append(inputs))
    net.RFRModule.att.att.register_forward_hook(lambda module, inputs, output: states.append(output[1][0]))
    output, sums = run_with_intermediates(adapter, net, image, hole)
    assert torch.equal(calls[0][0], fixture["in_image"]) and torch.equal(calls[0][1], fixture["in_mask"])
    sums["final_att_scores_sum"] = states[-1].sum((-2, -1))
    return ("bngain_" if request.param else ""), output, sums


def test_intermediates_match(fixture, official_run):
    # in forward order: the first failure says where the networks part
    prefix, _, sums = official_run
    for name, ours in sums.items():
        expected = fixture[prefix + name]
        assert ours.shape == expected.shape, name
        assert (ours - expected).abs().max() <= 1e-4 * max(1.0, expected.abs().max().item()), name


def test_output_matches(fixture, official_run):
    prefix, output, _ = official_run
    expected = fixture[prefix + "output"]
    error = (output - expected).abs().max().item()
    if prefix:  # BN gains 1: outputs in about [-57, 72], compared relative to their magnitude (README)
        assert error <= 1e-5 * expected.abs().max().item()
    else:
        assert error <= 1e-5


def test_parameter_count_and_authors_layout_loads_strictly(tmp_path):
    torch.manual_seed(0)
    source = RFRNet()
    assert sum(p.numel() for p in source.parameters()) == META.param_count == 31_224_065
    assert RFRNetInpainter.meta is META
    state = source.state_dict()
    assert len(state) == 114 and "RFRModule.att.att.ratio" in state
    path = tmp_path / "g_40000.pth"
    optimizer = torch.optim.Adam(source.parameters(), lr=2e-4)
    torch.save({"n_iter": 40000, "generator": state, "optimizer_G": optimizer.state_dict()}, path)
    # as JPGNet uses a frozen DGNet: the model config's net node built (no file read), then its stage file loaded
    adapter = hydra.utils.instantiate(OmegaConf.load(CONFIG_DIR / "model" / "rfrnet.yaml").net).eval().requires_grad_(False)
    assert isinstance(adapter, RFRNetInpainter)
    adapter.load_stage_weights({"weights": str(path)}, "model.stage_weights.dgnet", required=True)
    assert all(torch.equal(v, state[k]) for k, v in adapter.generator.state_dict().items())
    with torch.no_grad():
        assert adapter(torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32))["pred"].shape == (1, 3, 32, 32)
    assert load_rfrnet_checkpoint(adapter.generator, path) == 40000


def test_wrong_files_list_the_keys(tmp_path):
    torch.manual_seed(0)
    net = RFRNet()
    state = net.state_dict()

    wrong = dict(state)
    wrong.pop("RFRModule.att.att.ratio")
    wrong["module.out.weight"] = wrong.pop("out.weight")
    torch.save({"n_iter": 1, "generator": wrong}, tmp_path / "wrong.pth")
    with pytest.raises(CheckpointError, match="wrong.pth") as error:
        load_rfrnet_checkpoint(net, tmp_path / "wrong.pth")
    message = str(error.value)
    assert "missing keys (2)" in message and "RFRModule.att.att.ratio" in message and "'out.weight'" in message
    assert "unexpected keys (1)" in message and "module.out.weight" in message

    torch.save(state, tmp_path / "bare.pth")  # a bare state dict is not the authors' layout
    with pytest.raises(CheckpointError, match=r"bare.pth: not an RFRNet checkpoint.*'Pconv1.weight'"):
        load_rfrnet_checkpoint(net, tmp_path / "bare.pth")


def official_kca_loop(attention, foreground, masks, prev_scores, prev_masks):
    """The authors' per-sample loop (Attention.py), transcribed for comparison only."""
    bz, nc, h, w = foreground.shape
    masks = F.interpolate(masks, foreground.shape[2:])
    kernels_all = foreground.clone().view(bz, nc, w * h, 1, 1).permute(0, 2, 1, 3, 4)
    outputs, scores_all = [], []
    for i in range(bz):
        kernels = kernels_all[i] + 1e-7
        kernels = kernels / torch.sum(kernels ** 2, [1, 2, 3], keepdim=True) ** 0.5
        scores = F.avg_pool2d(F.conv2d(foreground[i:i + 1], kernels), 3, 1, padding=1) * 9
        scores = F.softmax(scores, dim=1)
        if prev_scores is not None:
            ratio = torch.abs(attention.ratio) + 1e-7
            scores = (prev_scores[i:i + 1] * prev_masks[i:i + 1] + scores * ratio) / (prev_masks[i:i + 1] + ratio)
        scores_all.append(scores)
        outputs.append(F.conv_transpose2d(scores, kernels))
    return torch.cat(outputs), torch.cat(scores_all).view(bz, h * w, h, w), masks.view(bz, 1, h, w)


def test_batched_attention_equals_the_official_loop():
    gen = torch.Generator().manual_seed(0)
    attention = KnowledgeConsistentAttention()
    with torch.no_grad():
        attention.ratio.fill_(-0.7)  # the blend uses |ratio|
    foreground = torch.randn(3, 16, 6, 8, generator=gen)
    masks = (torch.rand(3, 1, 12, 16, generator=gen) > 0.4).float()  # at twice the resolution, as in RFRNet
    with torch.no_grad():
        out, state = attention(foreground, masks)
        ref_out, ref_scores, ref_masks = official_kca_loop(attention, foreground, masks, None, None)
        torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(state[0], ref_scores, rtol=1e-5, atol=1e-7)
        assert torch.equal(state[1], ref_masks)
        second = foreground.flip(-1)  # the next recurrence blends with the stored scores
        out2, state2 = attention(second, masks, state)
        ref_out2, ref_scores2, _ = official_kca_loop(attention, second, masks, ref_scores, ref_masks)
    torch.testing.assert_close(out2, ref_out2, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state2[0], ref_scores2, rtol=1e-5, atol=1e-7)


def test_runs_on_cpu_at_the_size_multiple_and_rejects_others():
    torch.manual_seed(0)
    net = RFRNet(iterations=2).eval()
    valid = torch.ones(1, 3, 32, 48)
    valid[..., 8:20, 10:30] = 0
    with torch.no_grad():
        out = net(torch.rand(1, 3, 32, 48) * valid, valid)
    assert out.shape == (1, 3, 32, 48) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="divisible by 16"):
        net(torch.rand(1, 3, 40, 48), torch.ones(1, 3, 40, 48))
