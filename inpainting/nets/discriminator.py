"""70x70 PatchGAN discriminator of MISF and EdgeConnect (docs/authors-code.md#misf-training)."""
from __future__ import annotations

import torch
from torch import nn

from inpainting.nets.blocks import init_normal_


def _sn_conv(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    return nn.utils.spectral_norm(nn.Conv2d(in_channels, out_channels, 4, stride=stride, padding=1, bias=False))


class PatchDiscriminator(nn.Module):
    """Five 4x4 spectral-normed convs (bias-free), LeakyReLU(0.2) after the first four.

    A 256x256 input gives 30x30 patch scores. ``forward`` returns ``(scores, [conv1..conv5 outputs])``;
    scores pass through a sigmoid when ``use_sigmoid`` (official: every GAN type except hinge).
    ``features`` is the same module as ``conv1`` (the official double binding), so the state dict has
    18 keys and released ``_dis.pth`` files load strictly. Weights start from :func:`init_normal_`.
    """

    def __init__(self, in_channels: int = 3, use_sigmoid: bool = True):
        super().__init__()
        self.use_sigmoid = use_sigmoid
        self.conv1 = self.features = nn.Sequential(_sn_conv(in_channels, 64, 2), nn.LeakyReLU(0.2, inplace=True))
        self.conv2 = nn.Sequential(_sn_conv(64, 128, 2), nn.LeakyReLU(0.2, inplace=True))
        self.conv3 = nn.Sequential(_sn_conv(128, 256, 2), nn.LeakyReLU(0.2, inplace=True))
        self.conv4 = nn.Sequential(_sn_conv(256, 512, 1), nn.LeakyReLU(0.2, inplace=True))
        self.conv5 = nn.Sequential(_sn_conv(512, 1, 1))
        init_normal_(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        conv1 = self.conv1(x)
        conv2 = self.conv2(conv1)
        conv3 = self.conv3(conv2)
        conv4 = self.conv4(conv3)
        conv5 = self.conv5(conv4)
        scores = torch.sigmoid(conv5) if self.use_sigmoid else conv5
        return scores, [conv1, conv2, conv3, conv4, conv5]
