"""``hydra/launcher=device_pool``: a sweep on one multi-GPU machine, N jobs at once, one GPU each.

Each job runs as a fresh single-run process of the same program (``<job overrides>
hydra.run.dir=<sweep dir>/<subdir>``), so DDP inside a job (``devices_per_job`` > 1) works as in a
plain run, and nothing leaks from one job to the next. The queue and the device slots live in
``inpainting.launch.device_pool``; ``<sweep dir>/device_pool.json`` records who ran where and when.
"""

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from inpainting.launch.device_pool import PoolJob, device_slots, run_pool
from inpainting.utils.atomic import write_text

log = logging.getLogger(__name__)
RECORD_FILE = "device_pool.json"  # who ran where and when
# hydra overrides that describe the sweep itself; a job runs as a single run without them
_SWEEP_KEYS = ("hydra/launcher", "hydra.launcher", "hydra/sweeper", "hydra.sweeper", "hydra.mode", "hydra.sweep",
               "hydra.run.dir")


@dataclass
class DevicePoolLauncherConf:
    _target_: str = "hydra_plugins.inpainting_launchers.device_pool_launcher.DevicePoolLauncher"
    # device ids to share out, e.g. [0,1,2,3]; "auto": CUDA_VISIBLE_DEVICES or every GPU nvidia-smi lists
    devices: Any = "auto"
    # >1 gives each job several devices (then set trainer=ddp trainer.devices=<same number>)
    devices_per_job: int = 1
    env_var: str = "CUDA_VISIBLE_DEVICES"
    poll_s: float = 0.5
    extra_args: List[str] = field(default_factory=list)


ConfigStore.instance().store(group="hydra/launcher", name="device_pool", node=DevicePoolLauncherConf)


class DevicePoolLauncher(Launcher):
    def __init__(self, devices: Any = "auto", devices_per_job: int = 1, env_var: str = "CUDA_VISIBLE_DEVICES",
                 poll_s: float = 0.5, extra_args: Sequence[str] = ()) -> None:
        self.devices = OmegaConf.to_container(devices) if OmegaConf.is_config(devices) else devices
        self.devices_per_job, self.env_var, self.poll_s = int(devices_per_job), env_var, float(poll_s)
        self.extra_args = list(extra_args)
        self.config: Optional[DictConfig] = None
        self.hydra_context: Optional[HydraContext] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        slots = device_slots(self.devices, self.devices_per_job)
        log.info("device pool: %d job(s) on %d slot(s) %s", len(job_overrides), len(slots), slots)
        hydra_args = [o for o in self.config.hydra.overrides.hydra if not o.startswith(_SWEEP_KEYS)]
        jobs, configs = [], []
        for offset, overrides in enumerate(job_overrides):
            index = initial_job_idx + offset
            sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(sweep_config):
                sweep_config.hydra.job.id = sweep_config.hydra.job.num = index
            job_dir = Path(str(sweep_config.hydra.sweep.dir)) / str(sweep_config.hydra.sweep.subdir)
            command = (_program() + [f"--config-name={self.config.hydra.job.config_name}"] + list(overrides)
                       + hydra_args + [f'hydra.run.dir="{job_dir.resolve()}"'] + self.extra_args)
            log.info("\t#%d : %s", index, " ".join(filter_overrides(overrides)))
            jobs.append(PoolJob(index, command, job_dir))
            configs.append(sweep_config)
        used = [str(job.job_dir) for job in jobs if job.job_dir.exists()]
        if used:  # another sweep with this hydra.sweep.dir: its jobs and ours would share folders
            raise FileExistsError(f"hydra.sweep.dir={sweep_dir} already holds job folders of another sweep "
                                  f"({', '.join(used[:3])}); give this sweep its own hydra.sweep.dir")
        results = run_pool(jobs, slots, self.env_var, self.poll_s, on_event=log.info)
        _write_record(sweep_dir / RECORD_FILE, jobs, results)
        return [_job_return(job, config, result) for job, config, result in zip(jobs, configs, results)]


def _program() -> list[str]:
    """How this program was started (module or script), as Lightning re-runs it for DDP ranks."""
    import __main__

    spec = getattr(__main__, "__spec__", None)
    if spec is not None and spec.name:
        return [sys.executable, "-m", spec.name]
    return [sys.executable, os.path.abspath(sys.argv[0])]


def _job_return(job: PoolJob, config: DictConfig, result) -> JobReturn:
    ret = JobReturn(overrides=list(config.hydra.overrides.task), cfg=config, hydra_cfg=config,
                    working_dir=str(job.job_dir), task_name=config.hydra.job.name)
    status = _read_status(job.job_dir)
    # a job completed when it exited 0 and its status.json (if it writes one) says ok
    if result.returncode == 0 and status.get("status", "ok") == "ok":
        ret.status, ret.return_value = JobStatus.COMPLETED, status.get("objective")
    else:
        ret.status = JobStatus.FAILED
        error = status.get("error") or f"see {result.log_file}"
        ret.return_value = RuntimeError(f"job #{job.index} exited with code {result.returncode} "
                                        f"(status {status.get('status', 'unknown')}): {error}")
    return ret


def _read_status(job_dir: Path) -> dict:
    """The job's status.json; an unreadable one (empty after a full disk, cut short) counts as a failure."""
    path = job_dir / "status.json"
    if not path.is_file():
        return {}
    try:
        status = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        log.error("%s is unreadable (%s): the job counts as failed", path, error)
        return {"status": "unreadable", "error": f"{path} is unreadable ({error})"}
    if not isinstance(status, dict):
        return {"status": "unreadable", "error": f"{path} holds {type(status).__name__}, not a status record"}
    return status


def _write_record(path: Path, jobs: Sequence[PoolJob], results) -> None:
    rows = [{"job": j.index, "job_dir": str(j.job_dir), "devices": r.devices, "returncode": r.returncode,
             "started": r.started, "finished": r.finished, "log": r.log_file} for j, r in zip(jobs, results)]
    write_text(path, json.dumps(rows, indent=2))
