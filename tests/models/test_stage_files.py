"""Stage files (``model.stage_weights``) of a single-network module: read once, when fitting or testing starts
without a checkpoint; never by a constructor, a resume, a test of a checkpoint or a warm start (``init_from``)."""
import pathlib

import hydra
import pytest
import torch
from omegaconf import OmegaConf

from inpainting.api import load_run_module
from inpainting.nets import MISFGenerator
from inpainting.utils.resources import compose
from inpainting.utils.run_folder import RunFolder
from tests.models.helpers import adam, images_and_masks, loader, misf_module, trainer


def _generator_file(path: pathlib.Path) -> dict[str, torch.Tensor]:
    """A MISF generator file in the authors' format ({'iteration', 'generator'}), other weights than the module's."""
    torch.manual_seed(7)
    state = MISFGenerator(variant="img_filter", width=0.25, residual_blocks=1).state_dict()
    torch.save({"iteration": 3, "generator": state}, path)
    return state


def _frozen_misf(**kwargs):
    """lr 0: the generator keeps what it was given, so the test sees which file it came from."""
    return misf_module(lr=0.0, d_optimizer=adam(0.0), **kwargs)


def _equal(module, state) -> bool:
    return all(torch.equal(v, state[k]) for k, v in module.net.generator.state_dict().items())


def test_files_are_read_when_fitting_starts_and_never_again(tmp_path):
    path = tmp_path / "stage" / "InpaintingModel_gen.pth"
    path.parent.mkdir()
    state = _generator_file(path)
    module = _frozen_misf(stage_weights={"weights": str(path)})
    assert not _equal(module, state), "the constructor read the file"
    image, mask = images_and_masks()
    fit = trainer(default_root_dir=tmp_path)
    fit.fit(module, train_dataloaders=loader(image, mask, batches=1))
    assert _equal(module, state)
    ckpt = tmp_path / "misf.ckpt"
    fit.save_checkpoint(ckpt)
    path.unlink()  # the stage file is gone: resuming, testing and rebuilding the run need only its checkpoint

    resumed = _frozen_misf(stage_weights={"weights": str(path)})
    trainer(max_epochs=2).fit(resumed, train_dataloaders=loader(image, mask, batches=1), ckpt_path=str(ckpt))
    assert resumed.iteration == 2 and _equal(resumed, state)
    tested = _frozen_misf(stage_weights={"weights": str(path)})
    trainer().test(tested, dataloaders=loader(image, mask, batches=1), ckpt_path=str(ckpt))
    assert _equal(tested, state)
    warm = _frozen_misf(stage_weights={"weights": str(path)})
    warm.load_weights(str(ckpt))  # init_from: the whole model's weights replace the stage files
    trainer().fit(warm, train_dataloaders=loader(image, mask, batches=1))
    assert _equal(warm, state)

    with pytest.raises(FileNotFoundError, match="InpaintingModel_gen.pth"):  # from scratch the file is needed
        trainer().fit(_frozen_misf(stage_weights={"weights": str(path)}), train_dataloaders=loader(image, mask, batches=1))


def test_a_test_without_checkpoint_reads_the_files(tmp_path):
    state = _generator_file(tmp_path / "g.pth")
    module = _frozen_misf(stage_weights={"weights": str(tmp_path / "g.pth")})
    image, mask = images_and_masks()
    trainer().test(module, dataloaders=loader(image, mask, batches=1))
    assert _equal(module, state)


def test_no_file_keeps_the_initialisation_and_a_wrong_keyword_names_the_key(tmp_path):
    image, mask = images_and_masks()
    module = _frozen_misf(stage_weights={"weights": None})
    before = {k: v.clone() for k, v in module.net.generator.state_dict().items()}
    trainer().fit(module, train_dataloaders=loader(image, mask, batches=1))
    assert _equal(module, before)
    wrong = _frozen_misf(stage_weights={"edge_weights": str(tmp_path / "g.pth")})
    with pytest.raises(ValueError, match=r"model\.stage_weights\.edge_weights is not a file of this MISFInpainter"):
        trainer().fit(wrong, train_dataloaders=loader(image, mask, batches=1))


def _older_run(folder: pathlib.Path, model, config: dict) -> object:
    """A run folder as an older version wrote it: ``config`` as its saved model node, ``model``'s weights as
    its last checkpoint; returns the trained module."""
    (folder / "checkpoints").mkdir(parents=True)
    OmegaConf.save(OmegaConf.create({"model": config}), folder / "config_resolved.yaml")
    trained = hydra.utils.instantiate(model)
    torch.save({"state_dict": trained.state_dict()}, folder / "checkpoints" / "last.ckpt")
    return trained


