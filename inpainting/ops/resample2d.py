"""StructureFlow's Gaussian sampler ``resample2d`` (a CUDA-only extension in the official code), in PyTorch.

For every output pixel ``p = (y, x)`` of the flow grid, with ``(dx, dy) = flow[:, :, y, x]``, the
sub-pixel source position is ``(x + dx, y + dy)`` on the feature grid (flow in feature pixels).
With ``x0 = floor(x + dx)`` and ``alpha = x + dx - x0`` (likewise ``y0``, ``beta``), each axis has
``k`` integer taps at offsets ``o = -(k/2 - 1)d, ..., 0, d, ..., (k/2)d`` from the floor position,
clamped to the feature map (border pixels are counted several times, like replicate padding), with
the Gaussian weight ``exp(-(o - alpha)^2 / (2 sigma^2))`` of the tap's distance to the position. The
output is the weighted sum over the ``k x k`` taps divided by the sum of the weights
(``kernel_resample2d_update_output`` in ``resample2d_kernel.cu``; fixtures README-part2).

Two implementations give the same values:
- :func:`resample2d` (the one to use): a loop over the ``k^2`` taps in a ``torch.autograd.Function``
  whose backward recomputes the taps, so training keeps only the inputs and the output, whatever ``k``.
- :func:`resample2d_reference`: the same loop under plain autograd, which keeps one gathered
  ``(B, C, H, W)`` tensor per tap (256 for ``k = 16``); for tests and the benchmark only.

The official CUDA backward for the *features* takes the fractional part with ``int()`` (truncation)
instead of ``floor``, which changes the weights it scatters with wherever ``x + dx < 0`` or
``y + dy < 0`` (quirk). ``truncated_feature_grad=True`` reproduces it; False gives the exact
gradient of the forward. The flow gradient is exact in both (the CUDA one is too).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.autograd.function import once_differentiable


def _check(features: torch.Tensor, flow: torch.Tensor, kernel_size: int, sigma: float, dilation: int) -> None:
    if features.dim() != 4 or flow.dim() != 4 or flow.shape[1] != 2:
        raise ValueError(f"expected features (B, C, H, W) and flow (B, 2, H', W'); got {tuple(features.shape)} "
                         f"and {tuple(flow.shape)}")
    if features.shape[0] != flow.shape[0]:
        raise ValueError(f"features and flow batch sizes differ: {features.shape[0]} vs {flow.shape[0]}")
    if kernel_size < 2 or kernel_size % 2:
        raise ValueError(f"kernel_size must be even and >= 2 (k/2 taps each side), got {kernel_size}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if dilation < 1:
        raise ValueError(f"dilation must be >= 1, got {dilation}")
    if features.dtype != flow.dtype or features.device != flow.device:
        raise ValueError(f"features and flow must share dtype and device; got {features.dtype}/{features.device} "
                         f"and {flow.dtype}/{flow.device}")


def _axis_taps(coord: torch.Tensor, size: int, kernel_size: int, sigma: float, dilation: int,
               truncate: bool = False):
    """Per-axis taps of sampling positions ``coord`` (B, H, W) on an axis of ``size`` pixels.

    Returns ``index`` (B, k, H, W) clamped tap positions, ``weight`` (B, k, H, W) Gaussian weights,
    and ``slope`` = d weight / d coord = ``weight * (o - frac) / sigma^2``. ``truncate`` takes the
    fractional part with truncation (the CUDA feature backward), the taps stay at the floor position.
    """
    floor = torch.floor(coord)
    frac = coord - (torch.trunc(coord) if truncate else floor)
    offsets = torch.arange(-(kernel_size // 2 - 1), kernel_size // 2 + 1, device=coord.device) * dilation
    offsets_f = offsets.to(coord.dtype).view(1, -1, 1, 1)
    distance = offsets_f - frac.unsqueeze(1)
    weight = torch.exp(-distance * distance / (2 * sigma * sigma))
    index = (floor.long().unsqueeze(1) + offsets.view(1, -1, 1, 1)).clamp_(0, size - 1)
    return index, weight, weight * distance / (sigma * sigma)


def _grid(flow: torch.Tensor):
    """Sampling positions ``(x + dx, y + dy)``, each (B, H, W)."""
    _, _, h, w = flow.shape
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w)
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1)
    return xs + flow[:, 0], ys + flow[:, 1]


def _taps(features: torch.Tensor, flow: torch.Tensor, kernel_size: int, sigma: float, dilation: int,
          truncate: bool = False):
    """Per-axis taps ``(index, weight, slope)`` for x and y of every flow position."""
    xf, yf = _grid(flow)
    x_taps = _axis_taps(xf, features.shape[3], kernel_size, sigma, dilation, truncate)
    y_taps = _axis_taps(yf, features.shape[2], kernel_size, sigma, dilation, truncate)
    return x_taps, y_taps


def _gather(flat: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``flat`` (B, C, N) at positions ``index`` (B, H, W) -> (B, C, H, W)."""
    b, c, _ = flat.shape
    return flat.gather(2, index.reshape(b, 1, -1).expand(b, c, -1)).view(b, c, *index.shape[1:])


