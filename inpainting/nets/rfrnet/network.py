"""RFRNet (Li et al., CVPR 2020): recurrent feature reasoning with knowledge-consistent attention.

Written from the authors' ``modules/RFRNet.py`` and ``modules/Attention.py``
(jingyuanli001/RFR-Inpainting @ e1cad6a); state_dict keys are theirs (114 entries, 31,224,065
parameters). Conventions of the network itself: ``in_image`` = image in [0,1] with holes 0,
``mask`` (B,3,H,W) with **1 = valid**; the output is the raw last convolution (no activation).
H and W must be multiples of 16.

Differences from the official code, none of which changes the arithmetic:
* the attention runs on the whole batch at once (the official loops over samples) and needs no
  CUDA (the official moves an unused kernel tensor to ``.cuda()``);
* the attention's memory of the previous recurrence (scores and mask) is passed explicitly from one
  iteration to the next instead of being kept as module attributes reset by ``RFRNet.forward``;
* ``forward`` returns the output tensor (the official returns ``(output, None)``);
* the fine-tuning stage's frozen BatchNorm (official ``RFRNet.train(finetune=True)``) is a switch
  of the training module (``frozen_batchnorm``), so the network keeps ``nn.Module.train``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.nets.meta import NetMeta
from inpainting.nets.partialconv import PartialConv2d

META = NetMeta(
    name="RFRNet",
    size_multiple=16,  # Pconv1 (stride 2), then three stride-2 encoder convs whose skips must line up
    mask_polarity="valid",
    value_range=(0.0, 1.0),
    param_count=31_224_065,
    source="jingyuanli001/RFR-Inpainting@e1cad6a8 modules/RFRNet.py, modules/Attention.py",
    released_files={"weights": "g_*.pth"},
)

AttentionState = tuple[torch.Tensor, torch.Tensor]  # (previous scores (B, HW, H, W), previous mask (B, 1, H, W))


def _pconv(cin: int, cout: int, kernel: int, stride: int = 1) -> PartialConv2d:
    # RFR's PartialConv2d: NVIDIA's multi-channel variant without bias
    return PartialConv2d(cin, cout, kernel, stride, kernel // 2, multi_channel=True, bias=False)


class Bottleneck(nn.Module):
    """ResNet bottleneck (1x1 -> 3x3 -> 1x1, expansion 4, identity shortcut), RFRNet's ``tail2``."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + x)


class KnowledgeConsistentAttention(nn.Module):
    """Per-position (1x1 patch) attention whose scores are blended with the previous recurrence's.

    For every position p of ``foreground`` (B,C,H,W) and every key position k, the score is
    ``<f_p, n_k>`` with ``n_k = (f_k + 1e-7) / ||f_k + 1e-7||`` (only the keys are normalized, as
    officially), summed over the 3x3 neighbourhood of p (zero padded), soft-maxed over k, then
    ``out_p = sum_k score[k, p] n_k``. From the second recurrence on, the soft-maxed scores become
    ``(prev * m_prev + cur * r) / (m_prev + r)`` with ``r = |ratio| + 1e-7`` and ``m_prev`` the previous
    recurrence's (resized) mask. All of it runs batched with ``bmm``; the official loops over samples.
    """

    def __init__(self, propagate_size: int = 3):
        super().__init__()
        self.propagate_size = propagate_size
        self.ratio = nn.Parameter(torch.ones(1))

    def forward(self, foreground: torch.Tensor, masks: torch.Tensor,
                previous: AttentionState | None = None) -> tuple[torch.Tensor, AttentionState]:
        b, c, h, w = foreground.shape
        if masks.shape[-2:] != (h, w):
            masks = F.interpolate(masks, size=(h, w))  # nearest, as officially
        values = foreground.reshape(b, c, h * w)
        keys = values.float() + 1e-7  # float32 under autocast: in float16 the squares of hole keys (1e-7) are 0 -> 0/0
        keys = (keys / keys.pow(2).sum(1, keepdim=True).sqrt()).to(values.dtype)  # (B, C, K)
        scores = torch.bmm(keys.transpose(1, 2), values).view(b, h * w, h, w)  # (B, K, H, W)
        if self.propagate_size != 1:
            # the official sums the scores over the neighbourhood as avg_pool * 9 (its ones-kernel is unused)
            size = self.propagate_size
            scores = F.avg_pool2d(scores, size, 1, padding=size // 2) * (size * size)
        scores = F.softmax(scores, dim=1)
        if previous is not None:
            prev_scores, prev_masks = previous
            ratio = self.ratio.abs() + 1e-7
            scores = (prev_scores * prev_masks + scores * ratio) / (prev_masks + ratio)
        out = torch.bmm(keys, scores.reshape(b, h * w, h * w)).view(b, c, h, w)
        return out, (scores, masks.reshape(b, 1, h, w))


class AttentionModule(nn.Module):
    """KCA, then a 1x1 ``combiner`` of ``cat[attention, input]`` (2C -> C, with bias)."""

    def __init__(self, channels: int, propagate_size: int = 3):
        super().__init__()
        self.att = KnowledgeConsistentAttention(propagate_size)
        self.combiner = nn.Conv2d(channels * 2, channels, kernel_size=1)

    def forward(self, foreground: torch.Tensor, mask: torch.Tensor,
                previous: AttentionState | None = None) -> tuple[torch.Tensor, AttentionState]:
        attended, state = self.att(foreground, mask, previous)
        return self.combiner(torch.cat([attended, foreground], 1)), state


def _block(conv: nn.Module, channels: int, activation: nn.Module) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(channels), activation)


