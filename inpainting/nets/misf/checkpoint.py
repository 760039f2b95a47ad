"""Loaders for MISF's released files, strict (a mismatch lists the missing and unexpected keys).

| file | content | loader |
|---|---|---|
| ``*_InpaintingModel_gen.pth`` | ``{'iteration', 'generator'}`` (92 keys) | :func:`load_misf_generator` |
| ``*_InpaintingModel_dis.pth`` | ``{'discriminator'}`` (18 keys) | :func:`load_misf_discriminator` |
"""
from __future__ import annotations

import os

from torch import nn

from inpainting.utils.checkpoint_read import load_entry


def load_misf_generator(generator: nn.Module, path: str | os.PathLike) -> int:
    """Load a MISF ``{'iteration', 'generator'}`` file; returns the stored iteration."""
    return int(load_entry(generator, path, "generator").get("iteration", 0))


def load_misf_discriminator(discriminator: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a MISF ``{'discriminator'}`` file (``..._dis.pth``)."""
    load_entry(discriminator, path, "discriminator")
    return discriminator
