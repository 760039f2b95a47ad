"""Build objects from config mappings; the allow-list for configs read from run folders.

A run folder (``config_resolved.yaml``) may come from someone else, and Hydra's ``_target_`` can name
any callable (``torch.load`` with ``weights_only=False``, ``os.system``). Entry points that rebuild a
model from a run folder (``inpaint-predict``, ``inpaint-eval``, ``inpaint-export``, ``load_model``,
``load_from_checkpoint``, the web demo) go through ``run_folder.RunFolder``: the file is read as data
(``runs.read_run_config``: no resolvers), resolved, and only then checked, so the check sees exactly
what is instantiated; it admits only targets defined in this package's building-block packages and a
few libraries.
"""
from __future__ import annotations

import pathlib
from typing import Any

import hydra
from omegaconf import DictConfig, ListConfig, OmegaConf

from inpainting.utils.runs import UntrustedConfigError

# where a run folder's targets may be defined: the target's path AND the resolved object's module
# (so `inpainting.nets.adapter.torch.load`, an attribute of an allowed module, is refused)
RUN_CONFIG_ALLOWED_MODULES = (
    "inpainting.nets", "inpainting.models", "inpainting.losses", "inpainting.ops", "inpainting.data",
    "torch.optim", "torch.nn",
)


def instantiate_mapping(cfg: DictConfig | None) -> list:
    """Instantiate every entry of a ``name: {_target_: ...}`` mapping, in order; skip empty ones."""
    if not cfg:
        return []
    if not isinstance(cfg, DictConfig):
        raise TypeError(f"expected a mapping of named objects, got {type(cfg).__name__}")
    return [hydra.utils.instantiate(entry) for entry in cfg.values() if entry and "_target_" in entry]


def resolved_run_node(node: DictConfig, key: str, source: str | pathlib.Path) -> DictConfig:
    """``node`` (read by ``read_run_config``, possibly placed in a trusted config) with its key
    references resolved, as a new config with no interpolation left, after its targets are checked."""
    resolved = OmegaConf.create(OmegaConf.to_container(node, resolve=True))
    check_run_config_targets(resolved, key, source)
    return resolved


def check_run_config_targets(node: Any, key: str, source: str | pathlib.Path) -> None:
    """Raise UntrustedConfigError naming ``source``, the key path and the target of the first
    ``_target_`` under ``node`` that is not defined in ``RUN_CONFIG_ALLOWED_MODULES``."""
    if isinstance(node, (DictConfig, ListConfig)):
        node = OmegaConf.to_container(node, resolve=False)  # resolved_run_node resolves first
    if isinstance(node, dict):
        if "_target_" in node:
            _check_target(node["_target_"], f"{key}._target_", source)
        for name, value in node.items():
            if name != "_target_":
                check_run_config_targets(value, f"{key}.{name}", source)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            check_run_config_targets(value, f"{key}.{index}", source)


def _allowed(module: Any) -> bool:
    return isinstance(module, str) and any(module == m or module.startswith(m + ".") for m in RUN_CONFIG_ALLOWED_MODULES)


def _check_target(target: Any, key: str, source) -> None:
    refused = UntrustedConfigError(
        f"{source}: {key}={target} is not allowed in a run folder's config (only classes and functions "
        f"of {', '.join(RUN_CONFIG_ALLOWED_MODULES)}); the folder may come from someone else, so it is not "
        f"instantiated. Check the file, or rebuild the model from this project's configs")
    if not _allowed(target):
        raise refused
    try:
        obj = hydra.utils.get_object(target)  # imports only modules under an allowed prefix
    except Exception as error:  # noqa: BLE001 - an unknown name is refused the same way
        raise refused from error
    if not callable(obj) or not _allowed(getattr(obj, "__module__", None)):
        raise refused
