"""Networks (plain nn.Modules) behind one contract (:class:`~inpainting.nets.adapter.Adapter`), one package per
family, with the loaders of the authors' checkpoint formats and the registry of their released weights."""
from inpainting.nets.adapter import Adapter, load_released, released_families
from inpainting.nets.blocks import init_normal_
from inpainting.nets.checkpoints import (
    CheckpointError,
    load_entry,
    load_state_dict_strict,
    read_checkpoint,
)
from inpainting.nets.discriminator import PatchDiscriminator
from inpainting.nets.edgeconnect import (
    EdgeConnect,
    EdgeGenerator,
    InpaintGenerator,
    canny_edges,
    load_edgeconnect_generator,
    rgb_to_gray,
)
from inpainting.nets.jpgnet import (
    KPN,
    SmartFusion,
    init_xavier_,
    load_jpgnet_kpn,
    naive_fusion,
    pfunet,
    uafnet,
    uncertainty_map,
)
from inpainting.nets.misf import VARIANTS as MISF_VARIANTS
from inpainting.nets.misf import MISFGenerator, expand_feature_kernels, load_misf_discriminator, load_misf_generator

__all__ = [
    "Adapter",
    "canny_edges",
    "CheckpointError",
    "EdgeConnect",
    "EdgeGenerator",
    "expand_feature_kernels",
    "init_normal_",
    "init_xavier_",
    "InpaintGenerator",
    "KPN",
    "load_edgeconnect_generator",
    "load_jpgnet_kpn",
    "load_misf_discriminator",
    "load_misf_generator",
    "load_entry",
    "load_released",
    "load_state_dict_strict",
    "MISF_VARIANTS",
    "MISFGenerator",
    "naive_fusion",
    "PatchDiscriminator",
    "pfunet",
    "read_checkpoint",
    "released_families",
    "rgb_to_gray",
    "SmartFusion",
    "uafnet",
    "uncertainty_map",
]
