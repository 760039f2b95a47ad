"""Per-pixel predictive filtering (docs/authors-code.md#predictive-filtering): both implementations against a naive
loop, against each other (values and gradients), gradcheck of the hand-written backward, and input checks."""
import itertools
import re

import pytest
import torch

from inpainting.ops import IMPLEMENTATIONS, PADDINGS, predictive_filter
from inpainting.ops.filtering import filter_unfold

DILATIONS = (1, 2, 3, 4)


def naive_filter(x: torch.Tensor, kernels: torch.Tensor, kernel_size: int, dilation: int,
                 padding: str = "zeros") -> torch.Tensor:
    """Direct transcription of Y[b,c,y,x] = sum_t K[b, c*K*K + t, y, x] * Xpad[b, c, y + r*i, x + r*j]
    (replicate: an index outside the image reads the nearest edge pixel)."""
    b, c, h, w = x.shape
    half = kernel_size // 2
    out = torch.zeros_like(x)
    for n, ch, y, xx in itertools.product(range(b), range(c), range(h), range(w)):
        acc = 0.0
        for i, j in itertools.product(range(kernel_size), range(kernel_size)):
            sy, sx = y + dilation * (i - half), xx + dilation * (j - half)
            if padding == "replicate":
                sy, sx = min(max(sy, 0), h - 1), min(max(sx, 0), w - 1)
            if 0 <= sy < h and 0 <= sx < w:  # zero padding outside the image
                acc += kernels[n, ch * kernel_size**2 + kernel_size * i + j, y, xx].item() * x[n, ch, sy, sx].item()
        out[n, ch, y, xx] = acc
    return out


def random_inputs(b, c, h, w, kernel_size, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, h, w, generator=gen, dtype=dtype)
    # raw kernels: signed and unnormalized, as the networks predict them
    kernels = torch.randn(b, c * kernel_size**2, h, w, generator=gen, dtype=dtype)
    return x, kernels


def value_and_grads(impl, x, kernels, kernel_size, dilation, grad_out):
    x = x.detach().clone().requires_grad_()
    kernels = kernels.detach().clone().requires_grad_()
    y = predictive_filter(x, kernels, kernel_size, dilation, impl=impl)
    gx, gk = torch.autograd.grad(y, (x, kernels), grad_out)
    return y.detach(), gx, gk


# ---------------------------------------------------------------- layout, against independent references


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("kernel_size,dilation", [(3, 1), (3, 2), (5, 1), (3, 4)])
def test_matches_naive_loop(impl, padding, kernel_size, dilation):
    x, kernels = random_inputs(2, 2, 4, 5, kernel_size, seed=kernel_size + dilation)
    expected = naive_filter(x, kernels, kernel_size, dilation, padding)
    torch.testing.assert_close(predictive_filter(x, kernels, kernel_size, dilation, impl=impl, padding=padding),
                               expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_replicate_padding_keeps_a_flat_image_flat_under_normalized_kernels(impl):
    """Kernels whose taps sum to one: replicate keeps a constant image exactly; zeros darken its border."""
    x = torch.full((1, 3, 6, 7), 0.7, dtype=torch.float64)
    kernels = torch.softmax(torch.randn(1, 3, 9, 6, 7, dtype=torch.float64), 2).view(1, 27, 6, 7)
    kept = predictive_filter(x, kernels, 3, 2, impl=impl, padding="replicate")
    torch.testing.assert_close(kept, x, rtol=0, atol=1e-12)
    zeros = predictive_filter(x, kernels, 3, 2, impl=impl)
    assert zeros[..., 0, :].max() < 0.7 - 1e-3 and torch.allclose(zeros[..., 2:4, 2:5], x[..., 2:4, 2:5])


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_one_hot_taps_shift_each_channel_independently(impl):
    """Channel c uses kernel channels c*K*K..c*K*K+K*K-1, tap t = K*row + col picks pixel (y+r*(row-1), x+r*(col-1))."""
    k, r = 3, 2
    x = torch.arange(2 * 5 * 6, dtype=torch.float64).view(1, 2, 5, 6) + 1
    kernels = torch.zeros(1, 2 * k * k, 5, 6, dtype=torch.float64)
    kernels[0, 0 * k * k + 0] = 1.0  # channel 0, top-left tap: Y[y,x] = X[y-2, x-2]
    kernels[0, 1 * k * k + 5] = 1.0  # channel 1, middle-right tap: Y[y,x] = X[y, x+2]
    y = predictive_filter(x, kernels, k, r, impl=impl)
    expected = torch.zeros_like(x)
    expected[0, 0, 2:, 2:] = x[0, 0, :-2, :-2]
    expected[0, 1, :, :-2] = x[0, 1, :, 2:]
    torch.testing.assert_close(y, expected, rtol=0, atol=0)


# ---------------------------------------------------------------- shift vs unfold, values and gradients

AGREEMENT_CASES = [
    (c, k, r, hw)
    for k in (3, 5)
    for r in DILATIONS
    for c, hw in [(1, (7, 9)), (1, (6, 8)), (3, (7, 5)), (3, (6, 6)), (3, (1, 4)), (256, (5, 6))]
]


@pytest.mark.parametrize("channels,kernel_size,dilation,hw", AGREEMENT_CASES)
def test_shift_agrees_with_unfold(channels, kernel_size, dilation, hw):
    x, kernels = random_inputs(2, channels, *hw, kernel_size, seed=channels * 100 + kernel_size * 10 + dilation)
    grad_out = torch.randn(2, channels, *hw, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    fast = value_and_grads("shift", x, kernels, kernel_size, dilation, grad_out)
    ref = value_and_grads("unfold", x, kernels, kernel_size, dilation, grad_out)
    for got, want in zip(fast, ref):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_shift_agrees_with_unfold_float32():
    x, kernels = random_inputs(2, 256, 5, 6, 3, dtype=torch.float32)
    grad_out = torch.randn(2, 256, 5, 6)
    for got, want in zip(value_and_grads("shift", x, kernels, 3, 2, grad_out),
                         value_and_grads("unfold", x, kernels, 3, 2, grad_out)):
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("channels,kernel_size,dilation,hw", [
    (c, k, r, (3, 4) if r % 2 else (4, 4)) for c in (1, 3) for k in (3, 5) for r in DILATIONS
])
def test_shift_gradcheck(channels, kernel_size, dilation, hw):
    x, kernels = random_inputs(1, channels, *hw, kernel_size)
    x.requires_grad_()
    kernels.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: predictive_filter(a, b, kernel_size, dilation, impl="shift"), (x, kernels)
    )


@pytest.mark.parametrize("dilation", (1, 3))
def test_shift_gradcheck_replicate(dilation):
    x, kernels = random_inputs(1, 2, 3, 4, 3, seed=dilation)
    x.requires_grad_()
    kernels.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: predictive_filter(a, b, 3, dilation, impl="shift", padding="replicate"), (x, kernels)
    )


