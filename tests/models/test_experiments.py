"""Every training-stage experiment runs one batch (debug=fdr) on the demo data at tiny sizes."""
import pytest

from inpainting.cli.common import CONFIG_DIR
from inpainting.cli.train import train
from tests.cli.helpers import TINY, compose_config

NO_VGG = ["model.loss.weights.perceptual=0", "model.loss.weights.style=0"]
TINY_STAGES = ["model.untrained_stages_for_tests=true", "model.net.stages.pfunet.kpn.width=0.125",
               "model.net.stages.dgnet.edgeconnect.residual_blocks=1"]
# experiment -> (small-size overrides, optimizer steps in one batch)
SMALL = {
    "misf": (["model.net.generator.width=0.25", "+model.net.generator.residual_blocks=1", *NO_VGG], 2),
    "jpgnet_pfunet": (["model.net.kpn.width=0.125"], 1),
    "jpgnet_dgnet_edge": (["model.net.generator.residual_blocks=1"], 2),
    "jpgnet_dgnet_inpaint": (["model.net.generator.residual_blocks=1", *NO_VGG], 2),
    "jpgnet_uafnet": ([*TINY_STAGES, "model.net.fusion.width=0.125"], 1),
}
EXPERIMENTS = sorted(p.stem for p in CONFIG_DIR.glob("experiment/*.yaml") if p.stem.startswith(("misf", "jpgnet_")))


def _small(experiment: str):
    return SMALL["misf" if experiment.startswith("misf") else experiment]


def test_every_stage_experiment_has_small_overrides():
    missing = [e for e in EXPERIMENTS if e != "jpgnet_naive_fusion" and not (e.startswith("misf") or e in SMALL)]
    assert not missing and len([e for e in EXPERIMENTS if e.startswith("misf")]) == 7


@pytest.mark.parametrize("experiment", [e for e in EXPERIMENTS if e != "jpgnet_naive_fusion"])
def test_experiment_fast_dev_run(experiment, tmp_path):
    overrides, steps = _small(experiment)
    cfg = compose_config("train", [f"experiment={experiment}", *TINY, *overrides, "debug=fdr"], tmp_path / "run")
    summary = train(cfg)
    assert summary["global_step"] == steps
    if experiment.startswith("misf"):
        assert cfg.model.net.generator.variant == ("misf" if experiment == "misf" else experiment[len("misf_"):])


def test_naive_fusion_experiment_tests_without_training(tmp_path):
    cfg = compose_config("train", ["experiment=jpgnet_naive_fusion", *TINY, *TINY_STAGES, "logger=none"], tmp_path / "run")
    summary = train(cfg)
    assert summary["global_step"] == 0 and "test/psnr" in summary["metrics"]
    table = (tmp_path / "run/tables/test_metrics.md").read_text()
    assert "| JPGNet-naive" in table and "| Input" in table
    assert (tmp_path / "run/images/test.png").is_file()


def test_uafnet_experiment_without_stage_weights_fails_clearly(tmp_path):
    overrides = [o for o in SMALL["jpgnet_uafnet"][0] if "untrained" not in o]
    cfg = compose_config("train", ["experiment=jpgnet_uafnet", *TINY, *overrides, "debug=fdr"], tmp_path / "run")
    with pytest.raises(ValueError, match="model.stage_weights.pfunet"):
        train(cfg)


def test_uafnet_trains_then_tests_from_its_checkpoint(tmp_path):
    # the test phase reloads the best checkpoint with weights_only=True (stage paths are DictConfig)
    overrides, _ = SMALL["jpgnet_uafnet"]
    cfg = compose_config("train", ["experiment=jpgnet_uafnet", *TINY, *overrides, "trainer.max_epochs=1"], tmp_path / "run")
    summary = train(cfg)
    assert summary["global_step"] == 2 and "test/psnr" in summary["metrics"]


@pytest.mark.parametrize("experiment", ["misf", "jpgnet_pfunet"])
def test_bf16_mixed_precision_runs(experiment, tmp_path):
    # opt-in speed mode (about 2x for MISF on CPUs with bf16 units, see benchmarks/bench_misf.py)
    overrides, steps = _small(experiment)
    cfg = compose_config("train", [f"experiment={experiment}", *TINY, *overrides, "debug=fdr",
                                   "trainer.precision=bf16-mixed", "trainer.detect_anomaly=false"], tmp_path / "run")
    summary = train(cfg)
    assert summary["global_step"] == steps
