"""LPIPS (VGG trunk, v0.1 linear heads) as the papers compute it, without ever touching the network.

``lpips.LPIPS(net='vgg')`` would download the torchvision VGG16 ImageNet weights. Instead the trunk
is built randomly (``pnet_rand=True``; the v0.1 linear heads still load from the lpips package) and
the real trunk weights are then loaded from ``vgg16-397923af.pth`` in the torch hub checkpoint folder
(``$TORCH_HOME/hub/checkpoints/``) or an explicit path. When the file is absent the metric is
reported as ``"n/a (weights missing: vgg16-397923af.pth)"``, never as a number from random weights.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping

import torch

from inpainting.utils.shapes import check_image_pair
from inpainting.utils.weights import VGG16_WEIGHTS_FILE, WeightsMissingError, hub_checkpoint_path


def weights_unavailable_note(filename: str) -> str:
    """The table text for a metric whose weights are missing."""
    return f"n/a (weights missing: {filename})"


def _vgg16_conv_indices() -> list[int]:
    """Indices of the 13 convolutions in torchvision's ``vgg16().features`` (each conv is followed by a ReLU)."""
    from torchvision.models.vgg import cfgs

    indices, position = [], 0
    for entry in cfgs["D"]:
        if entry == "M":
            position += 1
        else:
            indices.append(position)
            position += 2
    return indices


def _read_vgg16_trunk(path: Path) -> dict[str, torch.Tensor]:
    """The ``features.*`` tensors of a torchvision VGG16 state dict file; KeyError if it is not one."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    wanted = [f"features.{i}.{p}" for i in _vgg16_conv_indices() for p in ("weight", "bias")]
    missing = [key for key in wanted if key not in state]
    if missing:
        raise KeyError(f"{path}: not a torchvision VGG16 state dict, missing {missing[:4]}{'...' if len(missing) > 4 else ''}")
    return {key: state[key] for key in wanted}


def _load_vgg16_trunk(trunk: torch.nn.Module, features: Mapping[str, torch.Tensor]) -> None:
    """Copy torchvision ``features.<i>.*`` tensors into lpips' ``slice1..5`` (its children keep the index ``i``)."""
    for slice_module in trunk.children():
        for index, layer in slice_module.named_children():
            own = layer.state_dict()
            if own:  # convolutions; ReLU / MaxPool have no tensors
                layer.load_state_dict({name: features[f"features.{index}.{name}"] for name in own})


def build_lpips_vgg(weights_path: str | Path | None = None):
    """An ``lpips.LPIPS(net='vgg')`` in eval mode with the VGG16 trunk loaded from disk (``weights_only=True``).

    Raises ``WeightsMissingError`` (naming the file and the expected place) when the trunk file is absent.
    """
    import lpips  # imported lazily: it pulls torchvision in

    path = Path(weights_path) if weights_path is not None else hub_checkpoint_path(VGG16_WEIGHTS_FILE)
    if not path.is_file():
        raise WeightsMissingError(path, "LPIPS (VGG)")
    features = _read_vgg16_trunk(path)  # validate before the costly random VGG16 construction
    with warnings.catch_warnings():  # lpips still calls torchvision with the deprecated `pretrained=`
        warnings.filterwarnings("ignore", category=UserWarning, module="torchvision")
        model = lpips.LPIPS(net="vgg", version="0.1", pnet_rand=True, verbose=False)
    _load_vgg16_trunk(model.net, features)
    return model.eval().requires_grad_(False)


class LpipsScorer:
    """Per-image LPIPS(VGG) of float [0,1] image pairs, mapped to [-1,1] as the papers do; no quantisation.

    A plain object rather than an ``nn.Module`` on purpose: attached to a metric inside a
    LightningModule, it must not put 58 MB of frozen VGG into every checkpoint. The network moves to the
    inputs' device on first use (once per device, not per call).
    """

    def __init__(self, weights_path: str | Path | None = None):
        self.model = build_lpips_vgg(weights_path)
        self.device = torch.device("cpu")

    @torch.no_grad()
    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """LPIPS per image, shape (B,), for ``pred``/``target`` (B,3,H,W) in [0,1]."""
        check_image_pair(pred, target, "LPIPS", channels=3)
        if pred.device != self.device:
            self.model.to(pred.device)
            self.device = pred.device
        return self.model(pred.float() * 2 - 1, target.float() * 2 - 1).flatten().to(torch.float64)


def try_lpips_scorer(weights_path: str | Path | None = None) -> tuple[LpipsScorer | None, str | None]:
    """``(scorer, None)`` when the VGG16 trunk is on disk, else ``(None, "n/a (weights missing: <file>)")``."""
    try:
        return LpipsScorer(weights_path), None
    except WeightsMissingError as error:
        return None, weights_unavailable_note(error.path.name)
