"""Shared fixtures. Tests that read ../shared skip with a reason when it is absent (a user's machine)."""
import os
import pathlib

import pytest
import torch

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
torch.set_num_threads(1)  # 2-core CI: one thread per process keeps timings stable

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DIR = pathlib.Path(os.environ.get("INPAINTING_SHARED_DIR", REPO_ROOT.parent / "shared"))


def shared_path(*parts: str) -> pathlib.Path:
    """Path under the shared data folder, or skip the calling test when it is missing."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set INPAINTING_SHARED_DIR)")
    return path


@pytest.fixture
def shared():
    return shared_path
