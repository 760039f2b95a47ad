"""The offline evaluator: report files, per-bin values, the Input row, n/a LPIPS, model mode handling."""
import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from inpainting.eval.classical import telea
from inpainting.eval.evaluator import Evaluator, binned_metrics, table_values
from inpainting.eval.metrics import inpainting_scores

BINS = ["small", "large"]


class ToyPairs(Dataset):
    def __init__(self, n=5, size=32):
        g = torch.Generator().manual_seed(0)
        self.images = torch.rand(n, 3, size, size, generator=g)
        self.masks = torch.zeros(n, 1, size, size)
        self.bins = [i % 2 for i in range(n)]
        for i, b in enumerate(self.bins):
            self.masks[i, :, 4:12 + 12 * b, 6:20] = 1

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return {"image": self.images[i], "mask": self.masks[i], "bin": self.bins[i], "name": f"toy{i}"}


class Oracle(torch.nn.Module):
    """Returns the ground truth and records whether it was called in eval mode."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, image, mask):
        self.modes.append(self.training)
        return {"pred": image.clone(), "uncertainty": mask}


@pytest.fixture
def no_vgg(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "empty_hub"))


def test_report_files_and_values(tmp_path, no_vgg):
    data = ToyPairs()
    oracle = Oracle().train()
    evaluator = Evaluator(BINS, tmp_path / "out", lpips=True, progress=False)
    results = evaluator.run({"oracle": oracle, "telea": telea}, DataLoader(data, batch_size=2), title="toy")

    assert list(results) == ["Input", "oracle", "telea"]
    assert oracle.modes == [False, False, False] and oracle.training  # eval during the run, restored after
    assert results["oracle"]["psnr/overall"] == 100.0 and results["oracle"]["l1/large"] == 0.0
    assert results["telea"]["psnr/small"] > results["Input"]["psnr/small"]
    direct = inpainting_scores(torch.zeros_like(data.images), data.images, data.masks)["ssim"]
    assert results["Input"]["ssim/large"] == pytest.approx(direct[[1, 3]].mean().item())
    assert results["Input"]["count/small"] == 3
    assert results["telea"]["lpips/small"] == "n/a (weights missing: vgg16-397923af.pth)"

    out = tmp_path / "out"
    md = (out / "metrics.md").read_text()
    assert md.startswith("# toy") and "Protocol: composited output" in md and "| oracle " in md
    assert "## LPIPS (VGG) ↓\n\nn/a (weights missing: vgg16-397923af.pth) for every method and bin." in md
    assert [row[0] for row in csv.reader((out / "metrics.csv").open())] == ["method", "Input", "oracle", "telea"]
    assert json.loads((out / "metrics.json").read_text())["oracle"]["psnr/small"] == 100.0
    rows = list(csv.DictReader((out / "per_image.csv").open()))
    assert len(rows) == 15 and rows[5]["method"] == "oracle" and rows[5]["name"] == "toy0"
    assert rows[6]["bin"] == "large" and float(rows[6]["hole_ratio"]) == pytest.approx(data.masks[1].mean().item())
    grid = np.asarray(Image.open(out / "grid.png"))
    # 5 images; masked input, 2 x (output, composite), ground truth, oracle uncertainty
    assert grid.shape == (16 + 4 + 5 * (32 + 4), 4 + 7 * (32 + 4), 3)


def test_real_pairs_report(tmp_path, real_pairs, paper_bins):
    results = Evaluator(paper_bins, tmp_path, grid_rows=3, progress=False).run(telea, DataLoader(real_pairs, batch_size=None))
    assert np.asarray(Image.open(tmp_path / "grid.png")).shape[:2] == (16 + 4 + 3 * 260, 4 + 4 * 260)
    for bin_name in paper_bins:
        assert results["model"][f"psnr/{bin_name}"] > results["Input"][f"psnr/{bin_name}"]
    names = [row["name"] for row in csv.DictReader((tmp_path / "per_image.csv").open()) if row["method"] == "model"]
    assert names == [pair["name"][0] for pair in real_pairs]


def test_online_helpers_and_bad_batches(tmp_path, no_vgg):
    metric, unavailable = binned_metrics(BINS, lpips=True)
    assert unavailable == {"lpips": "n/a (weights missing: vgg16-397923af.pth)"}
    data = ToyPairs(n=2)
    metric.update(data.images, data.images, data.masks, [0, 1])
    values = table_values(metric.compute(), BINS, unavailable)
    assert values["psnr/small"] == 100.0 and values["lpips/overall"].startswith("n/a")
    with pytest.raises(KeyError, match="lacks \\['bin'\\]"):
        Evaluator(BINS, tmp_path, progress=False).run(telea, [{"image": data.images, "mask": data.masks}])
    with pytest.raises(TypeError, match="must return a tensor"):
        Evaluator(BINS, tmp_path, progress=False).run(lambda i, m: (i,), [{"image": data.images, "mask": data.masks, "bin": [0, 1]}])
