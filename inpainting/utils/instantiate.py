"""Build callbacks and loggers from their config mappings (each entry with a ``_target_``)."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig


def instantiate_mapping(cfg: DictConfig | None) -> list:
    """Instantiate every entry of a ``name: {_target_: ...}`` mapping, in order; skip empty ones."""
    if not cfg:
        return []
    if not isinstance(cfg, DictConfig):
        raise TypeError(f"expected a mapping of named objects, got {type(cfg).__name__}")
    return [hydra.utils.instantiate(entry) for entry in cfg.values() if entry and "_target_" in entry]
