"""The authors' checkpoint layout: ``{'n_iter': int, 'generator': G.state_dict(), 'discriminator': D.state_dict()}``.

``trainer.py`` writes it every 10,000 iterations as ``<save_dir>/<iter:06d>.pt``; ``test.py`` reads
``['generator']`` only. Both state dicts are loaded strictly: a mismatch raises a
:class:`~inpainting.utils.checkpoint_read.CheckpointError` that names the file and lists the missing and
unexpected keys. The discriminator's state dict holds each branch's first layer twice
(``conv1.0.*`` and its alias ``features.0.*``), as the official module registers it twice.
"""
from __future__ import annotations

import os

from torch import nn

from inpainting.utils.checkpoint_read import CheckpointError, load_state_dict_strict, read_checkpoint

ENTRIES = ("n_iter", "generator", "discriminator")


def load_ctsdg_checkpoint(path: str | os.PathLike, generator: nn.Module,
                          discriminator: nn.Module | None = None) -> int:
    """Load the generator (and, when given, the discriminator) of an official file; returns ``n_iter``."""
    content = read_checkpoint(path)
    wanted = ["generator"] + (["discriminator"] if discriminator is not None else [])
    missing = [key for key in wanted if key not in content]
    if missing:
        raise CheckpointError(f"{path}: not a CTSDG checkpoint: no entry {missing} "
                              f"(expected {list(ENTRIES)}; the file has {sorted(content)})")
    load_state_dict_strict(generator, content["generator"], f"{path} ['generator']")
    if discriminator is not None:
        load_state_dict_strict(discriminator, content["discriminator"], f"{path} ['discriminator']")
    return int(content.get("n_iter", 0))


def load_ctsdg_generator(generator: nn.Module, path: str | os.PathLike) -> int:
    """The generator of an official file (what ``test.py`` reads); returns ``n_iter``."""
    return load_ctsdg_checkpoint(path, generator)
