"""The contract of a network family's adapter (timm's idea).

Every network the framework runs (a model's ``net``, JPGNet's ``dgnet`` and ``pfunet``) is an :class:`Adapter`:

* ``meta``: the family's :class:`~inpainting.nets.meta.NetMeta` (size multiple, polarity, value range, and
  ``released_files``, the authors' file names);
* ``weight_files``: the keywords of ``load_weights`` this configured adapter needs to be complete (empty for
  one with nothing to learn, such as a classical method);
* ``load_weights(**files)``: reads them (the authors' files, our runs' ``.ckpt`` or run folders, as the family
  supports), strictly;
* ``forward(image, mask, **derived) -> dict``: image (B, 3, H, W) in [0, 1], mask (B, 1, H, W) with 1 = hole;
  ``pred`` in [0, 1], uncomposited. ``derived`` are the inputs it derives from ``(image, mask)`` on the CPU
  (Canny edges, a classical result), which the batch carries when the adapter has a ``derived`` attribute
  (:mod:`inpainting.data.derived`); without them it computes them itself.

A family with released weights has an entry ``conf/released/<family>.yaml`` that builds the released
architecture; ``load_model(file, official=<family>)`` (predict, export, the web demo) builds it and loads the
files (:mod:`inpainting.utils.released`).
"""
from __future__ import annotations

import abc
import os
from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import nn

from inpainting.nets.meta import NetMeta


class Adapter(nn.Module, metaclass=abc.ABCMeta):
    """A network behind the framework's conventions (see the module docstring)."""

    meta: ClassVar[NetMeta]
    weight_files: tuple[str, ...] = ()  # a learned family overrides it (an attribute or a property)
    derived = None  # a DerivedInputs (inpainting.data.derived) when forward takes derived inputs

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not isinstance(getattr(cls, "meta", None), NetMeta):
            raise TypeError(f"{cls.__name__}: an Adapter needs the class attribute meta = NetMeta(...)")

    def load_weights(self, **files: str | os.PathLike) -> None:
        """Read ``files`` (keywords of ``weight_files``); an adapter with nothing to learn takes none."""
        if files:
            raise ValueError(f"{type(self).__name__} has no weights; got {sorted(files)}")

    @abc.abstractmethod
    def forward(self, image: torch.Tensor, mask: torch.Tensor, **derived: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"pred": (B, 3, H, W) in [0, 1], ...}`` for an image in [0, 1] and a mask with 1 = hole."""


def check_weight_files(adapter: Adapter, files: Mapping[str, object], key: str) -> dict:
    """The files ``adapter`` needs, out of ``files``; an error naming ``key.<keyword>`` for each it lacks, and for
    each it cannot take (a keyword set to None is no file)."""
    missing = [name for name in adapter.weight_files if not files.get(name)]
    unknown = sorted(name for name, path in files.items() if path and name not in adapter.weight_files)
    if missing or unknown:
        problems = ([f"{key}.{name} unset" for name in missing]
                    + [f"{key}.{name} is not a file of this {type(adapter).__name__}" for name in unknown])
        raise ValueError(f"{type(adapter).__name__} needs weight files {list(adapter.weight_files)}: "
                         + "; ".join(problems))
    return {name: files[name] for name in adapter.weight_files}
