"""Partial convolution (Liu et al. 2018), NVIDIA's `PartialConv2d` arithmetic.

One layer serves every partial-convolution network here (PConv U-Net, RFRNet, CTSDG). Mask
convention of the layer: **1 = valid, 0 = hole** (the networks' adapters convert from the
framework's 1 = hole). The convolution sees `x * mask`; the output without bias is rescaled by
`window_size / valid_count` and zeroed where the window saw no valid pixel; the updated mask is
1 wherever the window saw any valid pixel.

`multi_channel=False`: one mask channel shared by all input channels (window = k*k).
`multi_channel=True`: a mask per input channel (window = C_in*k*k); every output channel of the
updated mask is equal (so it is computed once from the channel-summed mask and returned as a
broadcast view: read it, do not write into it in place). Only `weight` and `bias` are parameters, so state_dict keys equal the
official layer's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PartialConv2d(nn.Conv2d):
    def __init__(self, *args, multi_channel: bool = False, return_mask: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if self.groups != 1:
            raise ValueError("PartialConv2d supports groups=1 only (as NVIDIA's layer)")
        self.multi_channel = multi_channel
        self.return_mask = return_mask
        kh, kw = self.kernel_size
        self.window_size = (self.in_channels if multi_channel else 1) * kh * kw

    def update_mask(self, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(updated mask clamped to [0,1], rescaling ratio zeroed where nothing was valid)."""
        # float32 under autocast: float16 would round the 1e-8 below to 0 (holes: 0 * inf = NaN) and
        # bfloat16 counts integers exactly only up to 256 (multi-channel windows reach C_in*k*k)
        with torch.no_grad(), torch.autocast(mask.device.type, enabled=False):
            mask = mask.float()
            # NVIDIA convolves the mask with a ones kernel (out, in, k, k) in multi-channel mode; every
            # output channel of that is the window sum over all input channels, so one channel-summed
            # convolution gives the same counts (exactly, for binary masks) at 1/(C_out*C_in) of the cost
            if self.multi_channel:
                mask = mask.sum(1, keepdim=True)
            count = F.conv2d(mask, mask.new_ones(1, 1, *self.kernel_size), None, self.stride, self.padding,
                             self.dilation)
            ratio = self.window_size / (count + 1e-8)
            updated = torch.clamp(count, 0, 1)
            ratio = ratio * updated
            if self.multi_channel:
                updated = updated.expand(-1, self.out_channels, -1, -1)
            return updated, ratio

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        if mask is None:
            channels = self.in_channels if self.multi_channel else 1
            mask = x.new_ones(x.shape[0], channels, x.shape[2], x.shape[3])
            raw = super().forward(x)
        else:
            expected = self.in_channels if self.multi_channel else 1
            if mask.dim() != 4 or mask.shape[1] != expected or mask.shape[-2:] != x.shape[-2:]:
                raise ValueError(
                    f"PartialConv2d(multi_channel={self.multi_channel}) needs a mask of shape "
                    f"(B,{expected},{x.shape[-2]},{x.shape[-1]}), got {tuple(mask.shape)}"
                )
            mask = mask.to(x.dtype)
            raw = super().forward(x * mask)
        updated, ratio = self.update_mask(mask)
        if self.bias is not None:
            bias = self.bias.view(1, -1, 1, 1)
            out = ((raw - bias) * ratio + bias) * updated
        else:
            out = raw * ratio
        return (out, updated) if self.return_mask else out