class RFRModule(nn.Module):
    """The feature-reasoning U-Net run at every recurrence (channels 64 -> 512 -> 64, 1/8 resolution at the bottom).

    ``enc_1..3``: 3x3 stride-2 convs (64 -> 128 -> 256 -> 512); ``enc_4..6``: 3x3 dilation-2 convs at 512;
    ``dec_5, dec_4``: dilated convs on ``cat[h, skip]`` (1024 -> 512); ``dec_3``: transposed 4x4 (1024 -> 512)
    followed by the attention; ``dec_2`` (768 -> 256), ``dec_1`` (384 -> 64): transposed 4x4.
    """

    def __init__(self, in_channels: int = 64, layer_size: int = 6):
        super().__init__()
        self.layer_size = layer_size
        channels = in_channels
        for i in range(1, 4):
            conv = nn.Conv2d(channels, channels * 2, 3, 2, 1, bias=False)
            setattr(self, f"enc_{i}", _block(conv, channels * 2, nn.ReLU()))
            channels *= 2
        for i in range(4, layer_size + 1):
            conv = nn.Conv2d(channels, channels, 3, 1, 2, dilation=2, bias=False)
            setattr(self, f"enc_{i}", _block(conv, channels, nn.ReLU()))
        self.att = AttentionModule(channels)
        for i in (5, 4):
            conv = nn.Conv2d(channels * 2, channels, 3, 1, 2, dilation=2, bias=False)
            setattr(self, f"dec_{i}", _block(conv, channels, nn.LeakyReLU(0.2)))
        self.dec_3 = _block(nn.ConvTranspose2d(1024, 512, 4, 2, 1, bias=False), 512, nn.LeakyReLU(0.2))
        self.dec_2 = _block(nn.ConvTranspose2d(768, 256, 4, 2, 1, bias=False), 256, nn.LeakyReLU(0.2))
        self.dec_1 = _block(nn.ConvTranspose2d(384, 64, 4, 2, 1, bias=False), 64, nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                previous: AttentionState | None = None) -> tuple[torch.Tensor, AttentionState]:
        skips = [x]
        for i in range(1, self.layer_size + 1):
            skips.append(getattr(self, f"enc_{i}")(skips[-1]))
        h, state = skips[-1], previous
        for i in range(self.layer_size - 1, 0, -1):
            h = getattr(self, f"dec_{i}")(torch.cat([h, skips[i]], 1))
            if i == 3:
                h, state = self.att(h, mask, previous)
        return h, state


class RFRNet(nn.Module):
    """The RFRNet generator; ``forward(in_image, mask) -> output`` (see the module docstring for conventions).

    Args:
        iterations: recurrences of the shared-weight loop (6 in the paper and code).
        kernel_size: of ``Pconv2``, ``Pconv21``, ``Pconv22``: 7 (``RFRNet.py``), 5 for the authors'
            smaller-hole variant (``RFRNet_Smaller_Hole.py``).
    """

    def __init__(self, iterations: int = 6, kernel_size: int = 7):
        super().__init__()
        if iterations < 1:
            raise ValueError(f"RFRNet needs at least one recurrence, got iterations={iterations}")
        self.iterations = iterations
        self.Pconv1 = _pconv(3, 64, 7, stride=2)
        self.bn1 = nn.BatchNorm2d(64)
        self.Pconv2 = _pconv(64, 64, kernel_size)
        self.bn20 = nn.BatchNorm2d(64)
        self.Pconv21 = _pconv(64, 64, kernel_size)
        self.Pconv22 = _pconv(64, 64, kernel_size)
        self.bn2 = nn.BatchNorm2d(64)
        self.RFRModule = RFRModule()
        self.Tconv = nn.ConvTranspose2d(64, 64, 4, 2, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.tail1 = _pconv(67, 32, 3)
        self.tail2 = Bottleneck(32, 8)
        self.out = nn.Conv2d(64, 3, 3, 1, 1, bias=False)

    def forward(self, in_image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        META.check_size(*in_image.shape[-2:])
        x, m = self.Pconv1(in_image, mask)
        x = F.relu(self.bn1(x))
        x, m = self.Pconv2(x, m)
        x = F.relu(self.bn20(x))
        features, masks, state = [x], [m], None
        for _ in range(self.iterations):
            x, m = self.Pconv21(x, m)  # each partial conv shrinks the hole ("area identification")
            x, m = self.Pconv22(x, m)
            x = F.leaky_relu(self.bn2(x))  # default slope 0.01, as the official F.leaky_relu calls
            x, state = self.RFRModule(x, m[:, :1], state)
            x = x * m
            features.append(x)
            masks.append(m)
        # mask-weighted average of the head's and every recurrence's features
        stacked, stacked_masks = torch.stack(features, 2), torch.stack(masks, 2)
        merged = (stacked * stacked_masks).mean(2) / (stacked_masks.mean(2) + 1e-7)
        x = F.leaky_relu(self.bn3(self.Tconv(merged)))
        m = F.interpolate(m, scale_factor=2)  # nearest: the last recurrence's mask at full resolution
        x, _ = self.tail1(torch.cat([in_image, x], 1), torch.cat([mask, m], 1))
        x = F.leaky_relu(x)
        return self.out(torch.cat([x, self.tail2(x)], 1))
