"""Per-pixel predictive filtering, the operator shared by JPGNet and MISF (docs/authors-code.md#predictive-filtering).

Every output pixel is a KxK weighted sum of its (dilated) neighbourhood, with its own kernel per pixel
and per channel (depthwise, no cross-channel mixing):

    Y[b, n, y, x] = sum_{i,j} K[b, n*K*K + K*i + j, y, x] * Xpad[b, n, y + r*i, x + r*j]

``Xpad`` is X padded by ``r * (K // 2)`` and ``r`` is the dilation. ``padding="zeros"`` is the official
code's; ``"replicate"`` repeats the edge pixels, so a kernel whose taps sum to one keeps a flat region flat
up to the border (zeros darken border pixels in proportion to the weight their kernel puts outside).
Kernels are used as given: no softmax, no normalization, no bias.

Two implementations give the same values:
- ``"unfold"``: the reference, ``F.unfold`` then a product; it materialises a K*K-times copy of X.
- ``"shift"``: a sum over K*K shifted views of the padded input with a hand-written backward, so
  neither direction holds more than the padded input, the kernels, the output and their gradients.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

IMPLEMENTATIONS = ("shift", "unfold")
PADDINGS = ("zeros", "replicate")


def _check_inputs(x: torch.Tensor, kernels: torch.Tensor, kernel_size: int, dilation: int, padding: str,
                  same_dtype: bool = True) -> None:
    if padding not in PADDINGS:
        raise ValueError(f"unknown padding {padding!r}; choose one of {PADDINGS}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
    if dilation < 1:
        raise ValueError(f"dilation must be >= 1, got {dilation}")
    if x.dim() != 4 or kernels.dim() != 4:
        raise ValueError(
            f"expected 4-D tensors (B, C, H, W) and (B, C*{kernel_size}*{kernel_size}, H, W); "
            f"got image {tuple(x.shape)} and kernels {tuple(kernels.shape)}"
        )
    b, c, h, w = x.shape
    taps = kernel_size * kernel_size
    expected = (b, c * taps, h, w)
    if tuple(kernels.shape) != expected:
        raise ValueError(
            f"kernels must have shape (B, C*K*K, H, W) = {expected} for an image of shape "
            f"{tuple(x.shape)} and K={kernel_size}; got {tuple(kernels.shape)}"
        )
    if (same_dtype and x.dtype != kernels.dtype) or x.device != kernels.device:
        raise ValueError(
            f"image and kernels must share dtype and device (dtypes may differ under autocast); got "
            f"{x.dtype}/{x.device} and {kernels.dtype}/{kernels.device}"
        )


def _tap_offsets(kernel_size: int, dilation: int):
    return [(dilation * i, dilation * j) for i in range(kernel_size) for j in range(kernel_size)]


def _per_tap(kernels: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """(B, C*K*K, H, W) kernels viewed as (B, C, K*K, H, W)."""
    b, ck, h, w = kernels.shape
    taps = kernel_size * kernel_size
    return kernels.view(b, ck // taps, taps, h, w)


def _padded(x: torch.Tensor, kernel_size: int, dilation: int, padding: str) -> torch.Tensor:
    pad = dilation * (kernel_size // 2)
    return F.pad(x, (pad, pad, pad, pad), mode="constant" if padding == "zeros" else padding)


def filter_unfold(x: torch.Tensor, kernels: torch.Tensor, kernel_size: int, dilation: int,
                  padding: str = "zeros") -> torch.Tensor:
    k5 = _per_tap(kernels, kernel_size)
    patches = F.unfold(_padded(x, kernel_size, dilation, padding), kernel_size, dilation=dilation)
    return (patches.view_as(k5) * k5).sum(2)


def accumulation_dtype(*tensors: torch.Tensor) -> torch.dtype:
    """float32 for half and bfloat16 inputs (the sums of K*K products of raw, unnormalized kernels overflow float16
    and lose bits in bfloat16), the inputs' own type otherwise (float64 stays float64)."""
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = torch.promote_types(dtype, tensor.dtype)
    return torch.promote_types(dtype, torch.float32)


# Below this many elements per thread one thread runs the per-tap loops: each tap is one elementwise pass, and
# each pass with several OpenMP threads ends in a barrier that waits for the slowest thread. On a machine whose
# cores are shared (a busy core, other jobs) a descheduled worker stalls every one of the ~27 passes of a step
# for a scheduler slice, and small passes lose more to the stalls than they gain from the second thread
# (measured: benchmarks/bench_filter.py --busy-core).
ELEMENTS_PER_THREAD = 1 << 20


