"""RFRNet in the framework's conventions (image in [0,1], mask (B,1,H,W) with 1 = hole)."""
from __future__ import annotations

import torch

from inpainting.nets.adapter import GeneratorAdapter
from inpainting.nets.rfrnet.checkpoint import load_rfrnet_checkpoint
from inpainting.nets.rfrnet.network import META


class RFRNetInpainter(GeneratorAdapter):
    """Feeds RFRNet as ``RFRNetModel`` does: ``RFRNet(I * V, V3)`` with ``V = 1 - mask`` repeated to 3 channels.

    Returns ``pred``: the raw output (no activation, not clamped, not composited; JPGNet composites
    it as ``O * hole + I * valid``). ``load_weights(weights=...)``: an official ``{'n_iter', 'generator',
    'optimizer_G'}`` file, one of our ``rfrnet`` runs' ``.ckpt`` or its run folder (the checkpoint it hands on),
    strictly, e.g. to use RFRNet as JPGNet's frozen DGNet.
    """

    meta = META
    file_loader = staticmethod(load_rfrnet_checkpoint)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        valid = (1 - mask).expand(-1, 3, -1, -1)
        return {"pred": self.generator(image * valid, valid)}