def test_a_run_folder_written_when_adapters_took_weight_files_still_rebuilds(tmp_path):
    """Before ``stage_weights``, a run's config held the files in its net node (``model.net.weights``): such a run
    folder is rebuilt with them as stage files (never read: its checkpoint holds the network)."""
    model = compose("train", ["model=misf", "model.net.generator.width=0.125"]).model
    config = OmegaConf.to_container(model, resolve=True)
    config["net"]["weights"] = str(tmp_path / "gone" / "InpaintingModel_gen.pth")
    del config["stage_weights"]
    config["metric_protocol"] = config.pop("protocol")  # the argument's name then
    run = tmp_path / "old_run"
    trained = _older_run(run, model, config)
    rebuilt, _ = load_run_module(run, "cpu")
    assert rebuilt.stage_weights == {"weights": config["net"]["weights"]}
    assert rebuilt.hparams.protocol == config["metric_protocol"]
    assert all(torch.equal(v, trained.state_dict()[k]) for k, v in rebuilt.state_dict().items())


def test_a_resume_may_move_the_stage_files_but_not_change_the_model(tmp_path):
    model = compose("train", ["model=misf", "model.net.generator.width=0.125"]).model
    old = OmegaConf.to_container(model, resolve=True)
    old["net"]["weights"] = "/old/place/InpaintingModel_gen.pth"  # an older run: the file in its net node
    del old["stage_weights"]
    old["metric_protocol"] = old.pop("protocol")
    (tmp_path / "run").mkdir()
    OmegaConf.save(OmegaConf.create({"model": old}), tmp_path / "run" / "config_resolved.yaml")
    run = RunFolder(tmp_path / "run")
    moved = compose("train", ["model=misf", "model.net.generator.width=0.125",
                              "model.stage_weights.weights=/new/place/InpaintingModel_gen.pth"]).model
    run.check_resume(moved, "last.ckpt")
    wider = compose("train", ["model=misf", "model.net.generator.width=0.25"]).model
    with pytest.raises(ValueError, match=r"model.net.generator.width: 0.125 -> 0.25"):
        run.check_resume(wider, "last.ckpt")


def test_a_run_folder_with_the_loss_switch_under_its_earlier_spelling_rebuilds_and_resumes(tmp_path):
    """``model.loss.normalise_l1_by_hole_ratio`` (the key's name before the American spelling) is read as
    ``normalize_l1_by_hole_ratio`` with its value: resuming with that value is no model change, another value is."""
    overrides = ["model=misf", "model.net.generator.width=0.125"]
    old = OmegaConf.to_container(compose("train", overrides).model, resolve=True)
    del old["loss"]["normalize_l1_by_hole_ratio"]
    old["loss"]["normalise_l1_by_hole_ratio"] = False
    (tmp_path / "run").mkdir()
    OmegaConf.save(OmegaConf.create({"model": old}), tmp_path / "run" / "config_resolved.yaml")
    run = RunFolder(tmp_path / "run")
    loss = run.model_config().loss
    assert loss.normalize_l1_by_hole_ratio is False and "normalise_l1_by_hole_ratio" not in loss
    run.check_resume(compose("train", [*overrides, "model.loss.normalize_l1_by_hole_ratio=false"]).model, "last.ckpt")
    with pytest.raises(ValueError, match=r"model.loss.normalize_l1_by_hole_ratio: False -> True"):
        run.check_resume(compose("train", overrides).model, "last.ckpt")


def test_a_jpgnet_run_folder_written_before_its_network_factory_still_rebuilds(tmp_path):
    """JPGNet runs written before ``model.network`` (the network the stages compose into) came from the config."""
    overrides = ["model=jpgnet_uafnet", "model/dgnet=telea", "model.pfunet.kpn.width=0.125", "model.fusion.width=0.125"]
    model = compose("train", overrides).model
    config = OmegaConf.to_container(model, resolve=True)
    del config["network"]
    run = tmp_path / "old_jpgnet_run"
    trained = _older_run(run, model, config)
    rebuilt, _ = load_run_module(run, "cpu")
    assert type(rebuilt.net) is type(trained.net)
    assert all(torch.equal(v, trained.state_dict()[k]) for k, v in rebuilt.state_dict().items())
    RunFolder(run).check_resume(model, "last.ckpt")  # the added argument is no model change
