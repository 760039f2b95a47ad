"""trainer=ddp_sim (2 CPU processes, gloo): exact eval metrics, child ranks of a sweep, failures."""
import json

import pytest

from inpainting.cli.common import build_run
from tests.cli.helpers import compose_config
from tests.scale.helpers import TINY_RUN, run_cli, single_folder

# the GAN module (MISF, both optimizers, spectral-norm D) at a tiny size, VGG terms off
TINY_GAN_RUN = [o for o in TINY_RUN if not o.startswith(("experiment=", "model.pfunet", "model.fusion"))] + [
    "experiment=misf", "scale=demo", "model.net.generator.width=0.25", "+model.net.generator.residual_blocks=1",
    "model.loss.weights.perceptual=0", "model.loss.weights.style=0",
]


# 16 samples per epoch at a global batch of 8: 2 batches; the GAN steps two optimizers per batch
# the filter case is slow-marked to keep `make test` under 10 minutes on 2 cores: the GAN case covers more
@pytest.mark.parametrize("run,steps", [pytest.param(TINY_RUN, 2, marks=pytest.mark.slow), (TINY_GAN_RUN, 4)], ids=["filter", "gan"])
def test_ddp_sim_eval_metrics_equal_single_process(run, steps, tmp_path):
    """The 2-rank val/test metrics of a checkpoint equal a 1-process evaluation of that checkpoint.

    Val has 3 pairs: Lightning's padding sampler would score one twice under 2 ranks.
    """
    result = run_cli([*run, "trainer=ddp_sim", f"paths.log_dir={tmp_path / 'logs'}"])
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = single_folder(tmp_path / "logs")
    ddp = json.loads((run_dir / "results.json").read_text())["final_metrics"]
    assert json.loads((run_dir / "status.json").read_text())["global_step"] == steps
    # per-image rows of both ranks (2 + 1 of the 3 test pairs), each once
    names = (run_dir / "tables" / "test_per_image.csv").read_text().splitlines()[1:]
    assert len(names) == 3 and len(set(names)) == 3
    assert json.loads((run_dir / "status.json").read_text())["status"] == "ok"
    assert ddp["val/psnr"] > 0 and ddp["test/psnr"] > 0

    cfg = compose_config("train", [*run, "logger=none"], tmp_path / "single")
    run = build_run(cfg)
    run.model.load_weights(str(run_dir / "checkpoints" / "last.ckpt"))
    single = run.trainer.validate(run.model, datamodule=run.datamodule)[0]
    single.update(run.trainer.test(run.model, datamodule=run.datamodule)[0])
    keys = [k for k in ddp if k.startswith(("val/", "test/"))]
    assert {"val/psnr", "val/ssim", "test/psnr", "test/l1"} <= set(keys)
    for key in keys:
        assert abs(ddp[key] - single[key]) <= 1e-5 * max(1.0, abs(single[key])), (key, ddp[key], single[key])


@pytest.mark.slow  # 47 s on 2 cores; `make test-full` runs it
def test_multirun_with_ddp_sim_runs_each_job_once_and_survives_a_failed_job(tmp_path):
    """3 jobs x 2 ranks: every job's two ranks run once in its folder with its overrides; the job whose
    global batch (7) does not divide over 2 ranks fails with that error, the next job still runs."""
    sweep = tmp_path / "sweep"
    result = run_cli(["-m", *TINY_RUN, "trainer=ddp_sim", "test=false", "data.batch_size=8,7,4",
                      f"hydra.sweep.dir={sweep}", f"paths.log_dir={tmp_path / 'logs'}"])
    assert result.returncode != 0, "a failed job makes the sweep exit non-zero"
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1", "2"]
    assert not (tmp_path / "logs").exists(), "no child rank started a sweep or run of its own"
    for job, batch in (("0", 8), ("2", 4)):
        status = json.loads((sweep / job / "status.json").read_text())
        assert status["status"] == "ok", status
        assert f"batch_size: {batch}" in (sweep / job / "config_resolved.yaml").read_text()
        assert status["global_step"] == 16 // batch
    failed = json.loads((sweep / "1" / "status.json").read_text())
    assert failed["status"] == "failed" and "must be divisible by the world size (2)" in failed["error"]
    for job in ("0", "1", "2"):
        lines = [l for l in (sweep / job / "train.log").read_text().splitlines() if "run folder:" in l]
        ranks = sorted(l.split("process rank ")[1].split(",")[0] for l in lines)
        assert ranks == ["0", "1"], (job, lines)
        assert all(f"run folder: {sweep / job} " in l for l in lines)


def test_ddp_sim_with_fewer_eval_pairs_than_ranks_finishes(tmp_path):
    """One val/test pair, two ranks: rank 1 has no pair of its own and still joins every collective (a padding
    sample nobody scores); a rank that skipped the epoch would leave rank 0 waiting in the metrics' gathers."""
    one_pair = ["data.bin_edges=[0.0,0.6]", "data.images_per_bin=1", "data.eval_batch_size=2"]
    result = run_cli([*TINY_GAN_RUN, *one_pair, "trainer=ddp_sim", f"paths.log_dir={tmp_path / 'logs'}"], timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = single_folder(tmp_path / "logs")
    names = (run_dir / "tables" / "test_per_image.csv").read_text().splitlines()[1:]
    assert len(names) == 1  # the one pair, scored once; the padding sample by nobody
    metrics = json.loads((run_dir / "results.json").read_text())["final_metrics"]
    assert metrics["val/psnr"] > 0 and metrics["test/psnr"] > 0
