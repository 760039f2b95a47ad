"""JPGNet (Guo et al. 2021): PFUNet + any DGNet, fused by uncertainty (naive Eq. 4 or UAFNet).

``network``: the KPN U-Net (PFUNet / UAFNet, official key names), the uncertainty map and the fusions;
``checkpoint``: the released PFUNet/UAFNet files and our runs; ``adapter``: :class:`PFUNet` and the
pipeline :class:`JPGNet` in the framework's conventions. See docs/jpgnet.md for the DGNet plug-in.
"""
from inpainting.nets.jpgnet.adapter import JPGNet, PFUNet, needs_weight_files
from inpainting.nets.jpgnet.checkpoint import load_jpgnet_kpn, load_pfunet
from inpainting.nets.jpgnet.network import (
    KPN,
    META,
    NORMALIZATIONS,
    PFUNET,
    REDUCTIONS,
    UAFNET,
    SmartFusion,
    init_xavier_,
    min_max_normalize,
    naive_fusion,
    pfunet,
    uafnet,
    uncertainty_map,
)

__all__ = ["init_xavier_", "JPGNet", "KPN", "load_jpgnet_kpn", "load_pfunet", "META", "min_max_normalize", "naive_fusion",
           "needs_weight_files", "NORMALIZATIONS", "PFUNET", "PFUNet", "pfunet", "REDUCTIONS", "SmartFusion", "UAFNET",
           "uafnet", "uncertainty_map"]
