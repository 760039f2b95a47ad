"""LPIPS(VGG) loads its trunk from the torch hub folder only, and reports n/a when the file is absent."""
import pathlib

import pytest
import torch

from inpainting.eval.metrics import BinnedInpaintingMetrics
from inpainting.eval.perceptual import LpipsScorer, build_lpips_vgg, try_lpips_scorer
from inpainting.utils.weights import VGG16_WEIGHTS_FILE, WeightsMissingError


def test_missing_weights_give_na_and_a_clear_error(hub_dir):
    scorer, note = try_lpips_scorer()
    assert scorer is None and note == f"n/a (weights missing: {VGG16_WEIGHTS_FILE})"
    with pytest.raises(WeightsMissingError, match=str(hub_dir / "checkpoints" / VGG16_WEIGHTS_FILE)):
        build_lpips_vgg()


def test_trunk_from_hub_file_and_shipped_linear_heads(standin_vgg16):
    import lpips

    scorer, note = try_lpips_scorer()
    assert note is None and isinstance(scorer, LpipsScorer)
    net = scorer.model.net
    torch.testing.assert_close(net.slice1[0].weight, standin_vgg16["features.0.weight"], rtol=0, atol=0)
    torch.testing.assert_close(getattr(net.slice5, "28").bias, standin_vgg16["features.28.bias"], rtol=0, atol=0)
    heads = torch.load(pathlib.Path(lpips.__file__).parent / "weights/v0.1/vgg.pth", map_location="cpu", weights_only=True)
    torch.testing.assert_close(scorer.model.lin3.model[1].weight, heads["lin3.model.1.weight"], rtol=0, atol=0)

    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(2, 3, 32, 32, generator=g), torch.rand(2, 3, 32, 32, generator=g)
    values = scorer(a, b)
    assert values.shape == (2,) and (values > 0).all()
    torch.testing.assert_close(values, scorer.model(a, b, normalize=True).flatten().double())  # [0,1] -> [-1,1]
    assert scorer(a, a).abs().max().item() < 1e-6

    metric = BinnedInpaintingMetrics(["all"], extra_scorers={"lpips": scorer})
    mask = torch.ones(2, 1, 32, 32)  # all hole: the composite is the prediction itself
    metric.update(a, b, mask, [0, 0])
    assert metric.compute()["lpips/all"].item() == pytest.approx(values.mean().item(), rel=1e-6)


def test_a_file_that_is_not_vgg16_is_rejected(hub_dir):
    path = hub_dir / "checkpoints" / VGG16_WEIGHTS_FILE
    path.parent.mkdir(parents=True)
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, path)
    with pytest.raises(KeyError, match="not a torchvision VGG16 state dict"):
        build_lpips_vgg()
