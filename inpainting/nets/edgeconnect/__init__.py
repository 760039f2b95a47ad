"""EdgeConnect (Nazeri et al. 2019): edge generator G1, inpainting generator G2, their loaders and adapter.

JPGNet's DGNet #1. ``network``: the generators (official key names) and the Canny/gray helpers;
``checkpoint``: the released ``*_gen.pth`` files and our runs; ``adapter``: :class:`EdgeConnect`, the
three training stages and the released test path in the framework's conventions. The discriminators
D1/D2 are the shared :class:`inpainting.nets.discriminator.PatchDiscriminator`.
"""
from inpainting.nets.edgeconnect.adapter import META, STAGES, EdgeConnect
from inpainting.nets.edgeconnect.checkpoint import load_edgeconnect_generator, load_generator
from inpainting.nets.edgeconnect.network import GRAY_WEIGHTS, EdgeGenerator, InpaintGenerator, canny_edges, rgb_to_gray

__all__ = ["canny_edges", "EdgeConnect", "EdgeGenerator", "GRAY_WEIGHTS", "InpaintGenerator", "load_edgeconnect_generator",
           "load_generator", "META", "rgb_to_gray", "STAGES"]
