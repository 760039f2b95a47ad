"""MISF's home: the generator and its ablation variants (``network``), the PatchGAN it trains against
(``inpainting.nets.discriminator``, shared with EdgeConnect), the loaders of the released files
(``checkpoint``), the framework adapter (``adapter``) and ``META``."""
from inpainting.nets.discriminator import PatchDiscriminator
from inpainting.nets.misf.adapter import MISFInpainter
from inpainting.nets.misf.checkpoint import load_misf_discriminator, load_misf_generator
from inpainting.nets.misf.network import META, VARIANTS, MISFGenerator, expand_feature_kernels

__all__ = ["META", "VARIANTS", "MISFGenerator", "MISFInpainter", "PatchDiscriminator", "expand_feature_kernels",
           "load_misf_discriminator", "load_misf_generator"]
