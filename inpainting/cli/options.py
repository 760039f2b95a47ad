"""Checks on a composed command config before anything runs."""
from __future__ import annotations

import contextlib
import logging
import sys

from omegaconf import DictConfig, OmegaConf, open_dict


def exit_if_missing(cfg: DictConfig, command: str) -> None:
    """One line on stderr and exit status 2 when required options (``???``) are not given.

    Without it, OmegaConf raises deep inside the run (or inside Hydra's error formatting)."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        given = " ".join(f"{key}=..." for key in missing)
        print(f"{command}: missing required option(s): {given}  (see {command} --help)", file=sys.stderr)
        raise SystemExit(2)


@contextlib.contextmanager
def one_line_errors(command: str):
    """A bad input (a missing or unpaired file, a wrong size, a bad option value) ends the command with one line
    on stderr and exit status 2 instead of a traceback; other errors keep theirs (they are bugs to report).
    The traceback is logged at debug level (``hydra.verbose=true`` shows it)."""
    from inpainting.data.io import DataError

    try:
        yield
    except (DataError, FileNotFoundError, FileExistsError, ValueError) as error:
        logging.getLogger(__name__).debug("%s failed", command, exc_info=True)
        print(f"{command}: error: {error}", file=sys.stderr)
        raise SystemExit(2) from error


def override_key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0]


def evaluation_data_config(cfg: DictConfig, ckpt: str, overrides: list[str]) -> DictConfig:
    """The data config ``inpaint-eval`` tests ``ckpt`` on: its training run's, unless ``data=<name>`` is given.

    The run's unresolved ``.hydra/config.yaml`` is preferred, so ``paths.data_dir=...`` still moves it
    (else its ``config_resolved.yaml``); ``data.<key>=...`` overrides apply on top of it, and its key
    references resolve in ``cfg``; the result has no interpolation left. ``cfg``: this command's
    composed config; ``overrides``: its command-line overrides. No run config: ``cfg.data``."""
    import pathlib

    from inpainting.utils.runs import RESOLVED_CONFIG

    if any(override_key(o) == "data" for o in overrides):
        return cfg.data
    for folder in pathlib.Path(ckpt).resolve().parents[:2]:  # <run>/checkpoints/x.ckpt or <run>/x.ckpt
        if (folder / RESOLVED_CONFIG).is_file():
            break
    else:
        return cfg.data
    from inpainting.utils.instantiate import resolved_run_node
    from inpainting.utils.runs import read_run_config

    for name in (".hydra/config.yaml", RESOLVED_CONFIG):
        path = folder / name
        trained = read_run_config(path, "data") if path.is_file() else None  # as data: it may come from anyone
        if trained is not None and "data" in trained:
            break
    else:
        return cfg.data
    dotted = [o.lstrip("+") for o in overrides if override_key(o).startswith("data.")]
    data = OmegaConf.merge(trained.data, OmegaConf.from_dotlist(dotted).data) if dotted else trained.data
    placed = cfg.copy()  # its key references (`${paths.data_dir}`) resolve in this command's config
    with open_dict(placed):
        placed.data = data
    return resolved_run_node(placed.data, "data", path)  # allow-listed targets only, as instantiated
