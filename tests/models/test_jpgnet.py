"""JPGNet: frozen PFUNet/DGNet built by composition, UAFNet training, naive fusion, stage files read only
when a run starts without a checkpoint, any DGNet (a classical one too)."""
import pathlib

import pytest
import torch

from inpainting.eval.classical import telea
from inpainting.losses import L1SSIMLoss
from inpainting.models.jpgnet import JPGNetModule
from inpainting.nets import CheckpointError, SmartFusion, pfunet, uncertainty_map
from inpainting.nets.classical import ClassicalInpainter
from inpainting.nets.jpgnet import JPGNet, PFUNet, load_pfunet
from inpainting.utils.composite import composite
from tests.models.helpers import (
    adam,
    images_and_masks,
    loader,
    naive_fusion_module,
    trainer,
    uafnet_module,
    write_stage_files,
)


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _stage_weights(files: dict) -> dict:
    return {"pfunet": files["pfunet"], "dgnet": {"edge_weights": files["edge"], "inpaint_weights": files["inpaint"]}}


def test_uafnet_step_loads_the_stages_and_trains_only_uafnet(tmp_path):
    files = write_stage_files(tmp_path)
    module = uafnet_module(stage_weights=_stage_weights(files))
    fusion_before = _state(module.net.fusion)
    image, mask = images_and_masks()
    trainer().fit(module, train_dataloaders=loader(image, mask, batches=2))
    # the stage files were loaded and stay untouched (G1's spectral-norm vectors included)
    assert torch.equal(module.net.pfunet.kpn.outc.weight, torch.load(files["pfunet"], weights_only=True)["outc.weight"])
    g1 = torch.load(files["edge"], weights_only=True)["generator"]
    for key, value in module.net.dgnet.edge_generator.state_dict().items():
        assert torch.equal(value, g1[key]), key
    assert not module.net.pfunet.training and not module.net.dgnet.training and module.net.fusion.training
    changed = [k for k, v in module.net.fusion.state_dict().items() if not torch.equal(v, fusion_before[k])]
    # the 0.02-gain init leaves many ReLUs silent at first; the output head always learns
    assert "net.conv_final.weight" in changed and "net.outc.weight" in changed
    optimizer = module.trainer.optimizers[0]
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert trained == {id(p) for p in module.net.fusion.parameters()}


def test_testing_a_checkpoint_never_reads_the_stage_files(tmp_path):
    files = write_stage_files(tmp_path)
    module = uafnet_module(stage_weights=_stage_weights(files))
    image, mask = images_and_masks()
    fit = trainer(default_root_dir=tmp_path)
    fit.fit(module, train_dataloaders=loader(image, mask, batches=1))
    ckpt = tmp_path / "jpgnet.ckpt"
    fit.save_checkpoint(ckpt)
    for path in files.values():
        pathlib.Path(path).unlink()
    fresh = uafnet_module(stage_weights=_stage_weights(files))  # same config, files gone
    trainer().test(fresh, dataloaders=loader(image, mask, batches=1), ckpt_path=str(ckpt))
    assert torch.equal(fresh.net.pfunet.kpn.outc.weight, module.net.pfunet.kpn.outc.weight)
    with pytest.raises(FileNotFoundError, match="pfunet.pth"):  # from scratch they are needed
        trainer().test(uafnet_module(stage_weights=_stage_weights(files)), dataloaders=loader(image, mask, batches=1))


def test_uafnet_forward_dict_for_the_panel():
    module = uafnet_module()
    image, mask = images_and_masks()
    out = module(image, mask)
    assert out["pred"].shape == image.shape
    assert out["kernels"].shape == (2, 27, 32, 32) and out["uncertainty"].shape == (2, 1, 32, 32)
    assert out["fusion_kernels"].shape == (2, 54, 32, 32)
    assert not out["res1"].requires_grad and not out["kernels"].requires_grad


@pytest.mark.parametrize("threshold", [None, 0.0])
def test_naive_fusion_is_eq4(threshold):
    module = naive_fusion_module(threshold)
    image, mask = images_and_masks()
    out = module(image, mask)
    net = module.net
    res1 = composite(net.dgnet(image, mask)["pred"], image, mask)
    filtered = net.pfunet(image, mask)
    res2 = composite(filtered["pred"], image, mask)
    u = uncertainty_map(filtered["kernels"])
    if threshold is not None:
        u = (u > threshold).float()
    torch.testing.assert_close(out["pred"], (1 - u) * res2 + u * res1)
    assert 0 < float(u.mean()) <= 1


def test_missing_stage_weights_are_an_error_naming_them(tmp_path):
    module = naive_fusion_module()
    with pytest.raises(ValueError, match=r"\['pfunet', 'dgnet'\].*model.stage_weights.pfunet, model.stage_weights.dgnet"):
        module.net.load_stage_weights({})
    files = write_stage_files(tmp_path)
    with pytest.raises(ValueError, match="model.stage_weights.dgnet.inpaint_weights unset"):
        module.net.load_stage_weights({"pfunet": files["pfunet"], "dgnet": {"edge_weights": files["edge"], "inpaint_weights": None}})
    with pytest.raises(ValueError, match="unknown stage_weights entries"):
        module.net.load_stage_weights({"rfrnet": "x.pth"})


def test_naive_fusion_cannot_be_trained():
    module = naive_fusion_module()
    image, mask = images_and_masks()
    with pytest.raises(RuntimeError, match="train=false"):
        module.training_step({"image": image, "mask": mask}, 0)
    with pytest.raises(ValueError, match="needs a loss"):
        JPGNetModule(JPGNet, PFUNet(pfunet(width=0.125)), ClassicalInpainter("telea"), fusion=SmartFusion(width=0.125))


