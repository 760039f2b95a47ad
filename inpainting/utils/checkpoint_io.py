"""Checkpoints written atomically on their own filesystem (``atomic.atomic_path``); the checkpoint
callback that tracks them across a moved run folder is ``inpainting.callbacks.checkpoint``."""
from __future__ import annotations

import io
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from inpainting.utils.atomic import atomic_path


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with the write made atomic on the checkpoint's own filesystem.

    Lightning's own ``_atomic_save`` writes through an fsspec transaction, which stages the file in the
    system's temporary folder and *moves* it: across filesystems that is a copy, so a kill during the
    ``last.ckpt`` rewrite left it empty, and a full disk left a truncated ``best_*.ckpt``. The checkpoint
    is serialised in memory first (as Lightning does): torch's own file writer reports a full disk as a
    bare ``RuntimeError`` (``basic_ios::clear: iostream error``), a Python write as ``ENOSPC``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        with atomic_path(path) as tmp:
            tmp.write_bytes(buffer.getbuffer())
