"""Every training-stage experiment runs one batch (debug=fdr) on the demo data at tiny sizes;
evaluation-only experiments test without training."""
import hydra
import pytest
import torch

from inpainting.cli.common import CONFIG_DIR
from inpainting.cli.train import train
from inpainting.nets.checkpoints import CheckpointError
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
EVAL_ONLY = {"jpgnet_naive_fusion", "jpgnet_edgeconnect"}  # train: false, tested below
TINY_EDGECONNECT = ["model.net.edgeconnect.residual_blocks=1"]


def _small(experiment: str):
    return SMALL["misf" if experiment.startswith("misf") else experiment]


def test_every_stage_experiment_has_small_overrides():
    missing = [e for e in EXPERIMENTS if e not in EVAL_ONLY and not (e.startswith("misf") or e in SMALL)]
    assert not missing and len([e for e in EXPERIMENTS if e.startswith("misf")]) == 7


def test_eval_only_experiments_do_not_train(tmp_path):
    for experiment in EVAL_ONLY:
        assert compose_config("train", [f"experiment={experiment}"], tmp_path).train is False, experiment


@pytest.mark.parametrize("experiment", [e for e in EXPERIMENTS if e not in EVAL_ONLY])
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


def test_edgeconnect_experiment_tests_without_training(tmp_path):
    cfg = compose_config("train", ["experiment=jpgnet_edgeconnect", *TINY, *TINY_EDGECONNECT,
                                   "model.untrained_stages_for_tests=true", "logger=none"], tmp_path / "run")
    assert cfg.model.net.edgeconnect.sigma == 2.0
    summary = train(cfg)
    assert summary["global_step"] == 0 and "test/psnr" in summary["metrics"]
    rows = [line.split("|")[1].strip() for line in (tmp_path / "run/tables/test_metrics.md").read_text().splitlines()
            if line.startswith("|")]
    assert "EdgeConnect" in rows and "Input" in rows
    assert (tmp_path / "run/images/test.png").is_file()


def test_edgeconnect_experiment_without_stage_weights_fails_clearly(tmp_path):
    cfg = compose_config("train", ["experiment=jpgnet_edgeconnect", *TINY, *TINY_EDGECONNECT], tmp_path / "run")
    with pytest.raises(ValueError, match=r"model.stage_weights.dgnet_edge, model.stage_weights.dgnet_inpaint .*"
                                         r"untrained_stages_for_tests") as error:
        train(cfg)
    assert "pfunet" not in str(error.value)


def _edgeconnect_module(tmp_path, edge: str, inpaint: str):
    cfg = compose_config("train", ["experiment=jpgnet_edgeconnect", *TINY, *TINY_EDGECONNECT,
                                   f"model.stage_weights.dgnet_edge={edge}",
                                   f"model.stage_weights.dgnet_inpaint={inpaint}"], tmp_path / "edgeconnect")
    module = hydra.utils.instantiate(cfg.model)
    module.setup("test")
    return module


def test_edgeconnect_loads_stage_runs_and_official_files(tmp_path):
    """G1/G2 from tiny jpgnet_dgnet_edge/_inpaint runs' last.ckpt, then the same weights as official files."""
    runs = {}
    for experiment, overrides in (("jpgnet_dgnet_edge", SMALL["jpgnet_dgnet_edge"][0]),
                                  ("jpgnet_dgnet_inpaint", SMALL["jpgnet_dgnet_inpaint"][0])):
        cfg = compose_config("train", [f"experiment={experiment}", *TINY, *overrides, "logger=none",
                                       "data.samples_per_epoch=8", "trainer.max_epochs=1"], tmp_path / experiment)
        train(cfg)
        runs[experiment] = str(tmp_path / experiment / "checkpoints" / "last.ckpt")
    module = _edgeconnect_module(tmp_path, runs["jpgnet_dgnet_edge"], runs["jpgnet_dgnet_inpaint"])
    generators = {"jpgnet_dgnet_edge": module.net.edgeconnect.edge_generator,
                  "jpgnet_dgnet_inpaint": module.net.edgeconnect.inpaint_generator}
    official = {}
    for experiment, generator in generators.items():
        trained = torch.load(runs[experiment], map_location="cpu", weights_only=True)["state_dict"]
        loaded = generator.state_dict()
        assert loaded.keys() == {k[len("net.generator."):] for k in trained if k.startswith("net.generator.")}
        assert all(torch.equal(loaded[k], trained[f"net.generator.{k}"]) for k in loaded), experiment
        official[experiment] = str(tmp_path / f"{experiment}_gen.pth")
        torch.save({"iteration": 1, "generator": loaded}, official[experiment])

    again = _edgeconnect_module(tmp_path, official["jpgnet_dgnet_edge"], official["jpgnet_dgnet_inpaint"])
    image = torch.rand(2, 3, 32, 32)
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:20, 10:24] = 1
    module.eval(), again.eval()
    with torch.no_grad():
        first, second = module(image, mask), again(image, mask)
    assert torch.equal(first["pred"], second["pred"]) and torch.equal(first["edges"], second["edges"])
    with pytest.raises(CheckpointError, match=r"last.ckpt \(net.generator.\*\): shape mismatch"):  # G1's run as G2
        _edgeconnect_module(tmp_path, runs["jpgnet_dgnet_edge"], runs["jpgnet_dgnet_edge"])


def test_jpgnet_rows_score_with_jpgnet_protocol_and_misf_rows_with_misf(tmp_path):
    from omegaconf import OmegaConf

    from inpainting.models.base import InpaintingModule
    for experiment in EXPERIMENTS:  # every JPGNet row sets it; the MISF rows keep train.yaml's misf
        metrics = OmegaConf.load(CONFIG_DIR / "experiment" / f"{experiment}.yaml").get("metrics") or {}
        assert metrics.get("protocol", "misf") == ("jpgnet" if experiment.startswith("jpgnet_") else "misf"), experiment
    assert compose_config("train", ["experiment=jpgnet_uafnet"], tmp_path).metrics.protocol == "jpgnet"
    assert compose_config("train", ["experiment=misf"], tmp_path).metrics.protocol == "misf"
    cfg = compose_config("train", ["experiment=jpgnet_uafnet"], tmp_path)
    assert cfg.model.metric_protocol == "jpgnet"  # validation scores as the test does
    assert InpaintingModule(torch.nn.Identity(), metric_protocol="jpgnet").val_metrics.protocol == "jpgnet"
    from inpainting.eval.engine import MetricOptions, Scorer

    scores = Scorer([0.0, 0.2, 0.4, 0.6], ["Input", "X"], MetricOptions(protocol="jpgnet"))
    assert all(m.protocol == "jpgnet" for m in scores.scores.values())
