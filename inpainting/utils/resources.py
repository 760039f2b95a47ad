"""Where the configs (``conf/``) and experiment data (``experiments/``) are, checkout or installed.

The source tree keeps them at the top level (``conf/``, ``experiments/``); the wheel ships them inside
the package as ``inpainting/conf`` and ``inpainting/experiments`` (``setup.py`` maps them), so an
installed ``inpaint-train`` works from any directory. This is the one place that decides which.
"""
from __future__ import annotations

import importlib.resources
import pathlib
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from omegaconf import DictConfig

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


def compose(config_name: str = "train", overrides: Sequence[str] = ()) -> DictConfig:
    """``conf/<config_name>.yaml`` composed with ``overrides`` outside a Hydra run (tools, tests), with its
    ``hydra`` node, registered so that ``${hydra:...}`` interpolations resolve as in a run."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name=config_name, overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    return cfg


def override_key(override: str) -> str:
    """The config key an override sets: ``+model.x=1`` -> ``model.x``, ``hydra/launcher=joblib`` -> ``hydra/launcher``."""
    return override.split("=", 1)[0].lstrip("+~")
