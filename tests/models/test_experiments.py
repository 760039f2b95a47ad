"""Every training-stage experiment runs one batch (debug=fdr) on the demo data at tiny sizes;
evaluation-only experiments test without training."""
import json

import hydra
import pytest
import torch

from inpainting.api import load_run_module
from inpainting.cli.common import CONFIG_DIR
from inpainting.cli.evaluate import evaluate
from inpainting.cli.train import train
from inpainting.nets.checkpoints import CheckpointError
from tests.cli.helpers import TINY, compose_config
from tests.host_copies import guard_training_steps
from tests.models.helpers import TINY_STRUCTUREFLOW, write_stage_files

NO_VGG = ["model.loss.weights.perceptual=0", "model.loss.weights.style=0"]
TINY_DGNET = ["model.dgnet.edge_generator.residual_blocks=1", "model.dgnet.inpaint_generator.residual_blocks=1"]
TINY_PFUNET = ["model.pfunet.kpn.width=0.125"]
TINY_G1_G2 = ["model.net.edge_generator.residual_blocks=1", "model.net.inpaint_generator.residual_blocks=1"]
# experiment -> (small-size overrides, optimizer steps in one batch); {files} = write_stage_files(tmp_path)
SMALL = {
    "misf": (["model.net.generator.width=0.25", "+model.net.generator.residual_blocks=1", *NO_VGG], 2),
    "jpgnet_pfunet": (["model.net.kpn.width=0.125"], 1),
    "misf_img_filter": (["model.net.kpn.width=0.125"], 1),   # MISF Table 3's Img-Filter is PFUNet
    "edgeconnect_edge": (["model.net.edge_generator.residual_blocks=1"], 2),
    "edgeconnect_inpaint": (["model.net.inpaint_generator.residual_blocks=1", *NO_VGG], 2),
    "edgeconnect_edge_inpaint": ([*TINY_G1_G2, *NO_VGG, "model.stage_weights.edge_weights={edge}",
                                   "model.stage_weights.inpaint_weights={inpaint}"], 2),
    "jpgnet_uafnet": ([*TINY_PFUNET, *TINY_DGNET, "model.fusion.width=0.125", "model.stage_weights.pfunet={pfunet}",
                       "model.stage_weights.dgnet.edge_weights={edge}", "model.stage_weights.dgnet.inpaint_weights={inpaint}"], 1),
    "jpgnet_telea": ([*TINY_PFUNET, "model.fusion.width=0.125", "model.stage_weights.pfunet={pfunet}"], 1),
    "jpgnet_ns": ([*TINY_PFUNET, "model.fusion.width=0.125", "model.stage_weights.pfunet={pfunet}"], 1),
    # the classical-generator table: PFUNet trains alongside UAFNet (no stage files); procedural test masks here
    **{f"jpgnet_classical_{g}": ([*TINY_PFUNET, "model.fusion.width=0.125", "data.eval_masks=null"], 1)
       for g in ("telea", "ns", "biharmonic", "patchmatch")},
    "jpgnet_uafnet_rfrnet": ([*TINY_PFUNET, "model.fusion.width=0.125", "model.dgnet.generator.iterations=2",
                              "model.stage_weights.pfunet={pfunet}", "model.stage_weights.dgnet.weights={rfrnet}"], 1),
    "jpgnet_uafnet_structureflow": ([*TINY_PFUNET, "model.fusion.width=0.125", "data.image_size=64",
                                     *[f"model.dgnet.{g}.{k}={v}" for g in ("structure_generator", "flow_generator")
                                       for k, v in TINY_STRUCTUREFLOW.items()],
                                     "model.stage_weights.pfunet={pfunet}", "model.stage_weights.dgnet.structure_weights={structure}",
                                     "model.stage_weights.dgnet.flow_weights={flow}"], 1),
}
EXPERIMENTS = sorted(p.stem for p in CONFIG_DIR.glob("experiment/*.yaml") if p.stem.startswith(("misf", "jpgnet_")))
EVAL_ONLY = {"jpgnet_naive_fusion", "edgeconnect", "jpgnet_naive_fusion_rfrnet", "jpgnet_naive_fusion_structureflow"}  # train: false, tested below
TINY_STAGES = [*TINY_PFUNET, *TINY_DGNET, "model.stage_weights.pfunet={pfunet}",
               "model.stage_weights.dgnet.edge_weights={edge}", "model.stage_weights.dgnet.inpaint_weights={inpaint}"]
TINY_EDGECONNECT = [*TINY_DGNET, "model.stage_weights.dgnet.edge_weights={edge}",
                    "model.stage_weights.dgnet.inpaint_weights={inpaint}"]


def _with_files(overrides: list[str], folder) -> list[str]:
    """Fill ``{pfunet}``/``{edge}``/``{inpaint}`` with random tiny stage files written into ``folder``."""
    if not any("{" in o for o in overrides):
        return list(overrides)
    folder.mkdir(parents=True, exist_ok=True)
    files = write_stage_files(folder)
    return [o.format(**files) for o in overrides]