def test_pfunet_weights_from_run_folder_lightning_ckpt_and_official_file(tmp_path):
    torch.manual_seed(1)
    source = pfunet(width=0.125)
    lightning = {"state_dict": {f"net.kpn.{k}": v for k, v in source.state_dict().items()}, "epoch": 0}
    run = tmp_path / "run" / "checkpoints"
    run.mkdir(parents=True)
    torch.save(lightning, run / "best-epoch0.ckpt")
    torch.save({"state_dict": {}}, run / "last.ckpt")  # the best one is what the row reports
    torch.save(lightning, tmp_path / "pfunet_run.ckpt")
    torch.save(source.state_dict(), tmp_path / "pfunet_official.pth")
    for path in (tmp_path / "run", tmp_path / "pfunet_run.ckpt", tmp_path / "pfunet_official.pth"):
        target = PFUNet(pfunet(width=0.125))
        target.load_weights(weights=str(path))
        for key, value in source.state_dict().items():
            assert torch.equal(target.kpn.state_dict()[key], value), (path, key)
    with pytest.raises(CheckpointError, match="net.kpn."):
        load_pfunet(pfunet(width=0.125), tmp_path / "run" / "checkpoints" / "last.ckpt")


def test_a_classical_dgnet_plugs_in_without_weights(tmp_path):
    torch.manual_seed(0)
    module = JPGNetModule(JPGNet, PFUNet(pfunet(width=0.125)), ClassicalInpainter("telea"), SmartFusion(width=0.125),
                          loss=L1SSIMLoss(0.2), optimizer=adam(2e-4, (0.5, 0.999)),
                          stage_weights={"pfunet": write_stage_files(tmp_path)["pfunet"]})
    image, mask = images_and_masks()
    out = module(image, mask)
    torch.testing.assert_close(out["res1"], composite(telea(image, mask), image, mask))
    trainer().fit(module, train_dataloaders=loader(image, mask, batches=1))
    with pytest.raises(ValueError, match="ClassicalInpainter has no weights"):
        module.net.load_stage_weights({"pfunet": str(tmp_path / "pfunet.pth"), "dgnet": "x.pth"})


def test_train_pfunet_trains_both_kpns_in_one_run_without_stage_files():
    torch.manual_seed(0)
    module = JPGNetModule(JPGNet, PFUNet(pfunet(width=0.125)), ClassicalInpainter("telea"), SmartFusion(width=0.125, init="res1"),
                          loss=L1SSIMLoss(0.2), optimizer=adam(2e-4, (0.5, 0.999)), train_pfunet=True)
    pfunet_before = _state(module.net.pfunet)
    image, mask = images_and_masks()
    trainer().fit(module, train_dataloaders=loader(image, mask, batches=2))
    assert module.net.pfunet.training and module.net.fusion.training
    assert not torch.equal(module.net.pfunet.kpn.outc.weight, pfunet_before["kpn.outc.weight"])
    trained = {id(p) for group in module.trainer.optimizers[0].param_groups for p in group["params"]}
    assert trained == {id(p) for p in [*module.net.pfunet.parameters(), *module.net.fusion.parameters()]}
    assert module(image, mask)["pfunet_pred"].requires_grad
    with pytest.raises(ValueError, match="train_pfunet needs UAFNet"):
        JPGNetModule(JPGNet, PFUNet(pfunet(width=0.125)), ClassicalInpainter("telea"), train_pfunet=True)


def _telea_jpgnet(**kwargs) -> JPGNetModule:
    torch.manual_seed(0)
    fusion = SmartFusion(width=0.125, init="res1", kernel_norm="softmax", padding="replicate", train_mixing=False)
    return JPGNetModule(JPGNet, PFUNet(pfunet(width=0.125)), ClassicalInpainter("telea"), fusion, loss=L1SSIMLoss(0.2),
                        optimizer=adam(1e-3, (0.5, 0.999)), train_pfunet=True, **kwargs)


@pytest.mark.parametrize("loss_on", ["raw", "composite"])
def test_loss_on_composite_scores_only_the_holes(loss_on):
    module = _telea_jpgnet(loss_on=loss_on)
    image, mask = images_and_masks()
    pred = torch.rand_like(image)
    changed_outside = pred + 0.3 * (1 - mask)  # differs only on known pixels
    same = torch.equal(module._scored(pred, image, mask)[0], module._scored(changed_outside, image, mask)[0])
    assert same == (loss_on == "composite")
    with pytest.raises(ValueError, match="unknown loss_on 'holes'"):
        _telea_jpgnet(loss_on="holes")


def test_demo_fusion_trains_its_kernels_and_keeps_its_mixing_layers():
    module = _telea_jpgnet(loss_on="composite")
    before = _state(module.net.fusion)
    image, mask = images_and_masks()
    trainer().fit(module, train_dataloaders=loader(image, mask, batches=2))
    after = module.net.fusion.state_dict()
    for key in ("net.conv_fusion.weight", "net.conv_fusion.bias", "net.conv_final.weight", "net.conv_final.bias"):
        assert torch.equal(after[key], before[key]), key
    assert not torch.equal(after["net.outc.bias"], before["net.outc.bias"])
    trained = {id(p) for group in module.trainer.optimizers[0].param_groups for p in group["params"]}
    assert id(module.net.fusion.net.conv_final.weight) not in trained
    assert id(module.net.fusion.net.outc.weight) in trained
