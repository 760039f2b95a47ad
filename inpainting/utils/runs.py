"""Run folders: writing the resolved config, checkpoint lookup, W&B id, status JSON; the config read as data
(``read_run_config``). Reading a finished run: ``inpainting.utils.run_folder.RunFolder``."""
from __future__ import annotations

import json
import logging
import pathlib
import re
import traceback
import uuid
import zipfile
from typing import Any

from omegaconf import DictConfig, OmegaConf

from inpainting.utils.atomic import WriteError, write_text
from inpainting.utils.interrupts import RunInterrupted

log = logging.getLogger(__name__)

RESOLVED_CONFIG = "config_resolved.yaml"
RESUMES_DIR = "resumes"
STATUS_FILE = "status.json"
RANK_ERROR_FILE = "status.rank{rank}.json"  # one per failed DDP rank; status.json names the first
WANDB_ID_FILE = "wandb_id.txt"


class UntrustedConfigError(ValueError):
    """A run folder's config asks for code to run (a resolver, a target outside the allow-list); the
    message names the file, the key and the value."""


# the only interpolation a run folder's config may hold: a reference to another key (`${data.image_size}`)
_KEY_REFERENCE = re.compile(r"(?<!\\)\$\{\.*[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+|\[\d+\])*\}")


def read_run_config(path: str | pathlib.Path, section: str | None = None) -> DictConfig:
    """A config file of a run folder (``config_resolved.yaml``, ``.hydra/config.yaml``) as data.

    The folder may come from someone else, and OmegaConf runs resolvers when a value is read
    (``${oc.create:...}`` builds objects Hydra then instantiates, ``${oc.env:...}`` copies secrets into
    the tables, custom resolvers run code). So every ``${`` must start a plain key reference; any
    resolver (``oc.*``, ``hydra:``, custom), nested or escaped interpolation and any interpolated key
    is an UntrustedConfigError naming the file, the key and the value. ``section``: check (and use)
    only that top-level key; our ``.hydra/config.yaml`` files hold resolvers of ours in ``paths``, but
    the model and data sections of our configs only reference other keys, and ``config_resolved.yaml``
    holds no interpolation at all.
    """
    cfg = OmegaConf.load(path)
    if section is None:
        _refuse_resolvers(OmegaConf.to_container(cfg, resolve=False), "", path)
    elif section in cfg:
        _refuse_resolvers(OmegaConf.to_container(cfg[section], resolve=False), section, path)
    return cfg


def _refuse_resolvers(node: Any, key: str, path) -> None:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for name, value in items:
        child = f"{key}.{name}" if key else str(name)
        if isinstance(name, str) and "${" in name:
            raise UntrustedConfigError(f"{path}: key {child!r} is an interpolation, which a run folder's config "
                                       "may not hold; the folder may come from someone else, so it is not used")
        if isinstance(value, str) and value.count("${") != len(_KEY_REFERENCE.findall(value)):
            raise UntrustedConfigError(
                f"{path}: {child}={value} is not a plain value or key reference (${{other.key}}); resolvers "
                "(oc.create, oc.env, oc.decode, oc.select, hydra:, custom ones) and nested or escaped "
                "interpolations are refused in a run folder's config, which may come from someone else")
        _refuse_resolvers(value, child, path)


def save_resolved_config(cfg: DictConfig, output_dir: str | pathlib.Path) -> pathlib.Path:
    """Write ``<run>/config_resolved.yaml``; returns the file written.

    A run's config is never overwritten with a different one: when the folder already holds another
    (a resumed run, e.g. with more epochs), that one stays the run's record and this config goes to
    ``<run>/resumes/<n>/`` with the overrides typed for it.
    """
    output_dir = pathlib.Path(output_dir)
    path, text = output_dir / RESOLVED_CONFIG, OmegaConf.to_yaml(cfg, resolve=True)
    if path.is_file():
        if path.read_text() == text:
            return path
        folder = output_dir / RESUMES_DIR / str(len(list((output_dir / RESUMES_DIR).glob("*"))) + 1)
        folder.mkdir(parents=True)
        overrides = _typed_overrides()
        if overrides is not None:
            write_text(folder / "overrides.yaml", OmegaConf.to_yaml(OmegaConf.create(overrides)))
        path = folder / RESOLVED_CONFIG
    return write_text(path, text)


def _typed_overrides() -> list[str] | None:
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else None


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
    write_text(path, run_id + "\n")
    return run_id


def write_status(output_dir: str | pathlib.Path, error: BaseException | None = None, **extra: Any) -> pathlib.Path:
    """``<run>/status.json``: ``{"status": "ok"}``, ``"interrupted"`` with the ``signal`` (SIGTERM,
    SIGINT, SIGHUP: ``RunInterrupted``), or ``"failed"`` with the error and its traceback.

    Under DDP the error is the first one any rank recorded (``status.rank<r>.json``, see
    ``inpainting.callbacks.rank_errors``), with its ``rank``, and ``ranks`` lists every rank's error: when one rank
    hits a bad file, the others only see their peer vanish ("Connection closed by peer").
    """
    data: dict[str, Any] = {"status": "ok" if error is None else "failed", **extra}
    if isinstance(error, RunInterrupted):
        data.update(status="interrupted", signal=error.signal_name, error=str(error))
    elif error is not None:
        data.update(error_record(error))
        ranks = rank_errors(output_dir)
        if ranks:
            first = min(ranks, key=lambda r: r["time"])
            data.update(error=first["error"], traceback=first["traceback"], rank=first["rank"],
                        ranks={str(r["rank"]): r["error"] for r in ranks})
    path = pathlib.Path(output_dir) / STATUS_FILE
    try:
        write_json(data, path)
    except WriteError as failed:
        if error is None:
            raise
        # recording a failure: the failure is what the caller raises next, not this write
        log.error("%s; the run failed with %s", failed, data["error"])
    return path


def error_record(error: BaseException) -> dict[str, str]:
    return {"error": f"{type(error).__name__}: {error}",
            "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__))}


def rank_errors(output_dir: str | pathlib.Path) -> list[dict]:
    """The errors DDP ranks recorded in ``output_dir`` (``status.rank<r>.json``); an unreadable one
    (a rank killed while writing it, a full disk) is logged and left out."""
    errors = []
    for path in sorted(pathlib.Path(output_dir).glob(RANK_ERROR_FILE.format(rank="*"))):
        try:
            errors.append(json.loads(path.read_text()))
        except (OSError, ValueError) as error:
            log.error("%s is unreadable (%s): that rank's error is not in status.json", path, error)
    return errors


def clear_rank_errors(output_dir: str | pathlib.Path) -> None:
    """Remove an earlier attempt's rank errors (rank 0, before the other ranks start)."""
    for path in pathlib.Path(output_dir).glob(RANK_ERROR_FILE.format(rank="*")):
        path.unlink()


def write_json(data: dict, path: str | pathlib.Path) -> None:
    """``data`` as indented JSON, written atomically (``atomic.write_text``)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True, default=float))