def _small(experiment: str, folder):
    overrides, steps = SMALL[experiment if experiment in SMALL else "misf" if experiment.startswith("misf") else experiment]
    return _with_files(overrides, folder), steps


def test_every_stage_experiment_has_small_overrides():
    missing = [e for e in EXPERIMENTS if e not in EVAL_ONLY and not (e.startswith("misf") or e in SMALL)]
    assert not missing and len([e for e in EXPERIMENTS if e.startswith("misf")]) == 7


def test_eval_only_experiments_do_not_train(tmp_path):
    for experiment in EVAL_ONLY:
        assert compose_config("train", [f"experiment={experiment}"], tmp_path).train is False, experiment


@pytest.mark.parametrize("experiment", [e for e in EXPERIMENTS if e not in EVAL_ONLY])
def test_experiment_fast_dev_run(experiment, tmp_path, monkeypatch):
    """One batch of each experiment, with no host copy (a GPU sync) in its training step (tests/host_copies.py)."""
    overrides, steps = _small(experiment, tmp_path / "stages")
    cfg = compose_config("train", [f"experiment={experiment}", *TINY, *overrides, "debug=fdr"], tmp_path / "run")
    guarded = guard_training_steps(monkeypatch)
    summary = train(cfg)
    assert summary["global_step"] == steps and guarded == [0]
    if experiment.startswith("misf") and experiment != "misf_img_filter":
        assert cfg.model.net.generator.variant == ("misf" if experiment == "misf" else experiment[len("misf_"):])


def test_naive_fusion_experiment_tests_without_training(tmp_path):
    cfg = compose_config("train", ["experiment=jpgnet_naive_fusion", *TINY, *_with_files(TINY_STAGES, tmp_path / "stages"),
                                   "logger=none"], tmp_path / "run")
    summary = train(cfg)
    assert summary["global_step"] == 0 and "test/psnr" in summary["metrics"]
    table = (tmp_path / "run/tables/test_metrics.md").read_text()
    assert "| JPGNet-EdgeConnect-N.F." in table and "| Input" in table
    assert (tmp_path / "run/images/test.png").is_file()


def test_uafnet_experiment_without_stage_weights_fails_clearly(tmp_path):
    overrides = [o for o in SMALL["jpgnet_uafnet"][0] if "{" not in o]
    cfg = compose_config("train", ["experiment=jpgnet_uafnet", *TINY, *overrides, "debug=fdr"], tmp_path / "run")
    with pytest.raises(ValueError, match="model.stage_weights.pfunet, model.stage_weights.dgnet"):
        train(cfg)


def test_uafnet_trains_then_tests_from_its_checkpoint(tmp_path):
    # the test phase reloads the best checkpoint with weights_only=True (stage paths are DictConfig)
    overrides, _ = _small("jpgnet_uafnet", tmp_path / "stages")
    cfg = compose_config("train", ["experiment=jpgnet_uafnet", *TINY, *overrides, "trainer.max_epochs=1"], tmp_path / "run")
    summary = train(cfg)
    assert summary["global_step"] == 2 and "test/psnr" in summary["metrics"]


def test_edgeconnect_experiment_tests_without_training(tmp_path):
    cfg = compose_config("train", ["experiment=edgeconnect", *TINY, *_with_files(TINY_EDGECONNECT, tmp_path / "stages"),
                                   "logger=none"], tmp_path / "run")
    assert cfg.model.dgnet.sigma == 2.0 and cfg.model.dgnet.stage == "edge_inpaint"
    summary = train(cfg)
    assert summary["global_step"] == 0 and "test/psnr" in summary["metrics"]
    rows = [line.split("|")[1].strip() for line in (tmp_path / "run/tables/test_metrics.md").read_text().splitlines()
            if line.startswith("|")]
    assert "EdgeConnect" in rows and "Input" in rows
    assert (tmp_path / "run/images/test.png").is_file()


def test_edgeconnect_experiment_without_stage_weights_fails_clearly(tmp_path):
    cfg = compose_config("train", ["experiment=edgeconnect", *TINY, *TINY_DGNET], tmp_path / "run")
    with pytest.raises(ValueError, match=r"model.stage_weights.dgnet\b") as error:
        train(cfg)
    assert "pfunet" not in str(error.value)


