"""Building blocks shared by the networks in this package.

Module attribute names and ``nn.Sequential`` indices reproduce the official code's layout, so that the
authors' ``state_dict`` keys load without renaming (pads and activations occupy Sequential slots too).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def scaled_channels(channels: int, width: float) -> int:
    """Channel count of an official layer scaled by a width multiplier (at least 1)."""
    if width <= 0:
        raise ValueError(f"width multiplier must be positive, got {width}")
    return max(1, int(round(channels * width)))


def avg_pool2(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling, stride 2 (the U-Nets' downsampling)."""
    return F.avg_pool2d(x, 2, 2)


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 upsampling with ``align_corners=False`` (the U-Nets' upsampling)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class ConvReLUTriple(nn.Module):
    """Three [3x3 conv, zero padding 1, bias] + ReLU layers; the official "Basic" block.

    No normalization and no attention (the official ``channel_att``/``spatial_att`` are off), so the
    only parameters are ``conv1.{0,2,4}.{weight,bias}``.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(x)


def _maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    # The classic hook-based spectral norm gives the official keys weight_orig / weight_u / weight_v.
    return nn.utils.spectral_norm(module) if enabled else module


def instance_norm(channels: int) -> nn.InstanceNorm2d:
    """Instance norm without affine parameters or running stats (no state_dict entries)."""
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """EdgeConnect residual block: reflect-pad, dilated 3x3 conv, IN, ReLU, reflect-pad, 3x3 conv, IN.

    ``out = x + block(x)`` with no activation after the sum. With spectral norm (EdgeConnect's edge
    generator) the convs carry no bias, as in the official code.
    """

    def __init__(self, channels: int, dilation: int = 2, spectral_norm: bool = False):
        super().__init__()
        bias = not spectral_norm
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(dilation),
            _maybe_spectral_norm(nn.Conv2d(channels, channels, 3, dilation=dilation, bias=bias), spectral_norm),
            instance_norm(channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            _maybe_spectral_norm(nn.Conv2d(channels, channels, 3, bias=bias), spectral_norm),
            instance_norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def stem_stage(in_channels: int, out_channels: int, spectral_norm: bool = False) -> nn.Sequential:
    """Reflect-pad 3, 7x7 conv, IN, ReLU (full resolution); the conv sits at index 1."""
    return nn.Sequential(
        nn.ReflectionPad2d(3),
        _maybe_spectral_norm(nn.Conv2d(in_channels, out_channels, 7), spectral_norm),
        instance_norm(out_channels),
        nn.ReLU(inplace=True),
    )


def down_stage(in_channels: int, out_channels: int, spectral_norm: bool = False) -> nn.Sequential:
    """4x4 stride-2 conv (zero padding 1), IN, ReLU; halves the resolution; the conv sits at index 0."""
    return nn.Sequential(
        _maybe_spectral_norm(nn.Conv2d(in_channels, out_channels, 4, stride=2, padding=1), spectral_norm),
        instance_norm(out_channels),
        nn.ReLU(inplace=True),
    )


def residual_stage(channels: int, blocks: int = 8, spectral_norm: bool = False) -> nn.Sequential:
    """``blocks`` dilation-2 residual blocks (EdgeConnect's and MISF's ``middle``)."""
    return nn.Sequential(*[ResnetBlock(channels, 2, spectral_norm) for _ in range(blocks)])


def decoder_stage(in_channels: int, mid_channels: int, out_channels: int, spectral_norm: bool = False) -> nn.Sequential:
    """Two transposed-conv upsamplings (IN, ReLU) then reflect-pad 3 and a 7x7 conv to logits.

    Indices 0 and 3 are the transposed convs, 7 the output conv, which never has spectral norm.
    """
    return nn.Sequential(
        _maybe_spectral_norm(nn.ConvTranspose2d(in_channels, mid_channels, 4, stride=2, padding=1), spectral_norm),
        instance_norm(mid_channels),
        nn.ReLU(inplace=True),
        _maybe_spectral_norm(
            nn.ConvTranspose2d(mid_channels, mid_channels // 2, 4, stride=2, padding=1), spectral_norm
        ),
        instance_norm(mid_channels // 2),
        nn.ReLU(inplace=True),
        nn.ReflectionPad2d(3),
        nn.Conv2d(mid_channels // 2, out_channels, 7),
    )


def init_normal_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Official ``init_weights('normal', 0.02)``: every Conv/ConvTranspose weight ~ N(0, std), bias = 0.

    Under spectral norm the raw weight is ``weight_orig`` (what the official init writes through the
    ``weight`` alias). Returns ``module`` for chaining.
    """
    for m in module.modules():
        if not isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            continue
        weight = getattr(m, "weight_orig", None)
        if weight is None:
            weight = m.weight
        nn.init.normal_(weight.data, 0.0, std)
        if m.bias is not None:
            nn.init.zeros_(m.bias.data)
    return module
