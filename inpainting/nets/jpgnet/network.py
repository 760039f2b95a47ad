"""JPGNet's networks (Guo et al. 2021): the kernel-prediction U-Net, used as PFUNet and UAFNet, the
uncertainty map and the fusions (docs/authors-code.md#jpgnet-pipeline).

**KPN.** JPGNet's kernel-prediction U-Net (``KPN``), used as PFUNet (model_type 1) and UAFNet (model_type 2).

The U-Net predicts ``C_k = data_channels * 9`` per-pixel 3x3 kernels from a *guide* tensor and filters a
*data* tensor with the same kernels at every dilation in ``dilations`` (official: 1, 2, 3, 4). The
filtered results are mixed by ``conv_final`` (3x3, no output activation). UAFNet first maps each
6-channel filtered result to RGB with ``conv_fusion`` (1x1, shared across dilations).

State-dict names follow the official ``kpn/network.py`` (54 keys for both types; type 1 keeps the
unused ``conv_fusion`` so that released PFUNet files load strictly).

**Uncertainty.** JPGNet's uncertainty map, computed from PFUNet's predicted kernels.

The kernels (B, C*9, H, W) are viewed as (B, C, 9, H, W): one 3x3 kernel per colour channel and pixel.
Each kernel is reduced to a scalar, the C scalars are averaged, and the map is min-max normalized.

Reductions (JPGNet Fig. 4 compares ways of pooling the kernels; these are our definitions):
- ``"avg"``: mean of the 9 taps (official ``get_uncertainty``; overall = mean of all C*9 channels).
- ``"max"``: largest tap value.
- ``"l1"``:  L1 norm of the kernel, sum of |tap|.
- ``"l2"``:  L2 norm of the kernel, sqrt(sum of tap^2).

Normalization: ``"batch"`` (official) uses the min and max of the whole batch tensor, so a sample's
map depends on its batch-mates; ``"image"`` uses each sample's own min and max. Any H, W is accepted
(the official code hard-codes 256x256, quirk J2; at 256 the result is identical).

**Fusion.** JPGNet's fusion of the generative (DGNet) and predictive-filtering (PFUNet) results.

Naming follows the official pipeline (docs/authors-code.md#jpgnet-pipeline): ``res1`` = DGNet result, ``res2`` = PFUNet
result, both composited with the known pixels; ``K`` = PFUNet's 27 kernels; ``U`` = their uncertainty map.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from inpainting.nets.blocks import ConvReLUTriple, avg_pool2, scaled_channels, upsample2
from inpainting.nets.meta import NetMeta
from inpainting.ops import IMPLEMENTATIONS, PADDINGS, predictive_filter

META = NetMeta(
    name="JPGNet",
    size_multiple=16,  # four 2x poolings in the KPN U-Net
    mask_polarity="hole",
    value_range=(0.0, 1.0),
    param_count=None,  # PFUNet + UAFNet + the DGNet plugged in
    source="tsingqguo/jpgnet@4798b6d687b67306fb681bcbfd81b9c23ce12cf8 (kpn/network.py)",
)

PFUNET, UAFNET = 1, 2
KERNEL_SIZE = 3
KERNEL_NORMS = ("none", "softmax")
# Official PFUNet keeps a 6->3 conv_fusion it never uses; its shape is fixed, not derived from the data.
_DEAD_FUSION_IN = 6


class KPN(nn.Module):
    """Kernel-prediction U-Net with multi-dilation predictive filtering.

    Args:
        in_channels: guide channels (PFUNet 3 = masked RGB; UAFNet 34 = [res1, res2, K, U]).
        data_channels: channels of the filtered tensor (PFUNet 3; UAFNet 6 = [res1, res2]).
        model_type: 1 (PFUNet: filtered results go straight to ``conv_final``) or 2 (UAFNet: each
            filtered result goes through the shared 1x1 ``conv_fusion`` first).
        out_channels: channels of the prediction (3).
        width: multiplier on the U-Net's channel counts (1.0 = official); the kernel head keeps
            ``data_channels * 9`` channels whatever the width.
        dilations: filtering rates, in the order their results are concatenated for ``conv_final``.
        filter_impl: ``"shift"`` (fast) or ``"unfold"`` (mimics the official operator); same values.
        kernel_norm: ``"none"`` (official: the kernels are used raw) or ``"softmax"`` (each pixel's 3x3 kernel
            per data channel is a softmax over its taps, a weighted average of the neighbourhood, as in
            Bako et al.'s kernel-predicting denoiser: filtering cannot shift a flat region's colour).
        padding: ``"zeros"`` (official) or ``"replicate"`` (edge pixels repeat, see ``inpainting.ops``).

    Weights start from the official fresh init (:func:`init_xavier_`).
    ``forward(guide, data=None)`` returns ``(prediction, kernels)``; ``data`` defaults to ``guide``
    (PFUNet). H and W must be divisible by 16 (four 2x poolings).
    """

    def __init__(
        self,
        in_channels: int,
        data_channels: int,
        model_type: int,
        out_channels: int = 3,
        width: float = 1.0,
        dilations: Sequence[int] = (1, 2, 3, 4),
        filter_impl: str = "shift",
        kernel_norm: str = "none",
        padding: str = "zeros",
    ):
        super().__init__()
        if model_type not in (PFUNET, UAFNET):
            raise ValueError(f"model_type must be 1 (PFUNet) or 2 (UAFNet), got {model_type}")
        if filter_impl not in IMPLEMENTATIONS:
            raise ValueError(f"unknown filter_impl {filter_impl!r}; choose one of {IMPLEMENTATIONS}")
        if not dilations:
            raise ValueError("dilations must name at least one filtering rate")
        if kernel_norm not in KERNEL_NORMS:
            raise ValueError(f"unknown kernel_norm {kernel_norm!r}; choose one of {KERNEL_NORMS}")
        if padding not in PADDINGS:
            raise ValueError(f"unknown padding {padding!r}; choose one of {PADDINGS}")
        self.kernel_norm, self.padding = kernel_norm, padding
        self.in_channels, self.data_channels, self.model_type = in_channels, data_channels, model_type
        self.dilations = tuple(int(r) for r in dilations)
        self.filter_impl = filter_impl
        self.kernel_channels = data_channels * KERNEL_SIZE * KERNEL_SIZE

        c1, c2, c3, c4 = (scaled_channels(c, width) for c in (64, 128, 256, 512))
        ck = self.kernel_channels
        self.conv1 = ConvReLUTriple(in_channels, c1)
        self.conv2 = ConvReLUTriple(c1, c2)
        self.conv3 = ConvReLUTriple(c2, c3)
        self.conv4 = ConvReLUTriple(c3, c4)
        self.conv5 = ConvReLUTriple(c4, c4)
        self.conv6 = ConvReLUTriple(c4 + c4, c4)
        self.conv7 = ConvReLUTriple(c3 + c4, c3)
        self.conv8 = ConvReLUTriple(c2 + c3, ck)
        self.outc = nn.Conv2d(ck, ck, 1)

        if model_type == UAFNET:
            self.conv_fusion = nn.Conv2d(data_channels, out_channels, 1)
            per_rate = out_channels
        else:
            self.conv_fusion = nn.Conv2d(_DEAD_FUSION_IN, out_channels, 1)  # unused; kept for checkpoints
            per_rate = data_channels
        self.conv_final = nn.Conv2d(per_rate * len(self.dilations), out_channels, 3, padding=1)
        init_xavier_(self)

    def predict_kernels(self, guide: torch.Tensor) -> torch.Tensor:
        """Per-pixel kernels (B, data_channels*9, H, W), layout ``channel*9 + tap`` (after ``kernel_norm``)."""
        if guide.dim() != 4 or guide.shape[1] != self.in_channels:
            raise ValueError(f"guide must be (B, {self.in_channels}, H, W); got {tuple(guide.shape)}")
        META.check_size(*guide.shape[-2:])
        x1 = self.conv1(guide)
        x2 = self.conv2(avg_pool2(x1))
        x3 = self.conv3(avg_pool2(x2))
        x4 = self.conv4(avg_pool2(x3))
        x5 = self.conv5(avg_pool2(x4))
        x6 = self.conv6(torch.cat([x4, upsample2(x5)], 1))
        x7 = self.conv7(torch.cat([x3, upsample2(x6)], 1))
        x8 = self.conv8(torch.cat([x2, upsample2(x7)], 1))
        kernels = self.outc(upsample2(x8))
        if self.kernel_norm == "softmax":
            b, ck, h, w = kernels.shape
            taps = KERNEL_SIZE * KERNEL_SIZE
            kernels = torch.softmax(kernels.view(b, ck // taps, taps, h, w), 2).view(b, ck, h, w)
        return kernels

    def forward(self, guide: torch.Tensor, data: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if data is None:
            data = guide
        if data.dim() != 4 or data.shape[1] != self.data_channels or data.shape[-2:] != guide.shape[-2:]:
            raise ValueError(
                f"data must be (B, {self.data_channels}, H, W) with the guide's H, W "
                f"{tuple(guide.shape[-2:])}; got {tuple(data.shape)}"
            )
        kernels = self.predict_kernels(guide)
        filtered = []
        for rate in self.dilations:
            result = predictive_filter(data, kernels, KERNEL_SIZE, rate, self.filter_impl, self.padding)
            filtered.append(self.conv_fusion(result) if self.model_type == UAFNET else result)
        return self.conv_final(torch.cat(filtered, 1)), kernels


def pfunet(width: float = 1.0, **kwargs) -> KPN:
    """JPGNet's predictive-filtering net: guide = data = masked RGB (holes 0), 27 kernels."""
    return KPN(3, 3, PFUNET, width=width, **kwargs)


