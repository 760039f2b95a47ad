"""CTSDG's losses and its training module: one batch on CPU through conf/experiment/ctsdg.yaml."""
import json
import types

import pytest
import torch

from inpainting.cli.train import train
from inpainting.losses.ctsdg import CTSDGLoss
from inpainting.losses.vgg16 import VGG16PoolFeatures
from inpainting.utils.weights import WeightsMissingError
from tests.cli.helpers import TINY, compose_config
from tests.host_copies import guard_training_steps

# CTSDG needs H, W multiples of 128; an 8-wide generator keeps one 128x128 batch at about a second
# (batch 2: at 128 the bottleneck is 1x1 and training-mode BatchNorm needs two values per channel)
SMALL = ["data.image_size=128", "data.batch_size=2", "data.eval_batch_size=2", "model.net.generator.width=8"]
NO_VGG = ["model.loss.weights.perceptual=0", "model.loss.weights.style=0"]  # VGG16 terms: tested above


def test_vgg16_pools_read_torchvision_file_and_fail_naming_it(standin_vgg16, hub_dir, tmp_path):
    from torchvision.models.vgg import cfgs, make_layers

    reference = make_layers(cfgs["D"]).eval()
    reference.load_state_dict({k[len("features."):]: v for k, v in standin_vgg16.items()})
    vgg = VGG16PoolFeatures()
    x = torch.randn(1, 3, 32, 32)
    pools = vgg(x)
    assert [p.shape[-1] for p in pools] == [16, 8, 4] and torch.allclose(pools[2], reference[:17](x))
    assert not vgg.state_dict()  # frozen constants, not checkpoint state
    with pytest.raises(WeightsMissingError, match="vgg16-397923af.pth"):
        VGG16PoolFeatures(weights_path=tmp_path / "vgg16-397923af.pth")


def test_loss_terms_follow_the_official_definitions(standin_vgg16):
    torch.manual_seed(0)
    loss = CTSDGLoss()
    target, output = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    valid = torch.ones(2, 1, 32, 32)
    valid[..., 8:20, 8:24] = 0
    edge = (torch.rand(2, 1, 32, 32) > 0.8).float()
    scores, fake_edge, projected_edge = torch.rand(2, 2, 14, 14), torch.rand(2, 1, 32, 32), torch.rand(2, 1, 32, 32)
    total, parts = loss.generator_loss(output, target, valid, edge, scores, fake_edge, target, projected_edge)
    bce = torch.nn.BCELoss()
    assert torch.allclose(parts["hole"], (((1 - valid) * (output - target)).abs()).mean())
    assert torch.allclose(parts["adversarial"], bce(scores, torch.ones_like(scores)) + bce(fake_edge, edge))
    assert torch.allclose(parts["intermediate"], bce(projected_edge, edge))  # projected image = target
    weights = dict(hole=60, valid=10, perceptual=0.1, style=250, adversarial=0.1, intermediate=1)
    assert torch.allclose(total, sum(weights[k] * v for k, v in parts.items()))
    _, parts = loss.generator_loss(target, target, valid, edge, scores, fake_edge, target, projected_edge)
    assert parts["hole"] == parts["valid"] == parts["perceptual"] == parts["style"] == 0
    assert CTSDGLoss({"perceptual": 0, "style": 0}).vgg is None  # no VGG16 file needed


def test_ctsdg_experiment_trains_one_batch(tmp_path, monkeypatch):
    cfg = compose_config("train", ["experiment=ctsdg", *TINY, *SMALL, *NO_VGG, "debug=fdr"], tmp_path / "run")
    assert cfg.model.net.structure_from == "wrap" and cfg.model.optimizer.lr == 2e-4
    guarded = guard_training_steps(monkeypatch)  # Canny and gray come with the batch: no host copy in the step
    summary = train(cfg)
    assert summary["global_step"] == 2 and guarded == [0]  # one G step + one D step


