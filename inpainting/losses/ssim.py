"""Differentiable SSIM and the ``L1 - w*SSIM`` loss of JPGNet's KPN stages (docs/authors-code.md#jpgnet-training).

The SSIM here reproduces the one JPGNet trains with (``pytorch_ssim.SSIM()``), which is *not* the
metric SSIM of the evaluation protocol (that one is skimage's 7x7 uniform window on uint8 images):

* an 11x11 Gaussian window, sigma 1.5: the 1-D taps rounded to float32 and normalized to sum 1 in
  float32, then their float32 outer product, exactly as ``pytorch_ssim.create_window`` builds it (a
  float64 normalization differs by up to 7.5e-9 per entry and a training step would not be bitwise
  the official one); the window is then cast to the images' dtype (``type_as``);
* local statistics by a per-channel (depthwise) convolution with **zero padding 5**, so the border
  means are pulled towards 0; this border behaviour is part of the training signal and is kept;
* C1 = 0.01**2, C2 = 0.03**2 (data range 1: images in [0, 1]);
* the SSIM map is averaged over batch, channels and all pixels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.utils.shapes import check_image_pair

WINDOW_SIZE = 11
SIGMA = 1.5
C1 = 0.01**2
C2 = 0.03**2


def gaussian_window(channels: int, window_size: int = WINDOW_SIZE, sigma: float = SIGMA,
                    dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """Depthwise conv weight (channels, 1, S, S) holding the normalized 2-D Gaussian window.

    Built in float32 whatever ``dtype`` is (as the official code), then cast to ``dtype``.
    """
    centre = window_size // 2
    # made on the device (no host -> device copy per step); exp in float64 like the official Python math.exp
    offsets = torch.arange(window_size, dtype=torch.float64, device=device) - centre
    taps = torch.exp(-(offsets**2) / float(2 * sigma**2)).to(torch.float32)
    taps = (taps / taps.sum()).unsqueeze(1)
    window = taps.mm(taps.t()).to(dtype=dtype)
    return window.expand(channels, 1, window_size, window_size).contiguous()


def ssim(pred: torch.Tensor, target: torch.Tensor, window_size: int = WINDOW_SIZE,
         sigma: float = SIGMA) -> torch.Tensor:
    """Mean SSIM of two (B, C, H, W) images in [0, 1], as JPGNet's training SSIM (scalar, differentiable)."""
    check_image_pair(pred, target, "ssim")
    channels = pred.shape[1]
    window = gaussian_window(channels, window_size, sigma, dtype=pred.dtype, device=pred.device)

    def local_mean(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, padding=window_size // 2, groups=channels)

    mu_p, mu_t = local_mean(pred), local_mean(target)
    mu_p2, mu_t2, mu_pt = mu_p * mu_p, mu_t * mu_t, mu_p * mu_t
    var_p = local_mean(pred * pred) - mu_p2
    var_t = local_mean(target * target) - mu_t2
    cov = local_mean(pred * target) - mu_pt
    ssim_map = ((2 * mu_pt + C1) * (2 * cov + C2)) / ((mu_p2 + mu_t2 + C1) * (var_p + var_t + C2))
    return ssim_map.mean()


class L1SSIMLoss(nn.Module):
    """Module form of the KPN stages' loss.

    ``forward(pred, target)`` returns ``(total, {"l1": ..., "ssim": ...})``: the scalar to
    backpropagate and its unweighted parts (for logging), with total = l1 - ssim_weight * ssim.
    """

    def __init__(self, ssim_weight: float = 0.2):
        super().__init__()
        self.ssim_weight = ssim_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        check_image_pair(pred, target, "L1SSIMLoss")
        l1 = (pred - target).abs().mean()
        similarity = ssim(pred, target)
        return l1 - self.ssim_weight * similarity, {"l1": l1, "ssim": similarity}
