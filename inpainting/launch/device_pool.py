"""Run sweep jobs as subprocesses on a pool of devices: N at once, each pinned to its own devices.

A job gets ``devices_per_job`` ids from the pool through ``CUDA_VISIBLE_DEVICES`` (so inside the
job they are ``cuda:0..``), the rest wait in a queue and start as soon as a slot frees. Kept free of
torch imports: Hydra imports launcher plugins at every start.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Callable, Sequence


@dataclasses.dataclass
class PoolJob:
    """One job: its index in the sweep, the command and the folder that receives ``launcher.log``."""

    index: int
    command: list[str]
    job_dir: Path


@dataclasses.dataclass
class PoolResult:
    index: int
    devices: list[str]
    returncode: int
    started: float
    finished: float
    log_file: str


def device_slots(devices: Sequence | str, devices_per_job: int) -> list[list[str]]:
    """Split the pool into disjoint slots of ``devices_per_job`` ids (leftover ids stay unused).

    ``devices="auto"``: the ids in ``CUDA_VISIBLE_DEVICES`` if set, else every GPU ``nvidia-smi -L`` lists.
    """
    ids = detect_devices() if devices == "auto" else [str(d) for d in devices]
    if devices_per_job < 1:
        raise ValueError(f"devices_per_job must be >= 1, got {devices_per_job}")
    if len(ids) < devices_per_job:
        raise ValueError(f"device pool {ids} has fewer than devices_per_job={devices_per_job} devices")
    if len(set(ids)) != len(ids):
        raise ValueError(f"device pool lists a device twice: {ids}")
    return [ids[i:i + devices_per_job] for i in range(0, len(ids) - devices_per_job + 1, devices_per_job)]


def detect_devices() -> list[str]:
    """GPU ids visible to this process, without importing torch."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip():
        return [d.strip() for d in visible.split(",") if d.strip()]
    if shutil.which("nvidia-smi"):
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False).stdout
        ids = [str(i) for i, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]
        if ids:
            return ids
    raise RuntimeError("device_pool: no GPUs found (CUDA_VISIBLE_DEVICES unset, nvidia-smi lists none); "
                       "set hydra.launcher.devices=[0,1,...] explicitly")


def run_pool(
    jobs: Sequence[PoolJob],
    slots: list[list[str]],
    env_var: str = "CUDA_VISIBLE_DEVICES",
    poll_s: float = 0.2,
    on_event: Callable[[str], None] = lambda message: None,
) -> list[PoolResult]:
    """Run ``jobs`` with at most ``len(slots)`` at a time; returns one result per job, in job order."""
    queue, free = deque(jobs), deque(range(len(slots)))
    running: dict[int, tuple[subprocess.Popen, PoolJob, int, float, object]] = {}
    results: dict[int, PoolResult] = {}
    while queue or running:
        while queue and free:
            job, slot = queue.popleft(), free.popleft()
            job.job_dir.mkdir(parents=True, exist_ok=True)
            log_file = open(job.job_dir / "launcher.log", "w")
            env = {**os.environ, env_var: ",".join(slots[slot])}
            proc = subprocess.Popen(job.command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
            running[proc.pid] = (proc, job, slot, time.time(), log_file)
            on_event(f"job #{job.index} started on {env_var}={env[env_var]}")
        time.sleep(poll_s)
        for pid, (proc, job, slot, started, log_file) in list(running.items()):
            if proc.poll() is None:
                continue
            log_file.close()
            results[job.index] = PoolResult(job.index, slots[slot], proc.returncode, started, time.time(),
                                            str(job.job_dir / "launcher.log"))
            free.append(slot)
            del running[pid]
            on_event(f"job #{job.index} finished with exit code {proc.returncode}")
    return [results[job.index] for job in jobs]
