"""Where pretrained backbone files live when no explicit path is given."""
from __future__ import annotations

from pathlib import Path

import torch


def hub_checkpoint_path(filename: str) -> Path:
    """Where torch hub keeps ``filename``: ``<torch.hub.get_dir()>/checkpoints/`` (honours ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename
