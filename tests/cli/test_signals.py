"""Signals end a run as "interrupted" with exit status 128+N; a sweep counts such a job as failed."""
from __future__ import annotations

import json
import os
import signal

import pytest
from lightning.pytorch.callbacks import Callback

from inpainting.cli.train import train
from inpainting.utils.interrupts import RunInterrupted
from tests.cli.helpers import TINY, TINY_DEMO, compose_config


class SignalAtStep(Callback):
    """Sends this process ``signum`` after optimizer step ``step`` (as `kill -<N> <pid>` would)."""

    def __init__(self, signum: int, step: int = 1) -> None:
        self.signum, self.step = int(signum), int(step)

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), self.signum)


def signal_overrides(signum: int, step: int = 1) -> list[str]:
    return [f"+callbacks.signal._target_={__name__}.SignalAtStep", f"+callbacks.signal.signum={signum}",
            f"+callbacks.signal.step={step}"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_interrupts_the_run_and_says_so(tmp_path, signum):
    out = tmp_path / "run"
    cfg = compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, "trainer.max_epochs=2",
                                   *signal_overrides(signum)], out)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    with pytest.raises(RunInterrupted) as stop:
        train(cfg)
    assert stop.value.code == 128 + signum
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "interrupted" and status["signal"] == signum.name, status
    assert not (out / "results.json").exists(), "an interrupted run reports no results"
    assert {s: signal.getsignal(s) for s in handlers} == handlers, "the previous handlers are back"


def test_device_pool_counts_interrupted_or_unreadable_status_as_failed(tmp_path):
    from hydra.core.utils import JobStatus
    from omegaconf import OmegaConf

    from hydra_plugins.inpainting_launchers.device_pool_launcher import _job_return
    from inpainting.launch.device_pool import PoolJob, PoolResult

    config = OmegaConf.create({"hydra": {"overrides": {"task": []}, "job": {"name": "x"}}})
    job = PoolJob(0, ["true"], tmp_path)
    result = PoolResult(0, ["0"], 0, 0.0, 1.0, str(tmp_path / "launcher.log"))
    for text in ("", "{\"status\": ", "[1]", json.dumps({"status": "interrupted", "error": "interrupted by SIGTERM"})):
        (tmp_path / "status.json").write_text(text)
        ret = _job_return(job, config, result)
        assert ret.status == JobStatus.FAILED, text
        with pytest.raises(RuntimeError, match="job #0"):
            ret.return_value
    (tmp_path / "status.json").write_text(json.dumps({"status": "ok", "objective": 1.5}))
    assert _job_return(job, config, result).return_value == 1.5


@pytest.mark.slow
def test_sigterm_exits_143_and_the_resume_is_exact(tmp_path):
    import torch

    from tests.scale.helpers import TINY_RUN, run_cli, single_folder

    common = [*TINY_RUN, "test=false", "trainer.deterministic=true", "trainer.max_epochs=2"]
    straight = tmp_path / "straight"
    train(compose_config("train", common, straight))
    logs = tmp_path / "logs"
    first = run_cli([*common, f"paths.log_dir={logs}", *signal_overrides(signal.SIGTERM, step=3)])
    assert first.returncode == 143, first.stderr[-3000:]
    run_dir = single_folder(logs)
    assert json.loads((run_dir / "status.json").read_text())["signal"] == "SIGTERM"
    resumed = run_cli([*common, f"paths.log_dir={logs}", "ckpt_path=last"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = (torch.load(d / "checkpoints" / "last.ckpt", weights_only=True) for d in (straight, run_dir))
    assert a["global_step"] == b["global_step"] == 4
    for key in a["state_dict"]:
        torch.testing.assert_close(a["state_dict"][key], b["state_dict"][key], rtol=0, atol=1e-6, msg=key)


@pytest.mark.slow
def test_device_pool_sweep_counts_a_signalled_job_as_failed(tmp_path):
    from tests.scale.helpers import TINY_RUN, run_cli

    sweep = tmp_path / "sweep"
    result = run_cli(["-m", "hydra/launcher=device_pool", "hydra.launcher.devices=[0]", "hydra.launcher.poll_s=0.05",
                      *TINY_RUN, "test=false", f"hydra.sweep.dir={sweep}",
                      *signal_overrides(signal.SIGTERM)[:2], "+callbacks.signal.step=1,1000"], timeout=400)
    assert result.returncode != 0, "the sweep reports the interrupted job"
    record = json.loads((sweep / "device_pool.json").read_text())
    assert [r["returncode"] for r in record] == [143, 0]
    assert json.loads((sweep / "0" / "status.json").read_text())["status"] == "interrupted"
    assert "job #0 exited with code 143 (status interrupted)" in result.stderr


def test_an_unreadable_rank_record_does_not_hide_the_runs_error(tmp_path):
    from inpainting.utils.runs import write_status

    (tmp_path / "status.rank1.json").write_text('{"rank": 1, "err')  # rank 1 killed while writing it
    write_status(tmp_path, RuntimeError("rank 0's error"))
    assert json.loads((tmp_path / "status.json").read_text())["error"] == "RuntimeError: rank 0's error"
