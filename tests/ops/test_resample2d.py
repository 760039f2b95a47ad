"""StructureFlow's Gaussian sampler against the authors' CUDA kernel (resample2d.pt) and its own maths."""
import pytest
import torch

from inpainting.ops import Resample2d, resample2d, resample2d_reference
from tests.conftest import shared_path

SETTINGS = [(16, 4.0), (4, 2.0)]  # the two samplers of StructureFlow's Gt


def _fixture():
    return torch.load(shared_path("fixtures", "official_forward", "resample2d.pt"), weights_only=True)


@pytest.mark.parametrize("kernel_size,sigma", SETTINGS)
def test_matches_the_cuda_kernel_transcription(kernel_size, sigma):
    fx = _fixture()
    key = f"output_k{kernel_size}_s{int(sigma)}"
    out64 = resample2d(fx["features"].double(), fx["flow"].double(), kernel_size, sigma)
    assert (out64 - fx[key]).abs().max() < 1e-12  # the float64 kernel, to rounding
    out32 = resample2d(fx["features"], fx["flow"], kernel_size, sigma)
    assert out32.dtype == torch.float32
    assert (out32.double() - fx[key]).abs().max() < 1e-5
    assert (out32 - fx[f"{key}_kernel_f32"]).abs().max() < 1e-5  # what the float32 kernel gives


def _inputs(seed=0, size=(5, 6), flow_size=(3, 4), scale=2.5, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(1, 2, *size, generator=g, dtype=dtype)
    flow = torch.randn(1, 2, *flow_size, generator=g, dtype=dtype) * scale
    return features, flow


@pytest.mark.parametrize("kernel_size,sigma", SETTINGS)
def test_gradcheck_features_and_flow(kernel_size, sigma):
    features, flow = _inputs(size=(4, 5), flow_size=(3, 3))
    assert (flow < 0).any() and (flow.frac() != 0).all()  # negative, sub-pixel offsets
    features.requires_grad_()
    flow.requires_grad_()
    # fast mode (random projections of the Jacobian): the full one takes ~10 s at k=16 on 2 cores
    assert torch.autograd.gradcheck(lambda f, w: resample2d(f, w, kernel_size, sigma), (features, flow),
                                    fast_mode=kernel_size > 4)


@pytest.mark.parametrize("kernel_size,sigma", SETTINGS)
def test_hand_written_backward_equals_autograd_over_the_taps(kernel_size, sigma):
    features, flow = _inputs(seed=1, size=(6, 6), flow_size=(6, 6), scale=4.0)  # many clamped taps
    features.requires_grad_()
    flow.requires_grad_()
    out = resample2d(features, flow, kernel_size, sigma)
    ref = resample2d_reference(features, flow, kernel_size, sigma)
    assert torch.allclose(out, ref, atol=1e-14)
    grad_out = torch.randn_like(out)
    ours = torch.autograd.grad(out, (features, flow), grad_out)
    theirs = torch.autograd.grad(ref, (features, flow), grad_out)
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b, atol=1e-12)


def test_border_clamping_and_integer_offsets_copy_pixels():
    # a tiny sigma puts all weight on the tap at distance 0: an exact copy of the clamped source pixel
    features, _ = _inputs(size=(5, 6))
    flow = torch.tensor([[[[-3.0, 0.0, 20.0]], [[2.0, -9.0, 1.0]]]], dtype=torch.float64)  # (1, 2, 1, 3)
    out = resample2d(features, flow, 4, 0.05)
    for x, (dx, dy) in enumerate([(-3, 2), (0, -9), (20, 1)]):
        sx, sy = min(max(x + dx, 0), 5), min(max(0 + dy, 0), 4)
        assert torch.allclose(out[0, :, 0, x], features[0, :, sy, sx], atol=1e-12)


def test_constant_features_stay_constant_and_sub_pixel_shift_is_symmetric():
    flow = _inputs(flow_size=(4, 4), scale=5.0)[1]
    const = torch.full((1, 3, 5, 5), 0.7, dtype=torch.float64)
    assert torch.allclose(resample2d(const, flow, 16, 4.0), const[..., :4, :4], atol=1e-14)
    # a linear ramp sampled half-way between two pixels, far from the border, gives the mid value
    ramp = torch.arange(12, dtype=torch.float64).view(1, 1, 1, 12).expand(1, 1, 12, 12).contiguous()
    half = torch.zeros(1, 2, 12, 12, dtype=torch.float64)
    half[:, 0] = 0.5
    out = resample2d(ramp, half, 4, 2.0)
    assert torch.allclose(out[0, 0, 6, 5], torch.tensor(5.5, dtype=torch.float64))


def test_truncated_feature_grad_differs_only_left_or_above_the_grid():
    features, flow = _inputs(seed=2, size=(6, 6), flow_size=(6, 6), scale=1.5)
    features.requires_grad_()
    grad_out = torch.randn(1, 2, 6, 6, dtype=torch.float64)

    def feature_grad(truncated, w):
        return torch.autograd.grad(resample2d(features, w, 4, 2.0, truncated_feature_grad=truncated), features, grad_out)[0]

    inside = flow.clone()
    inside[:, 0].clamp_(min=0.1)
    inside[:, 1].clamp_(min=0.1)  # x + dx > 0 and y + dy > 0 everywhere: trunc == floor
    assert torch.equal(feature_grad(True, inside), feature_grad(False, inside))
    assert not torch.allclose(feature_grad(True, flow), feature_grad(False, flow))


def test_module_and_errors():
    features, flow = _inputs(dtype=torch.float32)
    module = Resample2d(4, 1, sigma=2)
    assert torch.equal(module(features, flow), resample2d(features, flow, 4, 2.0))
    assert not list(module.state_dict())
    with pytest.raises(ValueError, match="even"):
        resample2d(features, flow, 3, 2.0)
    with pytest.raises(ValueError, match="sigma"):
        resample2d(features, flow, 4, 0.0)
    with pytest.raises(ValueError, match=r"flow \(B, 2"):
        resample2d(features, flow[:, :1], 4, 2.0)
    with pytest.raises(ValueError, match="dtype"):
        resample2d(features.double(), flow, 4, 2.0)
