"""Frozen ImageNet VGG19 feature extractor for the perceptual and style losses (docs/authors-code.md#misf-training).

The network is torchvision's ``vgg19().features`` (same module indices, so its weight file loads
as is), cut after each ReLU and named ``relu<block>_<conv>``. A forward pass stops at the deepest
layer asked for. Its input is used as given: any normalization is the caller's choice (MISF feeds
raw [0, 1] images, quirk M10).

Weights: torchvision's ImageNet file ``vgg19-dcbfe0f7.pth``, read from ``weights_path`` when given,
else from the torch hub cache ``<torch.hub.get_dir()>/checkpoints/vgg19-dcbfe0f7.pth``; never
downloaded (tests use a stand-in file of the same layout).

The weights are frozen constants read from that file, not training state, so they are left out of
``state_dict()`` and ignored by ``load_state_dict()``: checkpoints stay small and load the same
whether or not the losses were built with a VGG.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import torch
from torch import nn

from inpainting.utils.weights import WeightsMissingError, hub_checkpoint_path

VGG19_WEIGHTS_FILE = "vgg19-dcbfe0f7.pth"
VGG19_WEIGHTS_URL = f"https://download.pytorch.org/models/{VGG19_WEIGHTS_FILE}"

def _build_features() -> nn.Sequential:
    """torchvision's ``vgg19().features`` layer list (its config ``"E"``), so its weight file loads as is."""
    from torchvision.models.vgg import cfgs, make_layers

    return make_layers(cfgs["E"])


def _layer_ends() -> dict[str, int]:
    """``relu<block>_<conv>`` -> index one past that ReLU in the Sequential (the spec's split points)."""
    from torchvision.models.vgg import cfgs

    ends, position, block, conv = {}, 0, 1, 0
    for item in cfgs["E"]:
        if item == "M":
            position += 1
            block, conv = block + 1, 0
        else:
            position += 2  # conv, relu
            conv += 1
            ends[f"relu{block}_{conv}"] = position
    return ends


LAYER_ENDS = _layer_ends()
LAYER_NAMES = tuple(LAYER_ENDS)


def default_vgg19_weights_path() -> Path:
    """Where torchvision keeps the VGG19 ImageNet file: ``<torch.hub.get_dir()>/checkpoints/``."""
    return hub_checkpoint_path(VGG19_WEIGHTS_FILE)


def load_vgg19_feature_weights(weights_path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """Read the ``features.*`` tensors of torchvision's VGG19 file (keys returned without the prefix)."""
    path = Path(weights_path) if weights_path is not None else default_vgg19_weights_path()
    if not path.is_file():
        raise WeightsMissingError(path, "The VGG19 perceptual and style losses (MISF, EdgeConnect, StructureFlow)",
                                  f" (torchvision's file, {VGG19_WEIGHTS_URL}; set TORCH_HOME to move the hub "
                                  f"cache), or set the perceptual and style loss weights to 0 to train without VGG")
    return read_torchvision_features(path, "VGG19")


def read_torchvision_features(path: Path, arch: str) -> dict[str, torch.Tensor]:
    """The ``features.*`` tensors of a torchvision VGG state-dict file, keys without the prefix."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state_dict (dict of tensors), got {type(state).__name__}")
    features = {key[len("features."):]: value for key, value in state.items() if key.startswith("features.")}
    if not features:
        raise ValueError(f"{path}: not a torchvision {arch} state_dict (no 'features.*' keys; "
                         f"first keys: {list(state)[:4]})")
    return features


class VGG19Features(nn.Module):
    """Frozen VGG19 ``features``; ``forward(x, layers)`` returns ``{name: activation}`` for ``layers``.

    Args:
        weights_path: explicit path to torchvision's ``vgg19-dcbfe0f7.pth``; default: the torch hub cache.
    """

    def __init__(self, weights_path: str | Path | None = None):
        super().__init__()
        self.features = _build_features()
        state = load_vgg19_feature_weights(weights_path)
        try:
            self.features.load_state_dict(state, strict=True)
        except RuntimeError as error:
            source = weights_path or default_vgg19_weights_path()
            raise ValueError(f"{source}: does not match torchvision's VGG19 features: {error}") from None
        self.requires_grad_(False)
        self.eval()  # no dropout/batch norm inside; eval only documents that it never trains
        self.register_state_dict_post_hook(_drop_own_entries)
        self.register_load_state_dict_pre_hook(_keep_own_entries)

    def forward(self, x: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        unknown = wanted.difference(LAYER_ENDS)
        if unknown:
            raise ValueError(f"unknown VGG19 layers {sorted(unknown)}; expected names from {LAYER_NAMES}")
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG19 expects (B, 3, H, W) images; got {tuple(x.shape)}")
        outputs, start = {}, 0
        for name in sorted(wanted, key=LAYER_ENDS.__getitem__):
            end = LAYER_ENDS[name]
            x = self.features[start:end](x)
            outputs[name], start = x, end
        return outputs


def _own_keys(module: nn.Module, prefix: str) -> list[str]:
    return [prefix + name for name, _ in module.named_parameters(remove_duplicate=False)]


def _drop_own_entries(module: nn.Module, state_dict: dict, prefix: str, local_metadata) -> None:
    for key in _own_keys(module, prefix):
        state_dict.pop(key, None)


def _keep_own_entries(module: nn.Module, state_dict: dict, prefix: str, *args) -> None:
    # Whatever a checkpoint holds (nothing, or an older copy), the weights read from the file stay.
    for key, param in zip(_own_keys(module, prefix), module.parameters()):
        state_dict[key] = param.detach()
