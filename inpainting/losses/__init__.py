"""Training losses of JPGNet and MISF (method-spec sections 2.2 and 5.4)."""
from inpainting.losses.ssim import SSIM, L1SSIMLoss, l1_ssim_loss, l1_ssim_terms, ssim

__all__ = ["SSIM", "L1SSIMLoss", "l1_ssim_loss", "l1_ssim_terms", "ssim"]
