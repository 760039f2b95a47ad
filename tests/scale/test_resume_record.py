"""A refused resume leaves the run's record as it was: checkpoint and model checked before writing."""
import pytest

from inpainting.cli.train import train
from tests.cli.helpers import compose_config
from tests.scale.helpers import TINY_RUN, run_cli, single_folder

RESUME = [*TINY_RUN, "test=false"]
RECORD = ("config_resolved.yaml", ".hydra/overrides.yaml", ".hydra/config.yaml", "status.json")


def test_refused_resume_leaves_the_run_record_untouched(tmp_path):
    logs = tmp_path / "logs"
    first = run_cli([*RESUME, f"paths.log_dir={logs}"])
    assert first.returncode == 0, first.stderr[-3000:]
    run_dir = single_folder(logs)
    record = {name: (run_dir / name).read_bytes() for name in RECORD}
    last = run_dir / "checkpoints" / "last.ckpt"
    intact = last.read_bytes()

    last.write_bytes(intact[:300])  # killed while copying, disk full, ...
    truncated = run_cli([*RESUME, "trainer.max_epochs=2", f"paths.log_dir={logs}", "ckpt_path=last"])
    assert truncated.returncode != 0
    assert "last.ckpt is corrupt or truncated" in truncated.stderr
    assert {name: (run_dir / name).read_bytes() for name in RECORD} == record

    last.write_bytes(intact)
    other_model = run_cli([*RESUME, "trainer.max_epochs=2", "model.pfunet.kpn.width=0.25", f"paths.log_dir={logs}",
                           f"ckpt_path={run_dir}"])
    assert other_model.returncode != 0
    assert "with another model than its run's" in other_model.stderr
    assert "model.pfunet.kpn.width: 0.125 -> 0.25" in other_model.stderr
    assert {name: (run_dir / name).read_bytes() for name in RECORD} == record
    assert not (run_dir / "resumes").exists()


def test_truncated_init_from_is_named_before_training(tmp_path):
    bad = tmp_path / "warm.ckpt"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match=r"warm\.ckpt is corrupt or truncated"):
        train(compose_config("train", [*RESUME, f"init_from={bad}"], tmp_path / "run"))
    assert not (tmp_path / "run" / "config_resolved.yaml").exists()
    with pytest.raises(FileNotFoundError, match=r"init_from=.*absent\.ckpt: no such checkpoint file"):
        train(compose_config("train", [*RESUME, f"init_from={tmp_path / 'absent.ckpt'}"], tmp_path / "run2"))
