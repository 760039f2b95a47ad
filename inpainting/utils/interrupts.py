"""Signals that end a run (SIGTERM, SIGINT, SIGHUP): an "interrupted" run that exits with 128+N.

Without this, Lightning turns SIGTERM into ``SIGTERMException`` (a ``SystemExit`` with status 0, so a
killed run looked finished and a sweep counted it as completed), SIGINT into ``SystemExit(1)``, and
SIGHUP killed the process before ``status.json`` was written.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

INTERRUPT_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class RunInterrupted(SystemExit):
    """The run was stopped by a signal; the exit status is the shell's convention, 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    def __str__(self) -> str:
        return f"interrupted by {self.signal_name} (exit status {self.code})"


@contextlib.contextmanager
def interrupts_end_the_run() -> Iterator[None]:
    """Within: the first of ``INTERRUPT_SIGNALS`` raises KeyboardInterrupt where the main thread is (Lightning
    then stops and tears down as for Ctrl+C; forked DataLoader workers end quietly on it), and whatever
    leaves the block after a signal leaves it as :class:`RunInterrupted`. Later signals are ignored, so
    the run's record is written. Outside the main thread (no signal handlers there) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame) -> None:
        received.append(signum)
        if len(received) == 1:
            raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, handler) for signum in INTERRUPT_SIGNALS}
    try:
        yield
    except BaseException as error:
        if received:
            raise RunInterrupted(received[0]) from error
        raise
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
