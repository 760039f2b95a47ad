"""Training losses of JPGNet and MISF (docs/authors-code.md#misf-training, docs/authors-code.md#jpgnet-training).

* JPGNet KPN stages: :class:`L1SSIMLoss` (``L1 - 0.2*SSIM``).
* MISF generator: :class:`InpaintingGeneratorLoss` (adversarial 0.1, L1/hole ratio 1, perceptual 0.1,
  style 250), built from :class:`AdversarialLoss`, :class:`HoleNormalizedL1Loss`,
  :class:`PerceptualLoss` and :class:`StyleLoss` on a frozen :class:`VGG19Features`.
* PConv and RFRNet: :class:`PConvLoss` (valid 1, hole 6, perceptual 0.05, style 120, TV 0.1) on a frozen
  :class:`VGG16PoolFeatures`.
"""
from inpainting.losses.adversarial import GAN_KINDS, AdversarialLoss, discriminator_uses_sigmoid
from inpainting.losses.composite import InpaintingGeneratorLoss, InpaintingLossWeights
from inpainting.losses.feature_losses import PERCEPTUAL_LAYERS, STYLE_LAYERS, PerceptualLoss, StyleLoss, gram_matrix
from inpainting.losses.pconv_loss import TV_REGIONS, PConvLoss, PConvLossWeights, total_variation
from inpainting.losses.reconstruction import HoleNormalizedL1Loss, hole_normalized_l1
from inpainting.losses.ssim import L1SSIMLoss, ssim
from inpainting.losses.vgg import (
                                              LAYER_NAMES,
                                              VGG19_WEIGHTS_FILE,
                                              VGG19Features,
                                              default_vgg19_weights_path,
                                              load_vgg19_feature_weights,
)
from inpainting.losses.vgg16 import VGG16PoolFeatures

__all__ = [
    "GAN_KINDS", "AdversarialLoss", "discriminator_uses_sigmoid",
    "InpaintingGeneratorLoss", "InpaintingLossWeights",
    "PERCEPTUAL_LAYERS", "STYLE_LAYERS", "PerceptualLoss", "StyleLoss", "gram_matrix",
    "HoleNormalizedL1Loss", "hole_normalized_l1",
    "TV_REGIONS", "PConvLoss", "PConvLossWeights", "total_variation", "VGG16PoolFeatures",
    "L1SSIMLoss", "ssim",
    "LAYER_NAMES", "VGG19_WEIGHTS_FILE", "VGG19Features", "default_vgg19_weights_path",
    "load_vgg19_feature_weights",
]
