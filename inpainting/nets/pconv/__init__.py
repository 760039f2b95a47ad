"""PConv U-Net (Liu et al. 2018), built from the paper's layer table (no network was released)."""
from inpainting.nets.pconv.adapter import PConvInpainter
from inpainting.nets.pconv.checkpoint import load_pconv_unet
from inpainting.nets.pconv.network import META, PConvBlock, PConvUNet

__all__ = ["META", "PConvBlock", "PConvInpainter", "PConvUNet", "load_pconv_unet"]
