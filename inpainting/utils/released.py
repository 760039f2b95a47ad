"""The authors' released networks: ``load_model(<file or folder>, official=<family>)`` (predict, export, the web demo).

The registry is the config group ``conf/released/``: one ``<family>.yaml`` per family with released weights,
which builds the released architecture (no weights read). Each family names its authors' files in its
adapter's ``meta.released_files`` (``load_weights`` keyword -> file name, a glob pattern), beside the code that
reads them. Everything here goes through the adapter contract (``weight_files``, ``meta``, ``load_weights``;
:mod:`inpainting.nets.adapter`), so callers reach a family without importing ``inpainting.nets``.
"""
from __future__ import annotations

import os
import pathlib

import hydra
from omegaconf import OmegaConf
from torch import nn

from inpainting.utils.resources import CONFIG_DIR

RELEASED_DIR = CONFIG_DIR / "released"


def released_families() -> tuple[str, ...]:
    """The families with released weights: the entries of ``conf/released/``."""
    return tuple(sorted(path.stem for path in RELEASED_DIR.glob("*.yaml")))


def released_network(family: str) -> nn.Module:
    """The ``family``'s released architecture (``conf/released/<family>.yaml``), no weights read yet."""
    families = released_families()
    if family not in families:
        raise ValueError(f"official={family!r}: the families with released weights are {', '.join(families)} "
                         f"(PConv's authors released none)")
    return hydra.utils.instantiate(OmegaConf.load(RELEASED_DIR / f"{family}.yaml"))


def released_weight_files(adapter: nn.Module, source: str | os.PathLike) -> dict[str, str]:
    """``{keyword: path}`` for ``adapter``'s weight files from ``source``: the file itself when it needs one, or a
    folder holding the authors' files under their released names (``meta.released_files``, glob patterns)."""
    source = pathlib.Path(source)
    names, meta = adapter.weight_files, adapter.meta
    if source.is_file():
        if len(names) != 1:
            raise ValueError(f"{meta.name} needs {len(names)} files ({dict(meta.released_files)}): "
                             f"give the folder that holds them, not the file {source}")
        return {names[0]: str(source)}
    files = {}
    for name in names:
        pattern = meta.released_files.get(name)
        found = sorted(source.glob(pattern)) if pattern else []
        if len(found) != 1:
            raise FileNotFoundError(f"{source}: {meta.name}'s {name} is a file named {pattern!r}; found "
                                    f"{[p.name for p in found] or 'none'} (give the file itself when there are several)")
        files[name] = str(found[0])
    return files


def load_released(family: str, source: str | os.PathLike) -> nn.Module:
    """The ``family``'s released network with the authors' weights of ``source`` (see :func:`released_weight_files`)."""
    adapter = released_network(family)
    adapter.load_weights(**released_weight_files(adapter, source))
    return adapter
