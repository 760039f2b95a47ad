"""JPGNet fusion stage: frozen PFUNet/DGNet, UAFNet training, naive fusion, stage weight loading."""
import pytest
import torch

from inpainting.eval.metrics import composite
from inpainting.models.jpgnet import load_stage_weights
from inpainting.nets import CheckpointError, load_jpgnet_kpn, pfunet, uncertainty_map
from tests.models.helpers import images_and_masks, loader, naive_fusion_module, trainer, uafnet_module


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_uafnet_step_trains_only_uafnet():
    module = uafnet_module(untrained_stages_for_tests=True)
    stages_before, fusion_before = _state(module.net.stages), _state(module.net.fusion)
    image, mask = images_and_masks()
    trainer().fit(module, train_dataloaders=loader(image, mask, batches=2))
    # parameters and buffers (G1's spectral-norm vectors) of the frozen stages are untouched
    for key, value in module.net.stages.state_dict().items():
        assert torch.equal(value, stages_before[key]), key
    assert not module.net.stages.training and module.net.fusion.training
    changed = [k for k, v in module.net.fusion.state_dict().items() if not torch.equal(v, fusion_before[k])]
    # the 0.02-gain init leaves many ReLUs silent at first; the output head always learns
    assert "net.conv_final.weight" in changed and "net.outc.weight" in changed
    optimizer = module.trainer.optimizers[0]
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert trained == {id(p) for p in module.net.fusion.parameters()}


def test_uafnet_forward_dict_for_the_panel():
    module = uafnet_module(untrained_stages_for_tests=True)
    image, mask = images_and_masks()
    out = module(image, mask)
    assert out["pred"].shape == image.shape
    assert out["kernels"].shape == (2, 27, 32, 32) and out["uncertainty"].shape == (2, 1, 32, 32)
    assert out["fusion_kernels"].shape == (2, 54, 32, 32)
    assert not out["res1"].requires_grad and not out["kernels"].requires_grad


@pytest.mark.parametrize("threshold", [None, 0.0])
def test_naive_fusion_is_eq4(threshold):
    module = naive_fusion_module(threshold, untrained_stages_for_tests=True)
    image, mask = images_and_masks()
    out = module(image, mask)
    stages = module.net.stages
    res1 = composite(stages.dgnet(image, mask)["pred"], image, mask)
    filtered = stages.pfunet(image, mask)
    res2 = composite(filtered["pred"], image, mask)
    u = uncertainty_map(filtered["kernels"])
    if threshold is not None:
        u = (u > threshold).float()
    torch.testing.assert_close(out["pred"], (1 - u) * res2 + u * res1)
    assert 0 < float(u.mean()) <= 1


def test_missing_stage_weights_are_an_error_naming_them():
    module = naive_fusion_module()
    with pytest.raises(ValueError, match="model.stage_weights.pfunet.*untrained_stages_for_tests"):
        module.setup("test")


def test_naive_fusion_cannot_be_trained():
    module = naive_fusion_module(untrained_stages_for_tests=True)
    image, mask = images_and_masks()
    with pytest.raises(RuntimeError, match="train=false"):
        module.training_step({"image": image, "mask": mask}, 0)


def test_stage_weights_from_lightning_ckpt_and_official_file(tmp_path):
    torch.manual_seed(1)
    source = pfunet(width=0.125)
    lightning = {"state_dict": {f"net.kpn.{k}": v for k, v in source.state_dict().items()}, "epoch": 0}
    torch.save(lightning, tmp_path / "pfunet_run.ckpt")
    torch.save(source.state_dict(), tmp_path / "pfunet_official.pth")
    for name in ("pfunet_run.ckpt", "pfunet_official.pth"):
        target = pfunet(width=0.125)
        load_stage_weights(target, str(tmp_path / name), "net.kpn.", load_jpgnet_kpn)
        for key, value in source.state_dict().items():
            assert torch.equal(target.state_dict()[key], value), (name, key)
    with pytest.raises(CheckpointError, match="net.generator."):
        load_stage_weights(pfunet(width=0.125), str(tmp_path / "pfunet_run.ckpt"), "net.generator.", load_jpgnet_kpn)


def test_setup_loads_configured_stage(tmp_path):
    torch.manual_seed(2)
    source = pfunet(width=0.125)
    torch.save(source.state_dict(), tmp_path / "pfunet.pth")
    module = naive_fusion_module(stage_weights={"pfunet": str(tmp_path / "pfunet.pth")}, untrained_stages_for_tests=True)
    module.setup("test")
    loaded = module.net.stages.pfunet.kpn.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in source.state_dict().items())


def test_unknown_stage_name_is_rejected():
    with pytest.raises(ValueError, match="unknown stage_weights"):
        naive_fusion_module(stage_weights={"rfrnet": "x.pth"})