def _forward(features: torch.Tensor, flow: torch.Tensor, kernel_size: int, sigma: float, dilation: int,
             accumulate_in_place: bool) -> torch.Tensor:
    b, c, _, w_in = features.shape
    (x_index, x_weight, _), (y_index, y_weight, _) = _taps(features, flow, kernel_size, sigma, dilation)
    flat = features.reshape(b, c, -1)
    out = None
    for i in range(kernel_size):
        row = y_index[:, i] * w_in
        for j in range(kernel_size):
            term = _gather(flat, row + x_index[:, j]) * (y_weight[:, i] * x_weight[:, j]).unsqueeze(1)
            if out is None:
                out = term
            elif accumulate_in_place:
                out += term
            else:
                out = out + term
    norm = y_weight.sum(1) * x_weight.sum(1)
    return out / norm.unsqueeze(1)


class _Resample2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features, flow, kernel_size, sigma, dilation, truncated_feature_grad):
        out = _forward(features, flow, kernel_size, sigma, dilation, accumulate_in_place=True)
        ctx.save_for_backward(features, flow, out)
        ctx.settings = (kernel_size, sigma, dilation, truncated_feature_grad)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        features, flow, out = ctx.saved_tensors
        kernel_size, sigma, dilation, truncated = ctx.settings
        need_features, need_flow = ctx.needs_input_grad[:2]
        b, c, h_in, w_in = features.shape
        grad_out = grad_out.contiguous()
        (x_index, x_weight, x_slope), (y_index, y_weight, y_slope) = _taps(features, flow, kernel_size, sigma, dilation)
        x_norm, y_norm = x_weight.sum(1), y_weight.sum(1)
        norm = (x_norm * y_norm).unsqueeze(1)
        if need_features:
            grad_flat = features.new_zeros(b, c, h_in * w_in)
            scatter_grad = grad_out / norm
            if truncated:  # the CUDA kernel's weights (and their sum) from the truncated fraction
                (_, tx_weight, _), (_, ty_weight, _) = _taps(features, flow, kernel_size, sigma, dilation, True)
                scatter_grad = grad_out / (tx_weight.sum(1) * ty_weight.sum(1)).unsqueeze(1)
            else:
                tx_weight, ty_weight = x_weight, y_weight
        if need_flow:
            flat = features.reshape(b, c, -1)
            # d out / d dx = (sum_ij wy_i wx'_j F_ij) / norm - out * sum(wx') / sum(wx), same for dy
            acc_x = flow.new_zeros(b, *flow.shape[2:])
            acc_y = torch.zeros_like(acc_x)
        for i in range(kernel_size):
            row = y_index[:, i] * w_in
            for j in range(kernel_size):
                index = row + x_index[:, j]
                if need_features:
                    weight = (ty_weight[:, i] * tx_weight[:, j]).unsqueeze(1)
                    grad_flat.scatter_add_(2, index.reshape(b, 1, -1).expand(b, c, -1),
                                           (scatter_grad * weight).reshape(b, c, -1))
                if need_flow:
                    dot = (grad_out * _gather(flat, index)).sum(1)
                    acc_x += y_weight[:, i] * x_slope[:, j] * dot
                    acc_y += y_slope[:, i] * x_weight[:, j] * dot
        grad_features = grad_flat.view_as(features) if need_features else None
        grad_flow = None
        if need_flow:
            norm = norm.squeeze(1)
            grad_dot_out = (grad_out * out).sum(1)
            grad_dx = acc_x / norm - grad_dot_out * x_slope.sum(1) / x_norm
            grad_dy = acc_y / norm - grad_dot_out * y_slope.sum(1) / y_norm
            grad_flow = torch.stack([grad_dx, grad_dy], 1)
        return grad_features, grad_flow, None, None, None, None


def resample2d(features: torch.Tensor, flow: torch.Tensor, kernel_size: int, sigma: float, dilation: int = 1,
               truncated_feature_grad: bool = False) -> torch.Tensor:
    """Gaussian sampling of ``features`` (B, C, H, W) at ``grid + flow`` (flow (B, 2, H', W'): dx, dy in
    feature pixels); returns (B, C, H', W'). See the module docstring."""
    _check(features, flow, kernel_size, sigma, dilation)
    return _Resample2d.apply(features.contiguous(), flow.contiguous(), int(kernel_size), float(sigma),
                             int(dilation), bool(truncated_feature_grad))


def resample2d_reference(features: torch.Tensor, flow: torch.Tensor, kernel_size: int, sigma: float,
                         dilation: int = 1) -> torch.Tensor:
    """The same values under plain autograd (one saved tensor per tap); tests and benchmark only."""
    _check(features, flow, kernel_size, sigma, dilation)
    return _forward(features, flow, kernel_size, float(sigma), int(dilation), accumulate_in_place=False)


class Resample2d(nn.Module):
    """Module form with the official constructor ``Resample2d(kernel_size, dilation, sigma)`` (no state).

    ``forward(features, flow)``: the official module appends a constant sigma plane to the flow; here
    sigma is a fixed attribute and the flow has its two channels only.
    """

    def __init__(self, kernel_size: int = 2, dilation: int = 1, sigma: float = 5.0,
                 truncated_feature_grad: bool = False):
        super().__init__()
        self.kernel_size, self.dilation, self.sigma = int(kernel_size), int(dilation), float(sigma)
        self.truncated_feature_grad = truncated_feature_grad

    def forward(self, features: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        return resample2d(features, flow, self.kernel_size, self.sigma, self.dilation, self.truncated_feature_grad)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, sigma={self.sigma}, "
                f"truncated_feature_grad={self.truncated_feature_grad}")
