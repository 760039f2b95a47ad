"""The contract of a network family's adapter (timm's idea).

Every network the framework runs (a model's ``net``, JPGNet's ``dgnet`` and ``pfunet``) is an :class:`Adapter`:

* ``meta``: the family's :class:`~inpainting.nets.meta.NetMeta` (size multiple, polarity, value range, and
  ``released_files``, the authors' file names);
* ``weight_files``: the keywords of ``load_weights`` this configured adapter needs to be complete (empty for
  one with nothing to learn, such as a classical method);
* ``load_weights(**files)``: reads them (the authors' files, our runs' ``.ckpt`` or run folders), strictly. No
  constructor reads a file: a LightningModule reads its ``stage_weights`` through :meth:`Adapter.load_stage_weights`
  once, when a run starts without a checkpoint (``inpainting.models.base``), so a run's config rebuilds its
  model without the stage files;
* ``forward(image, mask, **derived) -> dict``: image (B, 3, H, W) in [0, 1], mask (B, 1, H, W) with 1 = hole;
  ``pred`` in [0, 1], uncomposited. ``derived`` are the inputs it derives from ``(image, mask)`` on the CPU
  (Canny edges, a classical result), which the batch carries when the adapter has a ``derived`` attribute
  (:mod:`inpainting.data.derived`); without them it computes them itself.

An adapter of one network (``generator``) read from one file (``weights``) is a :class:`GeneratorAdapter`.
A family with released weights has an entry ``conf/released/<family>.yaml`` that builds the released
architecture; ``load_model(file, official=<family>)`` (predict, export, the web demo) builds it and loads the
files (:mod:`inpainting.utils.released`).
"""
from __future__ import annotations

import abc
import os
from collections.abc import Callable, Mapping
from typing import ClassVar

import torch
from torch import nn

from inpainting.nets.checkpoints import load_run_or_official
from inpainting.nets.meta import NetMeta

StageFiles = str | os.PathLike | Mapping[str, object] | None  # a path (an adapter of one file) or {keyword: path}


class Adapter(nn.Module, metaclass=abc.ABCMeta):
    """A network behind the framework's conventions (see the module docstring)."""

    meta: ClassVar[NetMeta]
    weight_files: tuple[str, ...] = ()  # a learned family overrides it (an attribute or a property)
    derived = None  # a DerivedInputs (inpainting.data.derived) when forward takes derived inputs

    def __init_subclass__(cls, abstract: bool = False, **kwargs):
        """``abstract=True``: a base of adapters (no family of its own, so no ``meta``)."""
        super().__init_subclass__(**kwargs)
        if not abstract and not isinstance(getattr(cls, "meta", None), NetMeta):
            raise TypeError(f"{cls.__name__}: an Adapter needs the class attribute meta = NetMeta(...)")

    def load_weights(self, **files: str | os.PathLike) -> None:
        """Read ``files`` (keywords of ``weight_files``); an adapter with nothing to learn takes none."""
        if files:
            raise ValueError(f"{type(self).__name__} has no weights; got {sorted(files)}")

    def load_stage_weights(self, files: StageFiles, key: str = "model.stage_weights", required: bool = False) -> None:
        """Read a run's stage files with :meth:`load_weights`: ``files`` is ``{keyword: path}`` (keywords of
        ``weight_files``; None is no file) or, for an adapter of one file, its path. Every error names ``key``
        (``<key>.<keyword>``), before any file is read.

        ``required``: every weight file must be given (a frozen stage: JPGNet's DGNet, a DGNet evaluated alone);
        otherwise (a training stage's warm start) the given ones are read, and none given reads nothing."""
        given = files_given(files)
        if not self.weight_files:
            if given:
                raise ValueError(f"{key} given, but {type(self).__name__} has no weights")
            return
        if not given:
            if required:
                raise ValueError(f"{key} unset: {type(self).__name__} needs weight files {list(self.weight_files)} "
                                 "(a run folder, our run's .ckpt or the authors' files; see docs/recipes.md)")
            return
        if not isinstance(files, Mapping):
            if len(self.weight_files) != 1:
                raise ValueError(f"{key}: {type(self).__name__} needs one file per keyword {list(self.weight_files)}, "
                                 f"set {key}.<keyword>")
            files = {self.weight_files[0]: files}
        self.load_weights(**self._checked_weight_files(files, key, required))

    def _checked_weight_files(self, files: Mapping[str, object], key: str, required: bool) -> dict:
        """The files of ``weight_files`` out of ``files``; an error naming ``key.<keyword>`` for each it cannot take
        and, when ``required``, for each it lacks."""
        missing = [name for name in self.weight_files if not files.get(name)] if required else []
        unknown = sorted(name for name, path in files.items() if path and name not in self.weight_files)
        if missing or unknown:
            problems = ([f"{key}.{name} unset" for name in missing]
                        + [f"{key}.{name} is not a file of this {type(self).__name__}" for name in unknown])
            raise ValueError(f"{type(self).__name__} needs weight files {list(self.weight_files)}: " + "; ".join(problems))
        return {name: files[name] for name in self.weight_files if files.get(name)}

    @abc.abstractmethod
    def forward(self, image: torch.Tensor, mask: torch.Tensor, **derived: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"pred": (B, 3, H, W) in [0, 1], ...}`` for an image in [0, 1] and a mask with 1 = hole."""


def files_given(files: StageFiles) -> bool:
    """Whether ``files`` names at least one file."""
    if isinstance(files, Mapping):
        return any(files.values())
    return bool(files)


class GeneratorAdapter(Adapter, abstract=True):
    """An adapter of one network, ``generator``, read from one file (``weights``): the family's own format
    (``file_loader(generator, path)``: the authors' release, PConv's bare state dict), one of our runs' ``.ckpt``
    (the generator under ``net.generator.``) or a run folder (the checkpoint it hands on); strictly."""

    weight_files = ("weights",)
    file_loader: ClassVar[Callable[[nn.Module, str], object]]  # a staticmethod of the family's adapter

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def load_weights(self, weights: str | os.PathLike) -> None:
        load_run_or_official(self.generator, weights, "net.generator.", self.file_loader)
