"""JPGNet's uncertainty map, computed from PFUNet's predicted kernels.

The kernels (B, C*9, H, W) are viewed as (B, C, 9, H, W): one 3x3 kernel per colour channel and pixel.
Each kernel is reduced to a scalar, the C scalars are averaged, and the map is min-max normalised.

Reductions (JPGNet Fig. 4 compares ways of pooling the kernels; these are our definitions):
- ``"avg"``: mean of the 9 taps (official ``get_uncertainty``; overall = mean of all C*9 channels).
- ``"max"``: largest tap value.
- ``"l1"``:  L1 norm of the kernel, sum of |tap|.
- ``"l2"``:  L2 norm of the kernel, sqrt(sum of tap^2).

Normalisation: ``"batch"`` (official) uses the min and max of the whole batch tensor, so a sample's
map depends on its batch-mates; ``"image"`` uses each sample's own min and max. Any H, W is accepted
(the official code hard-codes 256x256, quirk J2; at 256 the result is identical).
"""
from __future__ import annotations

import torch

REDUCTIONS = ("avg", "max", "l1", "l2")
NORMALIZATIONS = ("batch", "image")


def _reduce_taps(kernels: torch.Tensor, reduce: str) -> torch.Tensor:
    if reduce == "avg":
        return kernels.mean(2)
    if reduce == "max":
        return kernels.amax(2)
    if reduce == "l1":
        return kernels.abs().sum(2)
    if reduce == "l2":
        return kernels.square().sum(2).sqrt()
    raise ValueError(f"unknown uncertainty reduction {reduce!r}; choose one of {REDUCTIONS}")


def min_max_normalize(x: torch.Tensor, normalize: str = "batch") -> torch.Tensor:
    """Map ``x`` (B, ...) to [0, 1] by its min and max over the batch or per sample.

    A constant tensor (max == min) maps to 0 instead of the official division by zero.
    """
    if normalize == "batch":
        lo, hi = x.min(), x.max()
    elif normalize == "image":
        dims = tuple(range(1, x.dim()))
        lo, hi = x.amin(dims, keepdim=True), x.amax(dims, keepdim=True)
    else:
        raise ValueError(f"unknown uncertainty normalisation {normalize!r}; choose one of {NORMALIZATIONS}")
    span = hi - lo
    return (x - lo) / torch.where(span > 0, span, torch.ones_like(span))


def uncertainty_map(
    kernels: torch.Tensor,
    reduce: str = "avg",
    normalize: str = "batch",
    kernel_size: int = 3,
) -> torch.Tensor:
    """Uncertainty U (B, 1, H, W) in [0, 1] from per-pixel kernels (B, C*K*K, H, W).

    Defaults reproduce the official map (mean of all kernel channels, batch-wide min-max).
    """
    taps = kernel_size * kernel_size
    if kernels.dim() != 4 or kernels.shape[1] % taps:
        raise ValueError(f"kernels must be (B, C*{taps}, H, W); got {tuple(kernels.shape)}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"unknown uncertainty normalisation {normalize!r}; choose one of {NORMALIZATIONS}")
    b, ck, h, w = kernels.shape
    per_colour = _reduce_taps(kernels.view(b, ck // taps, taps, h, w), reduce)
    return min_max_normalize(per_colour.mean(1, keepdim=True), normalize)