def uafnet(width: float = 1.0, **kwargs) -> KPN:
    """JPGNet's uncertainty-aware fusion net: guide [res1, res2, K, U] (34 ch), data [res1, res2]."""
    return KPN(34, 6, UAFNET, width=width, **kwargs)


def init_xavier_(module: nn.Module, gain: float = 0.02) -> nn.Module:
    """JPGNet's fresh-start init: ``xavier_normal_(gain)`` on conv weights; biases keep PyTorch defaults."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_normal_(m.weight, gain=gain)
    return module


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
        raise ValueError(f"unknown uncertainty normalization {normalize!r}; choose one of {NORMALIZATIONS}")
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
        raise ValueError(f"unknown uncertainty normalization {normalize!r}; choose one of {NORMALIZATIONS}")
    b, ck, h, w = kernels.shape
    per_colour = _reduce_taps(kernels.view(b, ck // taps, taps, h, w), reduce)
    return min_max_normalize(per_colour.mean(1, keepdim=True), normalize)


def naive_fusion(
    filtered: torch.Tensor,
    generated: torch.Tensor,
    uncertainty: torch.Tensor,
    threshold: float | None = None,
) -> torch.Tensor:
    """Uncertainty-weighted blend ``(1 - U) * I1 + U * I2`` (JPGNet Eq. 4).

    ``I1 = filtered`` (PFUNet's res2) and ``I2 = generated`` (DGNet's res1): where the filtering is
    uncertain the generative result is trusted, as in the official "binary fusion" baseline
    ``res2 * (1 - U) + res1 * U``. With ``threshold`` set, U is binarised as ``U > threshold`` first
    (the official baseline uses 0, which makes U ~ 1 almost everywhere, quirk J5).
    """
    if threshold is not None:
        uncertainty = (uncertainty > threshold).to(filtered.dtype)
    return (1 - uncertainty) * filtered + uncertainty * generated


FUSION_INITS = ("official", "res1")
# softmax kernels: a centre-tap logit of 4 gives the centre weight e^4 / (e^4 + 8) = 0.87 at the start, near the
# identity yet far from saturation, so the kernels can still learn to spread their weight
SOFTMAX_CENTRE_LOGIT = 4.0


@torch.no_grad()
def start_as_res1_(net: KPN) -> KPN:
    """Make a fresh UAFNet output ``res1`` (the DGNet's composited result) before any training.

    The kernel head's bias puts weight 1 on each kernel's centre tap (softmax kernels: logit
    ``SOFTMAX_CENTRE_LOGIT``; its weights stay the official small init, so the kernels start as near-identity
    filters), ``conv_fusion`` keeps the first three data channels (res1) and ``conv_final`` averages the dilations. Training then starts from the DGNet's
    quality instead of a near-black image (the official init, gain 0.02, needs many steps to get there).
    """
    taps = KERNEL_SIZE * KERNEL_SIZE
    net.outc.bias.zero_()
    net.outc.bias[taps // 2::taps] = 1.0 if net.kernel_norm == "none" else SOFTMAX_CENTRE_LOGIT
    out = net.conv_final.out_channels
    net.conv_fusion.weight.zero_()
    net.conv_fusion.bias.zero_()
    eye = torch.eye(out, dtype=net.conv_final.weight.dtype, device=net.conv_final.weight.device)
    net.conv_fusion.weight[:, :out, 0, 0] = eye
    net.conv_final.weight.zero_()
    net.conv_final.bias.zero_()
    for d in range(len(net.dilations)):
        net.conv_final.weight[:, d * out:(d + 1) * out, 1, 1] = eye / len(net.dilations)
    return net


class SmartFusion(nn.Module):
    """UAFNet with its inputs built as the official code does.

    ``forward(res1, res2, kernels)`` forms guide ``[res1, res2, K, U]`` (34 ch, this order) and data
    ``[res1, res2]`` (6 ch) and returns ``(prediction, uafnet_kernels)``; the prediction is the raw,
    un-composited UAFNet output. The inputs are detached by default (official: both earlier stages
    are frozen), so gradients reach only UAFNet.

    The wrapped network is ``self.net`` (a :class:`KPN` of model_type 2); load released UAFNet files
    into it, e.g. ``load_jpgnet_kpn(fusion.net, path)``. ``init``: ``"official"`` (faithful) or ``"res1"``
    (:func:`start_as_res1_`: the untrained UAFNet returns the DGNet's result). ``kernel_norm`` and ``padding``:
    the new UAFNet's (:class:`KPN`; official ``"none"``, ``"zeros"``). ``train_mixing``: True (official) trains
    the whole UAFNet; False keeps ``conv_fusion`` and ``conv_final``, the layers that mix colour channels and
    dilations, as they start (with ``init="res1"``: res1 through the averaged dilations), so only the kernels
    learn. In short runs Adam's steps on those few mixing weights shift the colours of whole images (measured
    on ``make demo``: up to 4 dB lost on a flat sky crop; docs/jpgnet.md).
    """

    def __init__(
        self,
        net: KPN | None = None,
        width: float = 1.0,
        uncertainty_reduce: str = "avg",
        uncertainty_normalize: str = "batch",
        detach_inputs: bool = True,
        filter_impl: str = "shift",
        init: str = "official",
        kernel_norm: str = "none",
        padding: str = "zeros",
        train_mixing: bool = True,
    ):
        super().__init__()
        self.net = net if net is not None else uafnet(width, filter_impl=filter_impl, kernel_norm=kernel_norm,
                                                      padding=padding)
        if init not in FUSION_INITS:
            raise ValueError(f"unknown UAFNet init {init!r}; choose one of {FUSION_INITS}")
        if init == "res1":
            start_as_res1_(self.net)
        if self.net.model_type != 2:
            raise ValueError("SmartFusion needs a UAFNet (KPN model_type 2)")
        if not train_mixing:
            self.net.conv_fusion.requires_grad_(False)
            self.net.conv_final.requires_grad_(False)
        self.uncertainty_reduce = uncertainty_reduce
        self.uncertainty_normalize = uncertainty_normalize
        self.detach_inputs = detach_inputs

    def build_inputs(
        self, res1: torch.Tensor, res2: torch.Tensor, kernels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (guide, data) = ([res1, res2, K, U], [res1, res2])."""
        if self.detach_inputs:
            res1, res2, kernels = res1.detach(), res2.detach(), kernels.detach()
        u = uncertainty_map(kernels, self.uncertainty_reduce, self.uncertainty_normalize)
        data = torch.cat([res1, res2], 1)
        return torch.cat([data, kernels, u], 1), data

    def forward(
        self, res1: torch.Tensor, res2: torch.Tensor, kernels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        guide, data = self.build_inputs(res1, res2, kernels)
        return self.net(guide, data)
