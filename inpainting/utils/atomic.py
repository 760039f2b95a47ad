"""Writing a file so that a kill, a crash or a full disk never leaves it empty or cut short.

Every file a run writes goes to a temporary file in the same folder (same filesystem, so the final
rename is atomic) and replaces the target only once complete: the target holds either the previous
version or the new one. A failed write is a :class:`WriteError` naming the file and the cause; the
temporary file is removed and the previous file survives. Free of torch imports (the sweep launcher
uses it); checkpoints: ``checkpoint_io.AtomicCheckpointIO``.
"""
from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import re
import uuid
from typing import Iterator


class WriteError(OSError):
    """A file could not be written; ``str()`` names the file and the cause (e.g. no space left on device)."""


# `.<stem>.<pid>-<random>.tmp<suffix>`: the writer's pid tells a live write from a killed one's leftover
_TEMPORARY = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.tmp(\.[^.]*)?$")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[pathlib.Path]:
    """A temporary path beside ``path`` (same suffix, so writers that pick the format by suffix work)
    to write to; renamed over ``path`` when the block ends without error."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        if isinstance(error, WriteError):
            raise
        code = error.errno or errno.EIO
        raise WriteError(code, f"cannot write {path}: {error.strerror or error}; the previous file (if any) "
                               "is unchanged") from error
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> pathlib.Path:
    """``path.write_text(text)`` (UTF-8), atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return pathlib.Path(path)


def remove_stale_temporaries(folder: str | os.PathLike) -> list[pathlib.Path]:
    """Delete the temporary files that writers killed mid-write (``kill -9``) left in ``folder``; a file
    whose writer is still alive is kept. Returns the files removed."""
    removed = []
    for path in pathlib.Path(folder).glob(".*.tmp*"):
        found = _TEMPORARY.match(path.name)
        if found and not _alive(int(found.group(1))):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
