"""Networks (plain nn.Modules) and loaders for the authors' checkpoint formats, one package per family.

Seven families, each ``nets/<family>/`` with its network (the authors' key names), checkpoint loader and
adapter to the framework's conventions (image in [0,1], mask 1 = hole): ``misf``, ``jpgnet`` (PFUNet,
UAFNet), ``edgeconnect``, ``rfrnet``, ``pconv``, ``structureflow``, ``ctsdg``. Shared parts: ``blocks``,
``checkpoints`` (our runs or the authors' files; the strict readers are ``inpainting.utils.checkpoint_read``),
``discriminator`` (the PatchGAN), ``partialconv``, ``meta`` (``NetMeta``); every adapter follows one contract
(:class:`~inpainting.nets.adapter.Adapter`); the families with released weights each have an entry in
``conf/released/`` (:mod:`inpainting.utils.released` loads them).
"""
from inpainting.nets.adapter import Adapter
from inpainting.nets.blocks import init_normal_
from inpainting.nets.ctsdg import CTSDGInpainter, load_ctsdg_checkpoint
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
from inpainting.nets.pconv import PConvInpainter, PConvUNet, load_pconv_unet
from inpainting.nets.rfrnet import RFRNet, RFRNetInpainter, load_rfrnet_checkpoint
from inpainting.nets.structureflow import StructureFlowInpainter, load_structureflow_network
from inpainting.utils.checkpoint_read import (
    CheckpointError,
    load_entry,
    load_state_dict_strict,
    read_checkpoint,
)

__all__ = [
    "Adapter",
    "canny_edges",
    "CheckpointError",
    "CTSDGInpainter",
    "EdgeConnect",
    "EdgeGenerator",
    "expand_feature_kernels",
    "init_normal_",
    "init_xavier_",
    "InpaintGenerator",
    "KPN",
    "load_ctsdg_checkpoint",
    "load_edgeconnect_generator",
    "load_entry",
    "load_jpgnet_kpn",
    "load_misf_discriminator",
    "load_misf_generator",
    "load_pconv_unet",
    "load_rfrnet_checkpoint",
    "load_state_dict_strict",
    "load_structureflow_network",
    "MISF_VARIANTS",
    "MISFGenerator",
    "naive_fusion",
    "PatchDiscriminator",
    "PConvInpainter",
    "PConvUNet",
    "pfunet",
    "read_checkpoint",
    "RFRNet",
    "RFRNetInpainter",
    "rgb_to_gray",
    "SmartFusion",
    "StructureFlowInpainter",
    "uafnet",
    "uncertainty_map",
]
