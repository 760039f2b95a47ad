"""Checks on a composed command config before anything runs."""
from __future__ import annotations

import contextlib
import logging
import sys

from omegaconf import DictConfig, OmegaConf


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
