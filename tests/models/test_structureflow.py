"""StructureFlow: adapter conventions, losses, the three training stages (one CPU batch each)."""
import pytest
import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from inpainting.cli.train import train
from inpainting.losses.structureflow import SamplingCorrectnessLoss, StructureFlowLoss
from inpainting.losses.vgg import VGG19_WEIGHTS_FILE, VGG19Features
from inpainting.nets.structureflow import FlowGenerator, StructureFlowInpainter, StructureGenerator
from tests.cli.helpers import TINY, compose_config
from tests.host_copies import guard_training_steps

SMALL = dict(dim=8, n_res=1)
TINY_SF = [*TINY, "data.image_size=64", "data.batch_size=2", "data.eval_batch_size=2", "model.discriminator.dim=8"]


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A random torchvision-layout VGG19 file (He-scaled so relu3_1 stays O(1)); the real one cannot be fetched."""
    torch.manual_seed(0)
    layers = make_layers(cfgs["E"])
    for module in layers.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("vgg") / VGG19_WEIGHTS_FILE
    torch.save({f"features.{k}": v for k, v in layers.state_dict().items()}, path)
    return path


def _batch(size=64):
    g = torch.Generator().manual_seed(0)
    image = torch.nn.functional.interpolate(torch.rand(2, 3, 8, 8, generator=g), size=(size, size), mode="bilinear")
    mask = torch.zeros(2, 1, size, size)
    mask[..., 16:40, 20:44] = 1
    return image, mask


def test_adapter_conventions_and_structure_sources():
    torch.manual_seed(0)
    net = StructureFlowInpainter(StructureGenerator(**SMALL), FlowGenerator(**SMALL)).eval()
    image, mask = _batch()
    with torch.no_grad():
        out = net(image, mask)
        official = net.official(image, mask)
        # hole content of the image never reaches the networks when S = image (S is masked for Gs)
        other = net(torch.where(mask.bool(), torch.rand_like(image), image), mask)
        given = net(image, mask, structure=torch.zeros_like(image))
    assert out["pred"].shape == image.shape and out["flow"].shape == (2, 2, 16, 16)
    assert torch.allclose(out["pred"], (official["output"] + 1) / 2)
    assert torch.allclose(out["structure_pred"], (official["structure_pred"] + 1) / 2)
    assert torch.equal(official["input"], (image * 2 - 1) * (1 - mask))  # holes = 0 (mid-grey) in [-1,1]
    assert 0 <= out["pred"].min() and out["pred"].max() <= 1
    assert torch.allclose(other["pred"], out["pred"], atol=1e-6)
    assert not torch.allclose(given["pred"], out["pred"])
    rtv = StructureFlowInpainter(StructureGenerator(**SMALL), None, structure="rtv")
    smooth = rtv.structure_of(image)
    assert smooth.shape == image.shape and torch.equal(smooth * 255, (smooth * 255).round())  # 8-bit, as cached
    with pytest.raises(ValueError, match="at least 64"):
        net(image[..., :48, :48], mask[..., :48, :48])
    with pytest.raises(ValueError, match="structure must be"):
        StructureFlowInpainter(StructureGenerator(**SMALL), structure="smooth")


def test_adapter_loads_official_files_as_a_dgnet(tmp_path):
    torch.manual_seed(0)
    gs, gt = StructureGenerator(**SMALL), FlowGenerator(**SMALL)
    torch.save(gs.state_dict(), tmp_path / "latest_net_s_gen.pth")
    torch.save(gt.state_dict(), tmp_path / "latest_net_f_gen.pth")
    net = StructureFlowInpainter(StructureGenerator(**SMALL), FlowGenerator(**SMALL))
    net.load_stage_weights({"structure_weights": str(tmp_path / "latest_net_s_gen.pth"),
                            "flow_weights": str(tmp_path / "latest_net_f_gen.pth")}, required=True)
    assert torch.equal(net.flow_generator.conv_column.up_sample[1][0].conv.weight,
                       gt.conv_column.up_sample[1][0].conv.weight)
    assert net.meta.size_multiple == 16 and net.meta.mask_polarity == "hole"
    with pytest.raises(Exception, match="missing keys"):
        StructureFlowInpainter(StructureGenerator(**SMALL)).load_weights(structure_weights=str(tmp_path / "latest_net_f_gen.pth"))


def test_sampling_correctness_prefers_the_right_flow(vgg_file):
    loss = SamplingCorrectnessLoss(VGG19Features(weights_path=vgg_file))
    torch.manual_seed(0)
    image = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8), size=(64, 64), mode="bilinear") * 2 - 1
    target = torch.roll(image, shifts=8, dims=3)  # target(x) = image(x - 8): 2 pixels at relu3_1 (H/4)
    hole = torch.ones(1, 1, 64, 64)

    def value(dx):
        flow = torch.zeros(1, 2, 16, 16)
        flow[:, 0] = dx
        return loss(target, image, flow, hole).item()
    assert value(-2.0) < value(0.0) < value(2.0)  # measured 0.384 < 0.400 < 0.416
    assert loss(target, image, torch.zeros(1, 2, 16, 16), torch.zeros_like(hole)).item() == 0
    flow = torch.zeros(1, 2, 16, 16, requires_grad=True)
    loss(target, image, flow, hole).backward()
    assert flow.grad.abs().sum() > 0


def test_loss_builds_vgg_only_when_needed():
    loss = StructureFlowLoss({"l1": 4.0, "correctness": 0.0})
    assert loss.correctness is None and loss.style is None and loss.perceptual is None
    with pytest.raises(ValueError, match="unknown"):
        StructureFlowLoss({"hole": 1.0})
    with pytest.raises(FileNotFoundError, match=VGG19_WEIGHTS_FILE):
        StructureFlowLoss({"correctness": 0.25}, vgg_weights_path="/nonexistent/vgg19.pth")


def _tiny_nets():
    return [f"model.net.{name}.{k}={v}" for name in ("structure_generator", "flow_generator") for k, v in SMALL.items()]


def test_structure_experiment_trains_one_batch_on_cached_rtv(tmp_path, monkeypatch):
    from hydra.core.global_hydra import GlobalHydra

    from inpainting.cli.rtv import fill
    from inpainting.data.sources import embedded_photos
    from inpainting.utils.resources import compose

    root = tmp_path / "photos"
    root.mkdir()
    for name, path in zip(["a", "b"], embedded_photos("test").paths):  # two real photos, shrunk to 96 px
        from PIL import Image
        Image.open(path).convert("RGB").resize((96, 96)).save(root / f"{name}.png")
    data = ["data=folder", f"paths.data_dir={tmp_path}", "data.num_workers=0",
            *(f"data.{split}_images.root={root}" for split in ("train", "val", "test"))]
    overrides = ["experiment=structureflow_structure", *TINY_SF, *data,
                 *[o for o in _tiny_nets() if "flow_generator" not in o]]
    cfg = compose_config("train", [*overrides, "debug=fdr"], tmp_path / "run")
    with pytest.raises(Exception, match="RTV structure cache missing"):
        train(cfg)
    GlobalHydra.instance().clear()
    assert fill(compose("rtv", [*overrides, "splits=[train]"])) == 0
    guarded = guard_training_steps(monkeypatch)  # the cached RTV structures: no host copy in the step
    summary = train(compose_config("train", [*overrides, "debug=fdr"], tmp_path / "run2"))
    assert summary["global_step"] == 2 and guarded == [0]


@pytest.mark.parametrize("experiment", ["structureflow_flow", "structureflow_joint"])
def test_flow_and_joint_experiments_train_one_batch(experiment, tmp_path, vgg_file, monkeypatch):
    overrides = ["model.net.structure=image", "data.structures=null", f"model.loss.vgg_weights_path={vgg_file}"]
    nets = _tiny_nets()
    if experiment == "structureflow_joint":
        torch.manual_seed(0)
        torch.save(StructureGenerator(**SMALL).state_dict(), tmp_path / "latest_net_s_gen.pth")
        overrides.append(f"model.stage_weights.structure_weights={tmp_path / 'latest_net_s_gen.pth'}")
    else:
        nets = [o for o in nets if "structure_generator" not in o]
    cfg = compose_config("train", [f"experiment={experiment}", *TINY_SF, *nets, *overrides, "debug=fdr"], tmp_path / "run")
    guarded = guard_training_steps(monkeypatch)  # no host copy in the step
    summary = train(cfg)
    assert summary["global_step"] == 2 and guarded == [0]


def test_joint_stage_without_structure_weights_fails_clearly(tmp_path, vgg_file):
    cfg = compose_config("train", ["experiment=structureflow_joint", *TINY_SF, *_tiny_nets(), "model.net.structure=image",
                                   "data.structures=null", f"model.loss.vgg_weights_path={vgg_file}", "debug=fdr"],
                         tmp_path / "run")
    with pytest.raises(ValueError, match="model.stage_weights.structure_weights"):
        train(cfg)


def test_rtv_training_without_structures_fails_clearly(tmp_path):
    cfg = compose_config("train", ["experiment=structureflow_flow", *TINY_SF, "data.structures=null",
                                   "model.loss.weights.correctness=0",
                                   *[o for o in _tiny_nets() if "structure_generator" not in o], "debug=fdr"],
                         tmp_path / "run")
    with pytest.raises(ValueError, match="data.structures.*inpaint-rtv"):
        train(cfg)