def test_shift_gradcheck_many_channels():
    x, kernels = random_inputs(1, 256, 2, 3, 3)
    x.requires_grad_()
    kernels.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: predictive_filter(a, b, 3, 2, impl="shift"), (x, kernels),
                                    fast_mode=True)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("which", ["x", "kernels"])
def test_gradient_wrt_one_input_only(impl, which):
    x, kernels = random_inputs(2, 3, 5, 6, 3, seed=3)
    grad_out = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    _, ref_gx, ref_gk = value_and_grads("unfold", x, kernels, 3, 2, grad_out)
    x.requires_grad_(which == "x")
    kernels.requires_grad_(which == "kernels")
    predictive_filter(x, kernels, 3, 2, impl=impl).backward(grad_out)
    if which == "x":
        assert kernels.grad is None
        torch.testing.assert_close(x.grad, ref_gx, rtol=1e-12, atol=1e-12)
    else:
        assert x.grad is None
        torch.testing.assert_close(kernels.grad, ref_gk, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_no_grad_output_has_no_graph(impl):
    x, kernels = random_inputs(1, 3, 4, 4, 3)
    x.requires_grad_()
    with torch.no_grad():
        assert not predictive_filter(x, kernels, impl=impl).requires_grad


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_non_contiguous_inputs(impl):
    b, c, h, w, k = 2, 3, 5, 7, 3
    x, kernels = random_inputs(b, c, h, w, k, seed=5)
    grad_out = torch.randn(b, c, h, w, dtype=torch.float64)
    ref = value_and_grads("unfold", x, kernels, k, 2, grad_out)
    x_nc = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # channels-last strides
    k_nc = kernels.transpose(2, 3).contiguous().transpose(2, 3)
    padded = torch.zeros(b, c * k * k, h, 2 * w, dtype=torch.float64)
    padded[..., ::2] = kernels
    for xi, ki in [(x_nc, k_nc), (x_nc, padded[..., ::2]), (x[:, :, :, :], padded[..., ::2])]:
        assert not (xi.is_contiguous() and ki.is_contiguous())
        for got, want in zip(value_and_grads(impl, xi, ki, k, 2, grad_out), ref):
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    # non-contiguous upstream gradient as well
    xg = x.clone().requires_grad_()
    y = predictive_filter(xg, kernels, k, 2, impl=impl)
    (gx,) = torch.autograd.grad(y, xg, grad_out.transpose(2, 3).contiguous().transpose(2, 3))
    torch.testing.assert_close(gx, ref[1], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("kernel_shape", [
    (2, 3 * 9 + 1, 5, 6),  # wrong channel count
    (2, 9, 5, 6),          # kernels for one channel only
    (2, 27, 5, 7),         # wrong width
    (2, 27, 4, 6),         # wrong height
    (1, 27, 5, 6),         # wrong batch
])
def test_shape_mismatch_raises(impl, kernel_shape):
    x = torch.zeros(2, 3, 5, 6)
    with pytest.raises(ValueError, match=re.escape(str(kernel_shape))) as err:
        predictive_filter(x, torch.zeros(kernel_shape), 3, impl=impl)
    assert str((2, 3, 5, 6)) in str(err.value)


@pytest.mark.parametrize("x_shape,k_shape", [((3, 5, 6), (27, 5, 6)), ((2, 3, 5, 6), (27, 5, 6)),
                                             ((3, 5, 6), (2, 27, 5, 6))])
def test_non_4d_raises(x_shape, k_shape):
    with pytest.raises(ValueError, match="4-D") as err:
        predictive_filter(torch.zeros(x_shape), torch.zeros(k_shape))
    assert str(x_shape) in str(err.value) and str(k_shape) in str(err.value)


@pytest.mark.parametrize("kernel_size", [0, 2, 4, -3])
def test_bad_kernel_size_raises(kernel_size):
    with pytest.raises(ValueError, match=f"kernel_size.*{kernel_size}"):
        predictive_filter(torch.zeros(1, 1, 4, 4), torch.zeros(1, max(kernel_size, 1) ** 2, 4, 4), kernel_size)


@pytest.mark.parametrize("dilation", [0, -1])
def test_bad_dilation_raises(dilation):
    with pytest.raises(ValueError, match=f"dilation.*{dilation}"):
        predictive_filter(torch.zeros(1, 1, 4, 4), torch.zeros(1, 9, 4, 4), 3, dilation)


def test_dtype_mismatch_raises():
    with pytest.raises(ValueError, match="dtype"):
        predictive_filter(torch.zeros(1, 1, 4, 4), torch.zeros(1, 9, 4, 4, dtype=torch.float64))


def test_unknown_padding_raises():
    x, kernels = torch.zeros(1, 1, 4, 4), torch.zeros(1, 9, 4, 4)
    with pytest.raises(ValueError, match="'reflect'.*zeros"):
        predictive_filter(x, kernels, padding="reflect")


def test_unknown_impl_raises():
    x, kernels = torch.zeros(1, 1, 4, 4), torch.zeros(1, 9, 4, 4)
    with pytest.raises(ValueError, match="'conv'.*shift"):
        predictive_filter(x, kernels, impl="conv")


def test_mixed_precision_under_autocast_filters_in_the_wider_type():
    x = torch.rand(1, 2, 5, 6)
    kernels = torch.rand(1, 18, 5, 6)
    expected = predictive_filter(x, kernels)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = predictive_filter(x, kernels.to(torch.bfloat16))
    assert out.dtype == torch.float32
    assert torch.allclose(out, expected, atol=0.05)
    with pytest.raises(ValueError, match="dtype"):  # outside autocast a mismatch is still an error
        predictive_filter(x, kernels.to(torch.bfloat16))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("image_dtype", ["low", "float32"])
def test_mixed_precision_sums_in_float32(dtype, image_dtype):
    """Under autocast (16-mixed, bf16-mixed) raw kernels whose products overflow float16 still filter exactly:
    the K*K products of low-precision inputs are exact in float32, and so is their float32 sum up to its order."""
    x, kernels = random_inputs(2, 4, 9, 10, 3, dtype=torch.float32)
    x, kernels = (30 * x).to(dtype if image_dtype == "low" else torch.float32), (3000 * kernels).to(dtype)
    assert filter_unfold(x.to(dtype), kernels, 3, 1).isinf().any() or dtype == torch.bfloat16  # float16 alone overflows
    x.requires_grad_()
    kernels.requires_grad_()
    grad_out = torch.randn(2, 4, 9, 10)
    with torch.autocast("cpu", dtype=dtype):
        got = value_and_grads("shift", x, kernels, 3, 1, grad_out)
    assert got[0].dtype == torch.float32 and got[1].dtype == x.dtype and got[2].dtype == kernels.dtype
    want = value_and_grads("unfold", x.detach().double().requires_grad_(), kernels.detach().double().requires_grad_(),
                           3, 1, grad_out.double())
    torch.testing.assert_close(got[0].double(), want[0], rtol=1e-6, atol=1e-6 * want[0].abs().max().item())
    for grad, ref in zip(got[1:], want[1:]):  # rounded once to the gradient's own dtype
        eps = torch.finfo(grad.dtype).eps
        assert grad.isfinite().all()
        torch.testing.assert_close(grad.double(), ref, rtol=2 * eps, atol=2 * eps * ref.abs().max().item())
