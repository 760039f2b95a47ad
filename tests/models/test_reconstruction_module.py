"""RFRNet and PConv training: the four experiments train one batch on CPU; the fine-tuning stages freeze BatchNorm."""
import functools

import pytest
import torch
from torch import nn

from inpainting.cli.train import train
from inpainting.losses import PConvLoss
from inpainting.models.reconstruction_module import ReconstructionInpaintingModule
from inpainting.nets.pconv import PConvInpainter, PConvUNet
from tests.cli.helpers import TINY, compose_config
from tests.host_copies import guard_training_steps
from tests.models.helpers import images_and_masks, loader, trainer

SMALL = {"rfrnet": ["model.net.generator.iterations=2"], "pconv": ["model.net.generator.levels=5"]}  # 32x32 images


@pytest.mark.parametrize("experiment", ["rfrnet", "rfrnet_finetune", "pconv", "pconv_finetune"])
def test_experiment_trains_one_batch(experiment, standin_vgg16, tmp_path, monkeypatch):
    family = experiment.split("_")[0]
    cfg = compose_config("train", [f"experiment={experiment}", *TINY, *SMALL[family], "data.batch_size=2", "debug=fdr"],
                         tmp_path / "run")
    finetune = experiment.endswith("finetune")
    assert cfg.model.optimizer.lr == (5e-5 if finetune else 2e-4)
    assert cfg.model.loss.weights.hole == 6.0 and cfg.model.loss.weights.style == 120.0
    assert cfg.model.loss.tv_region == ("hole" if family == "rfrnet" else "dilated_hole")
    assert (cfg.model.frozen_batchnorm is not None) == finetune
    guarded = guard_training_steps(monkeypatch)  # no host copy in the step
    summary = train(cfg)  # the VGG16 terms run on the stand-in hub file
    assert summary["global_step"] == 1 and guarded == [0]
    assert torch.isfinite(torch.tensor(summary["metrics"]["train/loss_step"]))


def pconv_module(frozen_batchnorm=None) -> ReconstructionInpaintingModule:
    torch.manual_seed(0)
    return ReconstructionInpaintingModule(
        PConvInpainter(PConvUNet(levels=5)), functools.partial(PConvLoss, weights={"perceptual": 0, "style": 0}),
        optimizer=functools.partial(torch.optim.Adam, lr=5e-5), frozen_batchnorm=frozen_batchnorm)


def batchnorm_stats(module):
    return {name: m.running_mean.clone() for name, m in module.net.named_modules() if isinstance(m, nn.BatchNorm2d)}


@pytest.mark.parametrize("frozen", [None, ["generator.enc_"], [""]])
def test_frozen_batchnorm_keeps_running_statistics(frozen):
    module = pconv_module(frozen)
    before = batchnorm_stats(module)
    module.train()
    training = {name: m.training for name, m in module.net.named_modules() if isinstance(m, nn.BatchNorm2d)}
    image, mask = images_and_masks()
    trainer(max_steps=2).fit(module, loader(image, mask, batches=2))
    after = batchnorm_stats(module)
    for name in before:
        frozen_here = any(name.startswith(p) for p in frozen or [])
        assert training[name] is not frozen_here, name
        assert torch.equal(before[name], after[name]) is frozen_here, name
    # the affine parameters still train in both papers' fine-tuning
    assert not torch.equal(module.net.generator.enc_2.bn.weight, pconv_module().net.generator.enc_2.bn.weight)


def test_frozen_batchnorm_prefix_must_match():
    with pytest.raises(ValueError, match=r"\['encoder'\] match no BatchNorm"):
        pconv_module(["encoder"])


def test_soft_masked_input_is_pfunets_alone():
    # a batch from PFUNet's own loader carries its soft-masked input ("masked"); PConv and RFRNet train on
    # the image and the hole mask whatever else the batch holds
    module = pconv_module().eval()
    image, mask = images_and_masks()
    batch = {"image": image, "mask": mask, "masked": image * (1 - 0.5 * mask)}
    with torch.no_grad():
        assert torch.equal(module.training_prediction(batch), module(image, mask)["pred"])
        assert not torch.equal(module.training_prediction(batch), module(batch["masked"], torch.zeros_like(mask))["pred"])
