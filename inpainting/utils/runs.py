"""Run folders: resolved config, checkpoint lookup, metrics.json."""
from __future__ import annotations

import json
import pathlib

from omegaconf import DictConfig, OmegaConf

RESOLVED_CONFIG = "config_resolved.yaml"


def save_resolved_config(cfg: DictConfig, output_dir: str | pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(output_dir) / RESOLVED_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return path


def resolve_checkpoint(ckpt_path: str | None, output_dir: str | pathlib.Path, prefer_best: bool = False) -> str | None:
    """Turn ``ckpt_path`` into a checkpoint file.

    Accepts a ``.ckpt`` file, a run folder (its ``checkpoints/`` best or last file) or ``"last"``
    (this run's ``checkpoints/last.ckpt``). Raises FileNotFoundError naming what was looked for.
    """
    if ckpt_path in (None, ""):
        return None
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


def write_json(data: dict, path: str | pathlib.Path) -> None:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=float))
