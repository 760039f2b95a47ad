"""Frozen ImageNet VGG16 cut at pool1, pool2 and pool3: the feature extractor of the PConv-style
perceptual and style losses (PConv, CTSDG's ``models/generator/vgg16.py``).

The three slices are torchvision's ``vgg16().features[:5]``, ``[5:10]`` and ``[10:17]`` and read
torchvision's ImageNet file ``vgg16-397923af.pth`` (the file LPIPS' trunk also uses): from
``weights_path``, else from ``<torch hub dir>/checkpoints/``. Nothing is downloaded; a missing file
raises :class:`~inpainting.eval.perceptual.WeightsMissingError` naming it. The input is used as given
(CTSDG feeds its [-1, 1] images without ImageNet normalisation). Like :class:`VGG19Features`, the
frozen weights are not part of ``state_dict()``.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from inpainting.eval.perceptual import VGG16_WEIGHTS_FILE, WeightsMissingError, _read_vgg16_trunk
from inpainting.losses.vgg import _drop_own_entries, _keep_own_entries
from inpainting.utils.weights import hub_checkpoint_path

POOL_ENDS = (5, 10, 17)  # one past pool1, pool2, pool3 in torchvision's vgg16().features


class VGG16Pools(nn.Module):
    """``forward(x) -> [pool1, pool2, pool3]`` activations of a frozen VGG16."""

    def __init__(self, weights_path: str | Path | None = None):
        super().__init__()
        path = Path(weights_path) if weights_path is not None else hub_checkpoint_path(VGG16_WEIGHTS_FILE)
        if not path.is_file():
            raise WeightsMissingError(path, "The VGG16 perceptual/style loss (pool1-3)")
        features = make_layers(cfgs["D"])[:POOL_ENDS[-1]]
        trunk = _read_vgg16_trunk(path)
        features.load_state_dict({k[len("features."):]: v for k, v in trunk.items()
                                  if int(k.split(".")[1]) < POOL_ENDS[-1]}, strict=True)
        starts = (0, *POOL_ENDS[:-1])
        for i, (start, end) in enumerate(zip(starts, POOL_ENDS), start=1):
            setattr(self, f"enc_{i}", features[start:end])
        self.requires_grad_(False)
        self.eval()
        self.register_state_dict_post_hook(_drop_own_entries)
        self.register_load_state_dict_pre_hook(_keep_own_entries)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG16 expects (B, 3, H, W) images; got {tuple(x.shape)}")
        outputs = []
        for i in range(1, len(POOL_ENDS) + 1):
            x = getattr(self, f"enc_{i}")(x)
            outputs.append(x)
        return outputs
