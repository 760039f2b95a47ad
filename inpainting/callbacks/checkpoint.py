"""Lightning's ``ModelCheckpoint``, tracking the best checkpoint across a moved or copied run folder."""
from __future__ import annotations

import logging
import os
from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint

log = logging.getLogger(__name__)


class RunFolderCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` that keeps tracking the best checkpoint when a run folder was
    moved or copied before resuming.

    Lightning reloads the best score and top-k files only when the checkpoint folder is the very path
    saved in the checkpoint; otherwise it forgets them, so the resumed run kept a worse checkpoint as
    "best" (and tested it). Here the saved paths are mapped into this run's folder (same file names)."""

    def _generate_state_key(self, **kwargs: Any) -> str:
        # Lightning's class name: checkpoints saved with plain ModelCheckpoint callbacks resume their state
        return f"{ModelCheckpoint.__qualname__}{kwargs!r}"

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict.get("dirpath")
        if saved and self.dirpath and saved != self.dirpath:
            log.info("run folder moved: checkpoint paths saved under %s are read under %s", saved, self.dirpath)
            state_dict = _relocated(state_dict, saved, self.dirpath)
        super().load_state_dict(state_dict)


def _relocated(state: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    def move(path):
        if isinstance(path, str) and path and os.path.dirname(path) == old.rstrip(os.sep):
            return os.path.join(new, os.path.basename(path))
        return path

    moved = {key: move(value) for key, value in state.items()}
    moved["best_k_models"] = {move(path): score for path, score in state.get("best_k_models", {}).items()}
    moved["dirpath"] = new
    return moved
