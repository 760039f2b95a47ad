"""The PConv U-Net of Liu et al., "Image Inpainting for Irregular Holes Using Partial Convolutions" (ECCV 2018).

**Follows the paper, not released code**: NVIDIA released only the partial-convolution layer and a VGG16
loss, no inpainting network. The layers are the paper's table (docs/rfrnet_pconv.md); the key names
(``enc_<i>.conv``, ``enc_<i>.bn``, ``dec_<i>...``) are ours.

* encoder level i (stride 2): PConv 7x7 3->64 without BN (level 1), 5x5 64->128, 5x5 128->256,
  3x3 256->512, then 3x3 512->512 up to ``levels``; BN and ReLU;
* decoder level i: nearest x2 of features and mask, concatenation with encoder level i-1's features and
  mask (the input image and its mask at level 1), PConv 3x3, BN, LeakyReLU 0.2; level 1 outputs 3
  channels without BN or activation (raw output).

Every partial convolution is NVIDIA's ``PartialConv2d`` with its defaults (bias) in multi-channel mode,
since the skip concatenation joins masks of different features. 7 levels for 256x256 input (the deepest
feature is 2x2), 8 for 512x512 (the paper's). Weights are He-initialised, as the paper says.
Conventions of the network: ``image`` (B,3,H,W) in [0,1] (hole content is ignored), ``mask`` (B,3,H,W)
with **1 = valid**; H and W multiples of ``2**levels``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.nets.meta import NetMeta
from inpainting.nets.partialconv import PartialConv2d

META = NetMeta(
    name="PConv",
    size_multiple=2 ** 7,  # the default 7 levels; PConvUNet(levels=L) needs 2**L
    mask_polarity="valid",
    value_range=(0.0, 1.0),
    param_count=25_784_276,  # at 7 levels (256x256); 32,865,236 at 8 levels (512x512)
    source="paper: Liu et al. 2018, Sec. 3.3 / supplementary layer table (no released network)",
)

# (out channels, kernel) of encoder levels 1..4; deeper levels are 512, 3x3
_ENCODER = ((64, 7), (128, 5), (256, 5), (512, 3))


class PConvBlock(nn.Module):
    """PartialConv2d, then optional BatchNorm and activation; ``forward(x, mask) -> (x, mask)``."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, bn: bool, activation: nn.Module | None):
        super().__init__()
        self.conv = PartialConv2d(cin, cout, kernel, stride, kernel // 2, multi_channel=True)
        self.bn = nn.BatchNorm2d(cout) if bn else None
        self.activation = activation

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = self.conv(x, mask)
        if self.bn is not None:
            x = self.bn(x)
        if self.activation is not None:
            x = self.activation(x)
        return x, mask


class PConvUNet(nn.Module):
    """``forward(image, mask) -> output`` (raw, 3 channels); see the module docstring."""

    def __init__(self, levels: int = 7, in_channels: int = 3):
        super().__init__()
        if levels < len(_ENCODER):
            raise ValueError(f"PConvUNet needs at least {len(_ENCODER)} levels (the paper's distinct layers), got {levels}")
        self.levels = levels
        channels = [in_channels]
        for i in range(1, levels + 1):
            cout, kernel = _ENCODER[i - 1] if i <= len(_ENCODER) else (512, 3)
            setattr(self, f"enc_{i}", PConvBlock(channels[-1], cout, kernel, 2, bn=i > 1, activation=nn.ReLU()))
            channels.append(cout)
        for i in range(levels, 0, -1):
            last = i == 1
            cout = in_channels if last else channels[i - 1]
            block = PConvBlock(channels[i] + channels[i - 1], cout, 3, 1, bn=not last,
                               activation=None if last else nn.LeakyReLU(0.2))
            setattr(self, f"dec_{i}", block)
        for module in self.modules():
            if isinstance(module, PartialConv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_in")
                nn.init.zeros_(module.bias)

    @property
    def size_multiple(self) -> int:
        return 2 ** self.levels

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        if h % self.size_multiple or w % self.size_multiple:
            raise ValueError(f"PConvUNet({self.levels} levels) needs height and width divisible by "
                             f"{self.size_multiple}, got {h}x{w}")
        features, masks = [image], [mask]
        for i in range(1, self.levels + 1):
            x, m = getattr(self, f"enc_{i}")(features[-1], masks[-1])
            features.append(x)
            masks.append(m)
        x, m = features[-1], masks[-1]
        for i in range(self.levels, 0, -1):
            x = torch.cat([F.interpolate(x, scale_factor=2), features[i - 1]], 1)  # nearest
            m = torch.cat([F.interpolate(m, scale_factor=2), masks[i - 1]], 1)
            x, m = getattr(self, f"dec_{i}")(x, m)
        return x
