"""The loss modules' weights, checked by name (shape checks: :mod:`inpainting.utils.shapes`)."""
from __future__ import annotations

from dataclasses import fields
from typing import Mapping, TypeVar

W = TypeVar("W")


def loss_weights(cls: type[W], weights: W | Mapping[str, float] | None) -> W:
    """A loss's weights as its frozen dataclass ``cls``: an instance as given, else a mapping by field name
    (missing fields keep the defaults; an unknown name is an error that lists the known ones)."""
    if isinstance(weights, cls):
        return weights
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(weights or {}) - set(names))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {unknown}; expected some of {names}")
    return cls(**dict(weights or {}))

