"""EdgeConnect (Nazeri et al. 2019): edge generator G1 and inpainting generator G2, JPGNet's DGNet #1.

Both generators share the residual encoder-decoder of :mod:`inpainting.nets.blocks`, with the official
single ``encoder`` / ``middle`` / ``decoder`` Sequentials so that released ``EdgeModel_gen.pth`` and
``InpaintingModel_gen.pth`` files load strictly. G1 has spectral norm on every conv except the last
(bias-free convs in its residual blocks) and ends in a sigmoid; G2 has no spectral norm and ends in
``(tanh + 1) / 2``.

The generators take EdgeConnect's own input conventions (grayscale + Canny edges for G1, holes painted
white (1), ``1 = hole`` masks); :mod:`inpainting.nets.edgeconnect.adapter` builds those inputs.
"""
from __future__ import annotations

import numpy as np
import torch
from skimage.feature import canny
from torch import nn

from inpainting.nets.blocks import decoder_stage, down_stage, init_normal_, residual_stage, stem_stage

# skimage.color.rgb2gray weights (ITU-R BT.709), what EdgeConnect's data loader uses.
GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)


class _ResidualEncoderDecoder(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, spectral_norm: bool, residual_blocks: int):
        super().__init__()
        self.encoder = nn.Sequential(
            *stem_stage(in_channels, 64, spectral_norm),
            *down_stage(64, 128, spectral_norm),
            *down_stage(128, 256, spectral_norm),
        )
        self.middle = residual_stage(256, residual_blocks, spectral_norm)
        self.decoder = decoder_stage(256, 128, out_channels, spectral_norm)
        init_normal_(self)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.middle(self.encoder(x)))


class EdgeGenerator(_ResidualEncoderDecoder):
    """G1: input ``[gray (holes 1), edges (holes 0), mask]`` (B, 3, H, W) -> edge probability (B, 1, H, W)."""

    def __init__(self, residual_blocks: int = 8, spectral_norm: bool = True):
        super().__init__(3, 1, spectral_norm, residual_blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


class InpaintGenerator(_ResidualEncoderDecoder):
    """G2: input ``[RGB (holes 1), edge map]`` (B, 4, H, W) -> image ``(tanh + 1) / 2`` (B, 3, H, W)."""

    def __init__(self, residual_blocks: int = 8):
        super().__init__(4, 3, False, residual_blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(self.logits(x)) + 1) / 2


def rgb_to_gray(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> (B, 1, H, W) luminance with skimage's ``rgb2gray`` weights."""
    weights = image.new_tensor(GRAY_WEIGHTS).view(1, 3, 1, 1)
    return (image * weights).sum(1, keepdim=True)


def canny_edges(gray: torch.Tensor, mask: torch.Tensor | None = None, sigma: float = 2.0) -> torch.Tensor:
    """Canny edges (B, 1, H, W) in {0, 1} of a grayscale batch in [0, 1], via ``skimage.feature.canny``.

    With ``mask`` (B, 1, H, W), 1 = hole, edges are detected on known pixels only (EdgeConnect's test
    path), so none appear inside or on the rim of holes. Not differentiable; runs on the CPU.
    """
    if sigma <= 0:
        raise ValueError(f"Canny sigma must be positive, got {sigma}")
    if gray.dim() != 4 or gray.shape[1] != 1:
        raise ValueError(f"gray must be (B, 1, H, W); got {tuple(gray.shape)}")
    if mask is not None and mask.shape != gray.shape:
        raise ValueError(f"mask must match gray {tuple(gray.shape)}; got {tuple(mask.shape)}")
    gray_np = gray.detach().float().cpu().numpy()
    known = None if mask is None else (mask.detach().cpu().numpy() < 0.5)
    edges = np.stack(
        [
            canny(gray_np[i, 0], sigma=sigma, mask=None if known is None else known[i, 0])[None]
            for i in range(gray_np.shape[0])
        ]
    )
    return torch.from_numpy(edges).to(device=gray.device, dtype=gray.dtype)