def test_edgeconnect_stages_chain_through_run_folders(tmp_path):
    """Stage 1 and 2 runs -> stage 3 from their run folders (the checkpoint each hands on: EdgeConnect's last,
    as the authors keep it) -> EdgeConnect alone from
    stage 3's run folder, equal to the same weights given as official files."""
    runs = {}
    for experiment in ("edgeconnect_edge", "edgeconnect_inpaint"):
        cfg = compose_config("train", [f"experiment={experiment}", *TINY, *SMALL[experiment][0], "logger=none",
                                       "data.samples_per_epoch=8", "trainer.max_epochs=1"], tmp_path / experiment)
        train(cfg)
        runs[experiment] = tmp_path / experiment
    stage3_overrides = ["experiment=edgeconnect_edge_inpaint", *TINY, *TINY_G1_G2, *NO_VGG, "logger=none",
                        f"model.stage_weights.edge_weights={runs['edgeconnect_edge']}",
                        f"model.stage_weights.inpaint_weights={runs['edgeconnect_inpaint']}", "data.samples_per_epoch=8"]
    cfg = compose_config("train", [*stage3_overrides, "trainer.max_epochs=1"], tmp_path / "stage3")
    stage3 = hydra.utils.instantiate(cfg.model)
    stage3.load_stage_files()  # what fitting from scratch does first
    assert json.loads((runs["edgeconnect_edge"] / "results.json").read_text())["checkpoint"] == "checkpoints/last.ckpt"
    g1_run = torch.load(runs["edgeconnect_edge"] / "checkpoints/last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(v, g1_run[f"net.edge_generator.{k}"]) for k, v in stage3.net.edge_generator.state_dict().items())
    assert not any(p.requires_grad for p in stage3.net.edge_generator.parameters())
    stage3_summary = train(cfg)
    trained = torch.load(tmp_path / "stage3/checkpoints/last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    official = {}
    for which in ("edge", "inpaint"):
        official[which] = str(tmp_path / f"{which}_gen.pth")
        prefix = f"net.{which}_generator."
        torch.save({"iteration": 1, "generator": {k[len(prefix):]: v for k, v in trained.items() if k.startswith(prefix)}},
                   official[which])

    def alone(edge, inpaint):
        cfg = compose_config("train", ["experiment=edgeconnect", *TINY, *TINY_DGNET,
                                       f"model.stage_weights.dgnet.edge_weights={edge}",
                                       f"model.stage_weights.dgnet.inpaint_weights={inpaint}"], tmp_path / "alone")
        module = hydra.utils.instantiate(cfg.model)
        module.net.load_weights(**module.stage_weights["dgnet"])
        return module.eval()

    from_run = alone(tmp_path / "stage3/checkpoints/last.ckpt", tmp_path / "stage3/checkpoints/last.ckpt")
    from_files = alone(official["edge"], official["inpaint"])
    image, mask = torch.rand(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:20, 10:24] = 1
    with torch.no_grad():
        first, second = from_run(image, mask), from_files(image, mask)
    assert torch.equal(first["pred"], second["pred"]) and torch.equal(first["edges"], second["edges"])
    with pytest.raises(CheckpointError, match=r"last.ckpt: Lightning checkpoint without 'net.inpaint_generator.\*'"):  # G1's run has no G2
        alone(runs["edgeconnect_edge"], runs["edgeconnect_edge"])

    # the stage-1/2 runs move away: evaluating and resuming stage 3 need only its own run folder
    for run in runs.values():
        run.rename(run.with_name(run.name + "_moved"))
    rebuilt, _ = load_run_module(tmp_path / "stage3", "cpu")  # what inpaint-predict, export and load_model do
    assert torch.equal(rebuilt.net.edge_generator.encoder[1].weight_orig, trained["net.edge_generator.encoder.1.weight_orig"])
    scores = evaluate(compose_config("eval", [*TINY, f"ckpt_path={tmp_path / 'stage3'}"], tmp_path / "eval"))
    assert scores["metrics"]["test/psnr"] == pytest.approx(stage3_summary["metrics"]["test/psnr"], abs=1e-6)
    resumed = train(compose_config("train", [*stage3_overrides, "trainer.max_epochs=2", "test=false",
                                             f"ckpt_path={tmp_path / 'stage3'}"], tmp_path / "resumed"))
    assert resumed["global_step"] == 2 * stage3_summary["global_step"] > 0
def test_jpgnet_rows_score_with_jpgnet_protocol_and_misf_rows_with_misf(tmp_path):

    from inpainting.models.base import InpaintingModule
    for experiment in EXPERIMENTS:  # every JPGNet row sets it; the MISF rows keep train.yaml's misf
        protocol = compose_config("train", [f"experiment={experiment}"], tmp_path).metrics.protocol
        assert protocol == ("jpgnet" if experiment.startswith("jpgnet_") else "misf"), experiment
    assert compose_config("train", ["experiment=jpgnet_uafnet"], tmp_path).metrics.protocol == "jpgnet"
    assert compose_config("train", ["experiment=misf"], tmp_path).metrics.protocol == "misf"
    cfg = compose_config("train", ["experiment=jpgnet_uafnet"], tmp_path)
    assert cfg.model.protocol == "jpgnet"  # validation scores as the test does
    assert InpaintingModule(torch.nn.Identity(), protocol="jpgnet").val_metrics.protocol == "jpgnet"
    from inpainting.eval.engine import MetricOptions, Scorer

    scores = Scorer([0.0, 0.2, 0.4, 0.6], ["Input", "X"], MetricOptions(protocol="jpgnet"))
    assert all(m.protocol == "jpgnet" for m in scores.scores)
