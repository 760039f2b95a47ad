"""RFRNet (jingyuanli001/RFR-Inpainting): network with the authors' key names, their checkpoint loader, adapter."""
from inpainting.nets.rfrnet.adapter import RFRNetInpainter
from inpainting.nets.rfrnet.checkpoint import load_rfrnet_checkpoint
from inpainting.nets.rfrnet.network import (
                                            META,
                                            AttentionModule,
                                            Bottleneck,
                                            KnowledgeConsistentAttention,
                                            RFRModule,
                                            RFRNet,
)

__all__ = ["META", "AttentionModule", "Bottleneck", "KnowledgeConsistentAttention", "RFRModule", "RFRNet",
           "RFRNetInpainter", "load_rfrnet_checkpoint"]
