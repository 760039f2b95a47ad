"""Strict reading of checkpoint files, whatever network they hold: ``read_checkpoint`` (weights-only, clear
errors), ``load_state_dict_strict`` (every missing, unexpected or differently shaped key named),
``load_entry`` (one entry of a file) and ``handed_on_checkpoint`` (the checkpoint a run folder hands on).

The networks' own formats build on these (``inpainting.nets.checkpoints`` and each family's ``checkpoint.py``);
the modules use them for warm starts. Pretrained weights cannot be downloaded at run time here: every
reader fails fast with a message that names the file when it is missing or does not fit the network.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from inpainting.utils.weights import CheckpointError

WEIGHTS_HINT = (
    "download the authors' released weights (links in the official MISF / JPGNet / EdgeConnect READMEs) "
    "and put the file at this path"
)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """``torch.load(path, weights_only=True)`` on CPU, with a clear error for a missing file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path} ({WEIGHTS_HINT})")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle with non-tensor objects, ...
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(content, Mapping):
        raise CheckpointError(f"checkpoint {path} holds a {type(content).__name__}, expected a dict")
    return content


def checkpoint_entry(content: Mapping, key: str, source: str) -> Mapping:
    if key not in content:
        raise CheckpointError(f"{source}: expected an entry {key!r}; the file has entries {sorted(content)}")
    return content[key]


def load_state_dict_strict(module: nn.Module, state_dict: Mapping, source: str = "state dict") -> nn.Module:
    """Load ``state_dict`` into ``module``; any missing/unexpected key or shape mismatch raises.

    The error names ``source`` (usually the file) and lists every offending key. PyTorch's own load
    hooks (e.g. spectral norm's legacy-format conversion) run before the comparison.
    """
    expected = module.state_dict()
    mismatched = [
        f"{k}: file {tuple(v.shape)} vs network {tuple(expected[k].shape)}"
        for k, v in state_dict.items()
        if k in expected and torch.is_tensor(v) and v.shape != expected[k].shape
    ]
    if mismatched:
        raise CheckpointError(f"{source}: shape mismatch for {len(mismatched)} key(s):\n  " + "\n  ".join(mismatched))
    result = module.load_state_dict(dict(state_dict), strict=False)
    # A module registered under two names (the official `conv1 = features` alias) reports its keys
    # twice, and spectral norm's legacy hook adds a `weight` entry the network does not have.
    missing = [k for k in dict.fromkeys(result.missing_keys) if k in expected]
    unexpected = list(dict.fromkeys(result.unexpected_keys))
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {missing}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {unexpected}")
    if problems:
        raise CheckpointError(f"{source} does not match {type(module).__name__}:\n  " + "\n  ".join(problems))
    return module


def handed_on_checkpoint(run_dir: str | os.PathLike) -> str:
    """The checkpoint a run folder hands on to later stages: the one its test scored (``results.json``
    names it; the run's ``handoff_checkpoint`` chose best or last), else its best, else its ``last.ckpt``."""
    from inpainting.utils.runs import resolve_checkpoint  # lazy: lightning is not needed for official files

    results = Path(run_dir) / "results.json"
    tested = json.loads(results.read_text()).get("checkpoint") if results.is_file() else None
    if tested:
        return resolve_checkpoint(str(Path(run_dir) / tested), run_dir)
    return resolve_checkpoint(str(run_dir), run_dir, prefer_best=True)


def load_entry(module: nn.Module, path: str | os.PathLike, key: str) -> Mapping:
    """Load the state dict stored under ``key`` of the file at ``path`` strictly; returns the file's content."""
    content = read_checkpoint(path)
    load_state_dict_strict(module, checkpoint_entry(content, key, str(path)), str(path))
    return content