def test_finetune_experiment_freezes_batch_norm(tmp_path):
    import hydra

    cfg = compose_config("train", ["experiment=ctsdg_finetune", *TINY, *SMALL], tmp_path / "run")
    module = hydra.utils.instantiate(cfg.model)
    module.train()
    assert cfg.model.optimizer.lr == 5e-5 and cfg.model.d_optimizer.lr == 5e-6
    norms = [m for m in module.net.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    assert module.discriminator.training


def _official_file_of_another_module(tmp_path):
    """(a module, a fresh one, an official ``{'n_iter', 'generator', 'discriminator'}`` file of the first)."""
    import hydra

    cfg = compose_config("train", ["experiment=ctsdg", *TINY, *SMALL], tmp_path / "run")
    trained, fresh = hydra.utils.instantiate(cfg.model), hydra.utils.instantiate(cfg.model)
    path = tmp_path / "300000.pt"
    torch.save({"n_iter": 300000, "generator": trained.net.generator.state_dict(),
                "discriminator": trained.discriminator.state_dict()}, path)
    return trained, fresh, path


def test_init_from_takes_an_official_checkpoint(tmp_path):
    trained, fresh, path = _official_file_of_another_module(tmp_path)
    fresh.load_weights(str(path))
    for ours, theirs in ((fresh.net.generator, trained.net.generator), (fresh.discriminator, trained.discriminator)):
        assert all(torch.equal(v, theirs.state_dict()[k]) for k, v in ours.state_dict().items())


def test_stage_weights_load_the_generator_alone_and_exclude_pretrained(tmp_path):
    trained, fresh, path = _official_file_of_another_module(tmp_path)
    fresh.stage_weights = {"weights": str(path)}
    discriminator = {k: v.clone() for k, v in fresh.discriminator.state_dict().items()}
    fresh.load_stage_files()
    assert all(torch.equal(v, trained.net.generator.state_dict()[k]) for k, v in fresh.net.generator.state_dict().items())
    assert all(torch.equal(v, discriminator[k]) for k, v in fresh.discriminator.state_dict().items())
    fresh.pretrained = str(path)
    with pytest.raises(ValueError, match="model.pretrained .* and model.stage_weights.weights .* both given"):
        fresh.load_stage_files()


def test_misf_table2_demo_row_runs_ctsdg_at_its_smallest_size(tmp_path, capsys):
    import shlex

    from inpainting import reproduce as rp
    from inpainting.utils.resources import compose

    rp.reproduce("misf_table2", "demo", rows=["CTSDG"], dry_run=True, estimate=False, runs_dir=str(tmp_path / "runs"))
    first, finetune = [shlex.split(line.split(": ", 1)[1]) for line in capsys.readouterr().out.splitlines()
                       if ": inpaint-train " in line]
    assert "experiment=ctsdg" in first and "experiment=ctsdg_finetune" in finetune  # the row is the fine-tuned net
    assert any(arg.startswith("model.pretrained=") and arg.endswith("/TESTED_CHECKPOINT") for arg in finetune)
    for argv in (first, finetune):
        assert "scale=demo" in argv
        cfg = compose("train", argv[1:])  # the demo narrowing is composed (conf/scale_model/demo_ctsdg.yaml)
        assert cfg.data.image_size == 128 and cfg.model.net.generator.width == 8


def test_finetune_starts_from_the_checkpoint_the_first_stage_hands_on(tmp_path):
    """The first stage tests and hands on its last file (the authors'); model.pretrained=<its run folder>
    loads both networks from that file when fine-tuning starts from scratch, and only then."""
    import hydra

    first = tmp_path / "first"
    train(compose_config("train", ["experiment=ctsdg", *TINY, *SMALL, *NO_VGG, "logger=none", "data.samples_per_epoch=2",
                                   "trainer.max_epochs=1"], first))
    assert json.loads((first / "results.json").read_text())["checkpoint"] == "checkpoints/last.ckpt"
    handed_on = torch.load(first / "checkpoints/last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    cfg = compose_config("train", ["experiment=ctsdg_finetune", *TINY, *SMALL, *NO_VGG, f"model.pretrained={first}"],
                         tmp_path / "finetune")
    for ckpt_path, loads in ((None, True), ("resumed.ckpt", False)):
        module = hydra.utils.instantiate(cfg.model)
        module._trainer = types.SimpleNamespace(ckpt_path=ckpt_path)  # the hook reads only this
        module.on_fit_start()
        same = [torch.equal(v, handed_on[k]) for k, v in module.state_dict().items() if k in handed_on]
        assert same and all(same) == loads
