"""Frozen ImageNet VGG16 cut after pool1, pool2 and pool3: the features of the PConv and RFRNet losses.

The layers are torchvision's ``vgg16().features[:17]`` (built by torchvision's own ``make_layers``,
so its weight file loads as is): ``[:5]`` -> pool1 (64 ch, H/2), ``[5:10]`` -> pool2 (128, H/4),
``[10:17]`` -> pool3 (256, H/8), as RFRNet's ``VGG16FeatureExtractor`` and NVIDIA's ``VGG16Partial`` cut it.

Weights: torchvision's ``vgg16-397923af.pth`` (the file LPIPS also reads), from ``weights_path`` or the
torch hub cache ``<torch.hub.get_dir()>/checkpoints/``; never downloaded. A missing file is a
``WeightsMissingError`` naming it. As for the VGG19 losses, the frozen weights stay out of
``state_dict()`` (see :mod:`inpainting.losses.vgg`).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from inpainting.losses.vgg import _drop_own_entries, _keep_own_entries, read_torchvision_features
from inpainting.utils.weights import VGG16_WEIGHTS_FILE, WeightsMissingError, hub_checkpoint_path

POOL_ENDS = (5, 10, 17)  # one past pool1, pool2, pool3 in torchvision's vgg16().features


class VGG16PoolFeatures(nn.Module):
    """``forward(x) -> [pool1, pool2, pool3]`` of a frozen VGG16; the input is used as given.

    Args:
        weights_path: explicit path to torchvision's ``vgg16-397923af.pth``; default: the torch hub cache.
    """

    def __init__(self, weights_path: str | Path | None = None):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers  # torchvision is heavy; loss users only

        self.features = make_layers(cfgs["D"])[: POOL_ENDS[-1]]
        path = Path(weights_path) if weights_path is not None else hub_checkpoint_path(VGG16_WEIGHTS_FILE)
        if not path.is_file():
            raise WeightsMissingError(path, "The VGG16 perceptual and style losses (PConv, RFRNet)")
        state = read_torchvision_features(path, "VGG16")
        own = self.features.state_dict()
        try:
            self.features.load_state_dict({k: state[k] for k in own}, strict=True)
        except (KeyError, RuntimeError) as error:
            raise ValueError(f"{path}: does not match torchvision's VGG16 features: {error}") from None
        self.requires_grad_(False)
        self.eval()
        self.register_state_dict_post_hook(_drop_own_entries)
        self.register_load_state_dict_pre_hook(_keep_own_entries)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG16 expects (B, 3, H, W) images; got {tuple(x.shape)}")
        outputs, start = [], 0
        for end in POOL_ENDS:
            x = self.features[start:end](x)
            outputs.append(x)
            start = end
        return outputs
