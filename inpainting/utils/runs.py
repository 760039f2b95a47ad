"""Run folders: resolved config, checkpoint lookup and atomic writes, W&B id, metrics/status JSON."""
from __future__ import annotations

import json
import os
import pathlib
import traceback
import uuid
import zipfile
from typing import Any

from omegaconf import DictConfig, OmegaConf

RESOLVED_CONFIG = "config_resolved.yaml"
STATUS_FILE = "status.json"
WANDB_ID_FILE = "wandb_id.txt"


def save_resolved_config(cfg: DictConfig, output_dir: str | pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(output_dir) / RESOLVED_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return path


def training_run_config(ckpt_file: str | pathlib.Path) -> DictConfig | None:
    """The resolved config of the run a checkpoint belongs to (``<run>/checkpoints/x.ckpt`` or ``<run>/x.ckpt``)."""
    for folder in pathlib.Path(ckpt_file).resolve().parents[:2]:
        path = folder / RESOLVED_CONFIG
        if path.is_file():
            return OmegaConf.load(path)
    return None


def resolve_checkpoint(ckpt_path: str | None, output_dir: str | pathlib.Path, prefer_best: bool = False) -> str | None:
    """Turn ``ckpt_path`` into a checkpoint file.

    Accepts a ``.ckpt`` file, a run folder (its ``checkpoints/`` best or last file), ``"last"``
    (this run's ``checkpoints/last.ckpt``) or ``"auto"`` (that file if it exists, else a fresh start:
    what a requeued SLURM job wants). Raises FileNotFoundError naming what was looked for, and
    ValueError for a truncated or corrupt file.
    """
    path = _resolve_checkpoint_path(ckpt_path, output_dir, prefer_best)
    if path is not None:
        check_checkpoint_file(path)
    return path


def _resolve_checkpoint_path(ckpt_path: str | None, output_dir: str | pathlib.Path, prefer_best: bool) -> str | None:
    if ckpt_path in (None, ""):
        return None
    if ckpt_path == "auto":
        path = pathlib.Path(output_dir) / "checkpoints" / "last.ckpt"
        return str(path) if path.is_file() else None
    if ckpt_path == "last":
        path = pathlib.Path(output_dir) / "checkpoints" / "last.ckpt"
        if not path.is_file():
            raise FileNotFoundError(f"ckpt_path=last but {path} does not exist")
        return str(path)
    path = pathlib.Path(ckpt_path)
    if path.is_dir():
        folder = path / "checkpoints"
        best = sorted(folder.glob("best*.ckpt"))
        candidates = (best if prefer_best else []) + [folder / "last.ckpt"] + best
        for candidate in candidates:
            if candidate.is_file():
                return str(candidate)
        raise FileNotFoundError(f"no checkpoint in run folder {path} (looked for {folder}/last.ckpt and best*.ckpt)")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return str(path)


def check_checkpoint_file(path: str | pathlib.Path) -> None:
    """Raise ValueError naming ``path`` if it is not a complete torch zip archive (CRCs checked)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ValueError(f"checkpoint {path} is corrupt or truncated ({error}); delete it or pass another "
                         f"ckpt_path (e.g. a best*.ckpt of the same run)") from error
    if bad is not None:
        raise ValueError(f"checkpoint {path} is corrupt: member {bad!r} fails its CRC check")


def run_folder_of(ckpt_path: str) -> pathlib.Path | None:
    """The run folder that ``ckpt_path`` (a run folder or ``<run>/checkpoints/*.ckpt``) belongs to."""
    path = pathlib.Path(ckpt_path).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.suffix == ".ckpt" and path.parent.name == "checkpoints":
        return path.parent.parent.resolve()
    return None


def latest_run_folder(runs_root: str | pathlib.Path) -> str:
    """Newest folder under ``runs_root`` that has ``checkpoints/last.ckpt`` (names are timestamps)."""
    root = pathlib.Path(runs_root)
    candidates = sorted(p.parent.parent for p in root.glob("*/checkpoints/last.ckpt"))
    if not candidates:
        raise FileNotFoundError(f"ckpt_path=last: no run under {root} has checkpoints/last.ckpt")
    return str(candidates[-1])


def wandb_run_id(output_dir: str | pathlib.Path, create: bool = True) -> str | None:
    """The W&B run id kept in ``<run>/wandb_id.txt``; a new one is written there on first start."""
    path = pathlib.Path(output_dir) / WANDB_ID_FILE
    if path.is_file():
        return path.read_text().strip()
    if not create:
        return None
    run_id = uuid.uuid4().hex[:12]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(run_id + "\n")
    return run_id


def write_status(output_dir: str | pathlib.Path, error: BaseException | None = None, **extra: Any) -> pathlib.Path:
    """``<run>/status.json``: ``{"status": "ok"}`` or ``"failed"`` with the error and its traceback."""
    data: dict[str, Any] = {"status": "ok" if error is None else "failed", **extra}
    if error is not None:
        data["error"] = f"{type(error).__name__}: {error}"
        data["traceback"] = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    path = pathlib.Path(output_dir) / STATUS_FILE
    write_json(data, path)
    return path


def write_json(data: dict, path: str | pathlib.Path) -> None:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=float))
