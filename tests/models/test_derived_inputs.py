"""Derived inputs (Canny edges, gray images, a classical result) come with the batch: equal to what the networks
compute themselves, made in the DataLoader workers, and no host copy left in a training step."""
import copy

import hydra
import numpy as np
import pytest
import torch

from inpainting.data.derived import with_derived
from inpainting.models.base import InpaintingModule
from inpainting.nets import pfunet
from inpainting.nets.classical import ClassicalInpainter
from inpainting.nets.ctsdg import CTSDGInpainter
from inpainting.nets.ctsdg.network import Generator
from inpainting.nets.edgeconnect import EdgeConnect, EdgeGenerator, InpaintGenerator
from inpainting.nets.jpgnet import JPGNet, PFUNet
from tests.cli.helpers import TINY, compose_config
from tests.host_copies import HostCopyError, guard_training_steps, no_host_copies
from tests.models.helpers import edge_module, images_and_masks, loader, trainer


def _edgeconnect(stage: str) -> EdgeConnect:
    torch.manual_seed(0)
    generators = {"edge": {"edge_generator": EdgeGenerator(residual_blocks=1)},
                  "inpaint": {"inpaint_generator": InpaintGenerator(residual_blocks=1)},
                  "edge_inpaint": {"edge_generator": EdgeGenerator(residual_blocks=1),
                                   "inpaint_generator": InpaintGenerator(residual_blocks=1)}}[stage]
    return EdgeConnect(**generators, stage=stage)


def _assert_same(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key


@pytest.mark.parametrize("stage", ["edge", "inpaint", "edge_inpaint"])
@pytest.mark.parametrize("training", [True, False])
def test_edgeconnect_batch_inputs_equal_its_own(stage, training):
    image, mask = images_and_masks(2, seed=1)
    net = _edgeconnect(stage).train(training)
    derived = net.derived(image, mask)
    assert set(derived) == set(net.derived.keys)
    with torch.no_grad():  # a copy: spectral norm's power iteration updates G1 on every training forward
        _assert_same(copy.deepcopy(net)(image, mask), net(image, mask, **derived))
    if stage == "edge_inpaint":  # the test path's Canny sees the known pixels only
        assert derived["canny_known"][mask.bool()].sum() == 0 and derived["canny"][mask.bool()].sum() > 0


@pytest.mark.parametrize("structure_from", ["wrap", "image"])
@pytest.mark.parametrize("known_only", [False, True])
def test_ctsdg_batch_inputs_equal_its_own(structure_from, known_only):
    image, mask = (torch.nn.functional.interpolate(x, size=128) for x in images_and_masks(1, seed=2))  # CTSDG: 128 px
    torch.manual_seed(0)
    net = CTSDGInpainter(Generator(width=8), structure_from=structure_from, edges_from_known_only=known_only).eval()
    with torch.no_grad():
        _assert_same(net(image, mask), net(image, mask, **net.derived(image, mask)))


@pytest.mark.parametrize("method", ["telea", "navier_stokes"])
def test_jpgnet_classical_dgnet_takes_the_batch_result(method):
    image, mask = images_and_masks(2, seed=3)
    torch.manual_seed(0)
    net = JPGNet(PFUNet(pfunet(width=0.125)), ClassicalInpainter(method, radius=3))
    derived = net.derived(image, mask)
    assert list(derived) == ["classical"]
    with torch.no_grad():
        _assert_same(net(image, mask), net(image, mask, **derived))


def test_guard_catches_every_host_copy_and_restores_tensors():
    x = torch.ones(2)
    copies = [lambda: x.cpu(), lambda: x.numpy(), lambda: x[0].item(), lambda: x.tolist(), lambda: np.asarray(x), lambda: float(x[0]), lambda: bool(x[0]),
              lambda: int(x[0])]
    for host_copy in copies:
        with no_host_copies(), pytest.raises(HostCopyError, match="host copy in a training step"):
            host_copy()
    assert x.cpu().tolist() == [1.0, 1.0] and float(x[0]) == 1.0


def test_guard_fails_a_step_that_computes_canny_inside_the_network(monkeypatch):
    """What the guard exists for: without the batch's edges, EdgeConnect's forward runs skimage's Canny."""
    guard_training_steps(monkeypatch)
    monkeypatch.setattr(InpaintingModule, "on_before_batch_transfer", lambda self, batch, idx: batch)
    image, mask = images_and_masks(2)
    with pytest.raises(HostCopyError, match="edgeconnect/network.py"):
        trainer(max_steps=2).fit(edge_module(), loader(image, mask, 1))


def test_edge_stage_trains_on_the_batch_canny_target(monkeypatch):
    image, mask = images_and_masks(2)
    module = edge_module()
    guarded = guard_training_steps(monkeypatch)
    trainer(max_steps=2).fit(module, loader(image, mask, 1))
    assert guarded == [0]
    batch = module.with_derived({"image": image, "mask": mask})
    _, target = module.evaluation_pair(batch)
    assert torch.equal(target[:, :1], batch["canny"]) and batch["canny"].sum() > 0


def test_datamodule_workers_compute_the_derived_inputs(tmp_path):
    cfg = compose_config("train", ["experiment=edgeconnect_edge_inpaint", *TINY, "data.num_workers=1"], tmp_path)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    net = _edgeconnect("edge_inpaint")
    datamodule.derived = net.derived  # what InpaintingModule.setup does when a run starts
    for batch in (next(iter(datamodule.train_dataloader())), next(iter(datamodule.val_dataloader()))):
        assert set(net.derived.keys) <= set(batch)
        expected = with_derived({"image": batch["image"], "mask": batch["mask"]}, net.derived)
        for key in net.derived.keys:
            assert torch.equal(batch[key], expected[key]), key


def test_jpgnet_frozen_edgeconnect_gets_the_test_path_edges_only():
    image, mask = images_and_masks(2, seed=4)
    torch.manual_seed(0)
    net = JPGNet(PFUNet(pfunet(width=0.125)), _edgeconnect("edge_inpaint")).train()
    derived = net.derived(image, mask)
    assert set(derived) == {"gray", "canny_known"} == set(net.derived.keys)
    with torch.no_grad():
        _assert_same(net(image, mask), net(image, mask, **derived))
