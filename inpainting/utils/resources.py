"""Where the configs (``conf/``) and experiment data (``experiments/``) are, checkout or installed.

The source tree keeps them at the top level (``conf/``, ``experiments/``); the wheel ships them inside
the package as ``inpainting/conf`` and ``inpainting/experiments`` (``setup.py`` maps them), so an
installed ``inpaint-train`` works from any directory. This is the one place that decides which.
"""
from __future__ import annotations

import importlib.resources
import pathlib

_SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]


def resource_dir(name: str) -> pathlib.Path:
    """``conf`` or ``experiments``: the checkout's folder when running from a source tree, else the package's."""
    source = _SOURCE_ROOT / name
    if (_SOURCE_ROOT / "pyproject.toml").is_file() and source.is_dir():
        return source  # a checkout (PYTHONPATH or editable install): edits take effect at once
    try:
        path = pathlib.Path(str(importlib.resources.files(f"inpainting.{name}")))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_dir():
        raise FileNotFoundError(f"inpainting.{name} is not installed and {source} does not exist: reinstall the package")
    return path


CONFIG_DIR = resource_dir("conf")
EXPERIMENTS_DIR = resource_dir("experiments")
