"""Give Lightning's extra DDP ranks the command of *this* job, not the whole Hydra sweep.

Lightning's subprocess launcher starts ranks 1..N-1 by re-running ``sys.argv`` plus
``hydra.run.dir=<HydraConfig.run.dir>``. Under ``--multirun`` that argv still holds ``-m`` and the
sweep, so a child re-runs the sweep (Lightning issue 11300): with Optuna it silently trains other
hyper-parameters, with joblib it crashes, and ``run.dir`` is not the job's folder anyway. Inside a
job we know its exact overrides, so we hand the children a single-run command for this job's folder.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from typing import Iterator

import torch
from omegaconf import open_dict, read_write

CHILD_OBSERVER_THREAD = "child-process-observer"  # thread name in lightning.fabric ...subprocess_script
# what Lightning's subprocess launcher sets in the main process; LOCAL_RANK left behind would make the
# next job believe its ranks were started externally
LAUNCH_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
CHILD_EXIT_TIMEOUT_S = 60


def job_command(overrides: list[str], config_name: str | None) -> list[str]:
    """argv[1:] that re-runs one job in single-run mode (no ``-m``, no sweep or launcher keys)."""
    args = [f"--config-name={config_name}"] if config_name else []
    return args + list(overrides)


@contextlib.contextmanager
def ddp_job_scope(trainer, output_dir) -> Iterator[None]:
    """Run one job's fit/test so that its DDP child ranks run this job only, then clean up.

    While active, ``sys.argv`` and ``HydraConfig.run.dir`` describe this job as a single run in
    ``output_dir`` (the job's task overrides are the strings the user typed, so a child composes
    the same config in this job's folder). On exit the children are waited for (terminated after a failure), the
    process group is destroyed and the launcher's environment variables (``LOCAL_RANK``,
    ``MASTER_PORT``, ...) are restored, so the next job of a sweep starts its own ranks.
    """
    hydra_cfg = _hydra_config()
    saved_argv, saved_env = list(sys.argv), {k: os.environ.get(k) for k in LAUNCH_ENV}
    if hydra_cfg is not None:
        saved_run_dir = hydra_cfg.run.dir
        sys.argv = [sys.argv[0]] + job_command(list(hydra_cfg.overrides.task), hydra_cfg.job.config_name)
        _set_run_dir(hydra_cfg, str(output_dir))
    failed = True
    try:
        yield
        failed = False
    finally:
        _release_children(trainer, failed)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sys.argv = saved_argv
        if hydra_cfg is not None:
            _set_run_dir(hydra_cfg, saved_run_dir)


def _hydra_config():
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _set_run_dir(hydra_cfg, value) -> None:
    with read_write(hydra_cfg), open_dict(hydra_cfg):
        hydra_cfg.run.dir = value


def _release_children(trainer, failed: bool) -> None:
    """Wait for the child ranks (terminate them if the job failed) and retire Lightning's watchdog.

    The watchdog thread SIGKILLs the main process as soon as a child exits with an error, which
    would end a whole sweep because one job failed; the job has already recorded its error.
    """
    launcher = getattr(getattr(trainer, "strategy", None), "launcher", None)
    procs = list(getattr(launcher, "procs", None) or [])
    for thread in threading.enumerate():
        if thread.name == CHILD_OBSERVER_THREAD and hasattr(thread, "_child_processes"):
            thread._child_processes = []  # empty: its next check ends the thread quietly
    for proc in procs:
        if failed and proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=CHILD_EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:  # e.g. stuck in a collective
            proc.kill()
            proc.wait()
    if procs:
        launcher.procs = []
