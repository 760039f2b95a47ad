"""Device-pool launcher scheduling on simulated devices; launcher configs compose only when selected."""
import importlib.util
import json

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from inpainting.cli.common import CONFIG_DIR
from inpainting.launch.device_pool import device_slots
from tests.scale.helpers import run_cli


def test_device_pool_runs_two_at_a_time_on_distinct_devices(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(["-m", "hydra/launcher=device_pool", "hydra.launcher.devices=[0,1]", "hydra.launcher.poll_s=0.05",
                      "sleep=1.0", "x=1,2,3,4,5", "fail=false", f"hydra.sweep.dir={sweep}"],
                     script=["tests/scale/pool_app.py"], timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = [json.loads((sweep / str(i) / "seen.json").read_text()) for i in range(5)]
    assert [s["x"] for s in seen] == [1, 2, 3, 4, 5]
    assert {s["devices"] for s in seen} == {"0", "1"}
    for a in seen:  # at any job's start (where concurrency peaks) at most 2 run, on different devices
        running = [b for b in seen if b["start"] <= a["start"] < b["end"]]
        assert len(running) <= 2, running
        assert len({b["devices"] for b in running}) == len(running), running
    record = json.loads((sweep / "device_pool.json").read_text())
    assert [r["returncode"] for r in record] == [0] * 5


def test_device_pool_failed_job_is_reported_and_others_finish(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(["-m", "hydra/launcher=device_pool", "hydra.launcher.devices=[3]", "hydra.launcher.poll_s=0.05",
                      "sleep=0", "x=1,2", "fail=true,false", f"hydra.sweep.dir={sweep}"],
                     script=["tests/scale/pool_app.py"], timeout=120)
    assert result.returncode != 0
    assert "fails on purpose" in (sweep / "0" / "launcher.log").read_text()
    assert json.loads((sweep / "1" / "status.json").read_text())["status"] == "ok"
    assert "job #0 exited with code 1" in result.stderr


def test_device_slots():
    assert device_slots([0, 1, 2, 3], 2) == [["0", "1"], ["2", "3"]]
    assert device_slots([0, 1, 2], 2) == [["0", "1"]]
    with pytest.raises(ValueError, match="fewer than devices_per_job=2"):
        device_slots([0], 2)
    with pytest.raises(ValueError, match="twice"):
        device_slots([0, 0], 1)


def _compose(overrides):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


def test_launcher_device_pool_config_selects_the_plugin():
    cfg = _compose(["launcher=device_pool", "hydra.launcher.devices=[0,1]"])
    assert cfg.hydra.launcher._target_.endswith("DevicePoolLauncher")
    assert list(cfg.hydra.launcher.devices) == [0, 1]
    assert _compose([]).hydra.launcher._target_.endswith("BasicLauncher")


@pytest.mark.skipif(importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None,
                    reason="hydra-submitit-launcher is not installed")
def test_launcher_slurm_config_one_task_per_device():
    cfg = _compose(["launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"])
    assert cfg.hydra.launcher.tasks_per_node == 4 and cfg.hydra.launcher.gpus_per_node == 4
    assert cfg.hydra.launcher.nodes == 2
    assert cfg.trainer.plugins[0].auto_requeue is False and cfg.ckpt_path == "auto"