@contextlib.contextmanager
def _loop_threads(tensor: torch.Tensor):
    """CPU threads for passes over ``tensor``'s elements (see ``ELEMENTS_PER_THREAD``); other devices: unchanged."""
    threads = torch.get_num_threads()
    wanted = max(1, min(threads, tensor.numel() // ELEMENTS_PER_THREAD))
    if tensor.device.type != "cpu" or wanted == threads:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _windows(xp: torch.Tensor, kernel_size: int, dilation: int, h: int, w: int) -> torch.Tensor:
    """(B, C, K, K, H, W) view of the padded input: ``[.., i, j, y, x] = xp[.., y + r*i, x + r*j]`` (no copy)."""
    b, c = xp.shape[:2]
    sb, sc, sh, sw = xp.stride()
    return xp.as_strided((b, c, kernel_size, kernel_size, h, w), (sb, sc, dilation * sh, dilation * sw, sh, sw))


class _ShiftFilter(torch.autograd.Function):
    """Filters an already padded input; autograd takes the gradient through the padding (any mode).

    Mixed precision: the output is summed in :func:`accumulation_dtype` (float32 for float16/bfloat16 inputs),
    as are the image gradient's K*K contributions; the kernel gradient, one product per tap, takes the kernels'
    dtype. ``custom_fwd``/``custom_bwd`` run the backward under the forward's autocast state.
    """

    @staticmethod
    @torch.amp.custom_fwd(device_type="cuda")
    def forward(ctx, xp, kernels, kernel_size, dilation):
        k5 = _per_tap(kernels, kernel_size)
        b, c, _, h, w = k5.shape
        out = xp.new_zeros(b, c, h, w, dtype=accumulation_dtype(xp, kernels))
        with _loop_threads(out):
            for t, (dy, dx) in enumerate(_tap_offsets(kernel_size, dilation)):
                out.addcmul_(k5[:, :, t], xp[:, :, dy : dy + h, dx : dx + w])
        ctx.save_for_backward(xp, kernels)
        ctx.geometry = (kernel_size, dilation)
        return out

    @staticmethod
    @torch.amp.custom_bwd(device_type="cuda")
    @once_differentiable
    def backward(ctx, grad_out):
        xp, kernels = ctx.saved_tensors
        kernel_size, dilation = ctx.geometry
        k5 = _per_tap(kernels, kernel_size)
        b, c, _, h, w = k5.shape
        need_x, need_k = ctx.needs_input_grad[:2]
        grad_out = grad_out.contiguous()
        grad_k = None
        if need_k:  # every tap's product in one pass, written straight into the (B, C*K*K, H, W) gradient
            grad_k = torch.empty_like(kernels)
            grad_k6 = grad_k.view(b, c, kernel_size, kernel_size, h, w)
            with _loop_threads(grad_k):
                torch.mul(grad_out[:, :, None, None], _windows(xp, kernel_size, dilation, h, w), out=grad_k6)
        grad_xp = None
        if need_x:
            grad_xp = torch.zeros_like(xp, dtype=accumulation_dtype(xp, kernels, grad_out))
            with _loop_threads(grad_out):
                for t, (dy, dx) in enumerate(_tap_offsets(kernel_size, dilation)):
                    grad_xp[:, :, dy : dy + h, dx : dx + w].addcmul_(grad_out, k5[:, :, t])
            grad_xp = grad_xp.to(xp.dtype)
        return grad_xp, grad_k, None, None


def filter_shift(x: torch.Tensor, kernels: torch.Tensor, kernel_size: int, dilation: int,
                 padding: str = "zeros") -> torch.Tensor:
    xp = _padded(x.contiguous(), kernel_size, dilation, padding)
    return _ShiftFilter.apply(xp, kernels.contiguous(), kernel_size, dilation)


def predictive_filter(
    x: torch.Tensor,
    kernels: torch.Tensor,
    kernel_size: int = 3,
    dilation: int = 1,
    impl: str = "shift",
    padding: str = "zeros",
) -> torch.Tensor:
    """Filter ``x`` (B, C, H, W) with per-pixel kernels (B, C*K*K, H, W); returns (B, C, H, W).

    Kernel channel ``c*K*K + t`` holds tap ``t = K*row + col`` (row-major, like ``F.unfold``) for
    channel ``c`` of ``x``. ``padding``: ``"zeros"`` (official) or ``"replicate"``.

    Under autocast (``16-mixed``, ``bf16-mixed``) image and kernels may differ in dtype (a convolution hands
    over float16/bfloat16 kernels) and the result is float32: the sum of K*K products is accumulated in float32
    (see :func:`accumulation_dtype`).
    """
    mixed = torch.is_autocast_enabled(x.device.type)
    if impl == "unfold" and mixed:  # the reference: filter in float32 under mixed precision
        x, kernels = x.to(accumulation_dtype(x, kernels)), kernels.to(accumulation_dtype(x, kernels))
    _check_inputs(x, kernels, kernel_size, dilation, padding, same_dtype=not mixed)
    if impl == "shift":
        return filter_shift(x, kernels, kernel_size, dilation, padding)
    if impl == "unfold":
        return filter_unfold(x, kernels, kernel_size, dilation, padding)
    raise ValueError(f"unknown filtering implementation {impl!r}; choose one of {IMPLEMENTATIONS}")

