"""The official-forward fixtures on CUDA, within the CPU tests' tolerances (TF32 off: float32 as the authors ran it;
cuDNN convolutions default to TF32 on Ampere and later GPUs, about 1e-3 off)."""
import pytest
import torch

from inpainting.nets import MISFGenerator, load_jpgnet_kpn, load_misf_generator, pfunet, uafnet
from tests.conftest import shared_path
from tests.nets.official_weights import official_state_dict


@pytest.fixture(autouse=True)
def float32_convolutions():
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _fixture(name):
    return torch.load(shared_path("fixtures", "official_forward", name), weights_only=True)


def _close(actual, expected, atol=1e-5):
    actual = actual.cpu()
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() < atol * max(1.0, expected.abs().max().item())


def test_misf_generator_matches_official_on_cuda(tmp_path):
    fixture = _fixture("misf_generator.pt")
    path = tmp_path / "gen.pth"
    torch.save({"iteration": 1, "generator": official_state_dict(fixture["keys"])}, path)
    generator = MISFGenerator()
    load_misf_generator(generator, path)
    with torch.no_grad():
        out = generator.eval().cuda()(fixture["image"].cuda(), fixture["mask"].cuda())
    _close(out, fixture["output"])


@pytest.mark.parametrize("impl", ["shift", "unfold"])
def test_pfunet_and_uafnet_match_official_on_cuda(tmp_path, impl):
    fixture = _fixture("jpgnet_kpn.pt")
    for build, keys in ((lambda: pfunet(filter_impl=impl), "pfunet_keys"), (uafnet, "uafnet_keys")):
        torch.save(official_state_dict(fixture[keys]), tmp_path / "net.pth")
        net = build()
        load_jpgnet_kpn(net, tmp_path / "net.pth")
        net = net.eval().cuda()
        with torch.no_grad():
            if keys == "pfunet_keys":
                out, kernels = net(fixture["pfunet_input"].cuda())
                _close(kernels.sum((2, 3)), fixture["pfunet_kernels_sum"], 1e-4)
                _close(out, fixture["pfunet_output"])
            else:
                out, _ = net(fixture["uafnet_guide"].cuda(), fixture["uafnet_data"].cuda())
                _close(out, fixture["uafnet_output"])
