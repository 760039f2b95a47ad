"""Where pretrained weight files live when no explicit path is given, and the errors for weight files: one that is
missing (:class:`WeightsMissingError`), one that cannot be read or does not fit its network (:class:`CheckpointError`)."""
from __future__ import annotations

from pathlib import Path

import torch

# torchvision's ImageNet VGG16, shared by LPIPS (eval.perceptual) and the PConv/RFRNet VGG16 losses
VGG16_WEIGHTS_FILE = "vgg16-397923af.pth"


class WeightsMissingError(FileNotFoundError):
    """A pretrained-weights file is not on disk (and cannot be downloaded here)."""

    def __init__(self, path: Path, what: str, hint: str = ""):
        super().__init__(
            f"{what} needs the pretrained weights file {path.name}, which is not at {path}. "
            f"Weights are never downloaded at run time: copy the file there (or pass its path explicitly){hint}."
        )
        self.path = path


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable or does not match the network it is loaded into."""


def hub_checkpoint_path(filename: str) -> Path:
    """Where torch hub keeps ``filename``: ``<torch.hub.get_dir()>/checkpoints/`` (honours ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename
