"""Loaders for the authors' released checkpoint formats, strict by default.

| format | file content | loader |
|---|---|---|
| MISF generator (``*_InpaintingModel_gen.pth``) | ``{'iteration', 'generator'}`` (92 keys) | :func:`load_misf_generator` |
| MISF discriminator (``*_dis.pth``) | ``{'discriminator'}`` (18 keys) | :func:`load_misf_discriminator` |
| JPGNet PFUNet / UAFNet | bare state dict (54 keys) | :func:`inpainting.nets.jpgnet.load_jpgnet_kpn` |
| EdgeConnect generators (``EdgeModel_gen.pth``, ``InpaintingModel_gen.pth``) | ``{'iteration', 'generator'}`` | :func:`inpainting.nets.edgeconnect.load_edgeconnect_generator` |

Pretrained weights cannot be downloaded at run time here: every loader fails fast with a message that
names the file when it is missing or does not fit the network.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

WEIGHTS_HINT = (
    "download the authors' released weights (links in the official MISF / JPGNet / EdgeConnect READMEs) "
    "and put the file at this path"
)


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable or does not match the network it is loaded into."""


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


def _entry(content: Mapping, key: str, source: str) -> Mapping:
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
    problems = []
    if result.missing_keys:
        problems.append(f"missing keys ({len(result.missing_keys)}): {list(result.missing_keys)}")
    if result.unexpected_keys:
        problems.append(f"unexpected keys ({len(result.unexpected_keys)}): {list(result.unexpected_keys)}")
    if problems:
        raise CheckpointError(f"{source} does not match {type(module).__name__}:\n  " + "\n  ".join(problems))
    return module


def load_run_or_official(
    module: nn.Module, path: str | os.PathLike, lightning_prefix: str, official_loader: Callable[[nn.Module, str], object]
) -> nn.Module:
    """Load ``path`` into ``module``: one of our runs or the authors' file.

    ``path`` may be a run folder (its best checkpoint, the one its own results report, else ``last.ckpt``),
    a Lightning ``.ckpt`` (the keys under ``lightning_prefix``, e.g. ``net.kpn.``) or an official file
    (read by ``official_loader``). Strict in every case.
    """
    if Path(path).is_dir():
        from inpainting.utils.runs import resolve_checkpoint  # lazy: lightning is not needed for official files

        path = resolve_checkpoint(str(path), path, prefer_best=True)
    content = read_checkpoint(path)
    if "state_dict" not in content:
        official_loader(module, str(path))
        return module
    state = {k[len(lightning_prefix):]: v for k, v in content["state_dict"].items() if k.startswith(lightning_prefix)}
    if not state:
        raise CheckpointError(
            f"{path}: Lightning checkpoint without '{lightning_prefix}*' keys (first keys: "
            f"{list(content['state_dict'])[:4]}); is it the right stage's run?"
        )
    return load_state_dict_strict(module, state, f"{path} ({lightning_prefix}*)")


def load_misf_generator(generator: nn.Module, path: str | os.PathLike) -> int:
    """Load a MISF ``{'iteration', 'generator'}`` file; returns the stored iteration."""
    content = read_checkpoint(path)
    load_state_dict_strict(generator, _entry(content, "generator", str(path)), str(path))
    return int(content.get("iteration", 0))


def load_misf_discriminator(discriminator: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a MISF ``{'discriminator'}`` file (``..._dis.pth``)."""
    content = read_checkpoint(path)
    return load_state_dict_strict(discriminator, _entry(content, "discriminator", str(path)), str(path))


# EdgeConnect's single `encoder` Sequential vs MISF's three stages (method-spec 1.6).
_EDGECONNECT_TO_MISF_PREFIX = {"encoder.1.": "encoder0.1.", "encoder.4.": "encoder1.0.", "encoder.7.": "encoder2.0."}


def edgeconnect_to_misf_sifb(state_dict: Mapping) -> dict:
    """Rename an EdgeConnect inpainting-generator state dict to MISF's SIFB keys (a warm start).

    ``middle.*`` and ``decoder.*`` keep their names. Load the result into a MISF generator with
    ``strict=False`` (the KPB keys stay untouched); any key outside encoder/middle/decoder raises.
    """
    renamed = {}
    for key, value in state_dict.items():
        if key.startswith(("middle.", "decoder.")):
            renamed[key] = value
            continue
        for old, new in _EDGECONNECT_TO_MISF_PREFIX.items():
            if key.startswith(old):
                renamed[new + key[len(old):]] = value
                break
        else:
            raise CheckpointError(f"EdgeConnect key {key!r} has no MISF counterpart")
    return renamed


def warm_start_misf_from_edgeconnect(generator: nn.Module, path: str | os.PathLike) -> list[str]:
    """Initialise a MISF generator's SIFB from an EdgeConnect inpainting-generator file.

    Every renamed key must exist in ``generator`` with the same shape; returns the keys left untouched
    (the KPB ones), so the caller can see what still starts from scratch.
    """
    content = read_checkpoint(path)
    renamed = edgeconnect_to_misf_sifb(_entry(content, "generator", str(path)))
    expected = generator.state_dict()
    unknown = sorted(set(renamed) - set(expected))
    if unknown:
        raise CheckpointError(f"{path}: keys with no place in {type(generator).__name__}: {unknown}")
    mismatched = [k for k, v in renamed.items() if v.shape != expected[k].shape]
    if mismatched:
        raise CheckpointError(f"{path}: shape mismatch for {mismatched}")
    generator.load_state_dict(renamed, strict=False)
    return sorted(set(expected) - set(renamed))
