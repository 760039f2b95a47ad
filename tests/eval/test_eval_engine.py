"""The evaluation engine: per-bin rows, the Input row, n/a texts, results.json, scoring saved outputs."""
import csv
import json

import pytest
import torch

from inpainting.data.io import DataError
from inpainting.eval.classical import telea
from inpainting.eval.engine import INPUT_ROW, MetricOptions, Scorer, save_outputs, score_batch, score_folders
from inpainting.eval.metrics import inpainting_scores
from inpainting.eval.report import write_report
from inpainting.utils.composite import composite

EDGES = [0.0, 0.3, 0.8]  # bins "0-30%" and "30-80%"
BINS = ["0-30%", "30-80%"]
NO_LPIPS_NOTE = "n/a (weights missing: vgg16-397923af.pth)"


def toy_pairs(n=5, size=32, seed=0):
    """Images from uint8 levels (as the datasets make them), masks 1 = hole in bin i % 2, names."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, size, size), generator=g).float() / 255
    masks = torch.zeros(n, 1, size, size)
    for i in range(n):
        masks[i, :, : 8 + 12 * (i % 2), :] = 1  # 25 % or 62.5 % holes
    return {"image": images, "mask": masks, "bin": torch.tensor([i % 2 for i in range(n)]),
            "name": [f"toy{i}" for i in range(n)]}


@pytest.fixture
def no_vgg(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "empty_hub"))


def test_rows_bins_and_the_report_files(tmp_path, no_vgg):
    batch = toy_pairs()
    scorer = Scorer(EDGES, [INPUT_ROW, "oracle"], MetricOptions(lpips=True))
    score_batch(scorer, "oracle", batch["image"].clone(), batch)
    results = scorer.compute()
    assert results.bins == BINS and results.counts == {"0-30%": 3, "30-80%": 2, "overall": 5}
    assert results.table["oracle"]["psnr/overall"] == 100.0 and results.table["oracle"]["l1/30-80%"] == 0.0
    direct = inpainting_scores(torch.zeros_like(batch["image"]), batch["image"], batch["mask"])["ssim"]
    assert results.table[INPUT_ROW]["ssim/30-80%"] == pytest.approx(direct[[1, 3]].mean().item())
    assert results.table["oracle"]["lpips/0-30%"] == NO_LPIPS_NOTE

    paths = write_report(results, tmp_path, "toy", checkpoint=str(tmp_path / "checkpoints/x.ckpt"), method="oracle",
                         job={"experiment": "demo", "table": None, "row": None})
    md = paths["markdown"].read_text()
    assert md.startswith("# toy: test metrics") and "Images per bin: 0-30%: 3, 30-80%: 2, overall: 5." in md
    assert f"## LPIPS (VGG) ↓\n\n{NO_LPIPS_NOTE} for every method and bin." in md
    with paths["csv"].open() as handle:
        rows = {row["method"]: row for row in csv.DictReader(handle)}
    assert list(rows) == [INPUT_ROW, "oracle"]
    assert float(rows["oracle"]["psnr/0-30%"]) == 100.0 and rows["oracle"]["lpips/0-30%"] == ""  # numbers only
    saved = json.loads(paths["results"].read_text())
    assert saved == {
        "schema": 1, "run_name": "toy", "checkpoint": "checkpoints/x.ckpt", "bins": [*BINS, "overall"],
        "counts": {"0-30%": 3, "30-80%": 2, "overall": 5},
        "methods": {row: {m: {b: results.table[row][f"{m}/{b}"] if m != "lpips" else None for b in [*BINS, "overall"]}
                          for m in ("psnr", "ssim", "l1", "lpips")} for row in (INPUT_ROW, "oracle")},
        "notes": {"lpips": NO_LPIPS_NOTE}, "excluded": [],
        "method": "oracle", "experiment": "demo", "table": None, "row": None,  # what the job is (reproduce reads it)
    }
    with paths["per_image"].open() as handle:
        per_image = list(csv.DictReader(handle))
    assert [r["name"] for r in per_image] == batch["name"] and per_image[1]["bin"] == "30-80%"


def test_row_names_are_free_text_dots_included():
    """Method names are table rows (e.g. JPGNet-RFRNet-N.F., Telea-v1.0): any text works as a row."""
    batch = toy_pairs()
    rows = [INPUT_ROW, "JPGNet-RFRNet-N.F.", "Telea-v1.0"]
    scorer = Scorer(EDGES, rows)
    scorer.update({"JPGNet-RFRNet-N.F.": batch["image"].clone(), "Telea-v1.0": torch.zeros_like(batch["image"])},
                  batch["image"], batch["mask"], batch["bin"])
    table = scorer.compute().table
    assert list(table) == rows and table["JPGNet-RFRNet-N.F."]["psnr/overall"] == 100.0
    assert table["Telea-v1.0"]["psnr/overall"] < 100.0
    with pytest.raises(ValueError, match="distinct"):
        Scorer(EDGES, [INPUT_ROW, "m", "m"])


def test_an_empty_bin_gives_null_not_a_number(tmp_path):
    batch = toy_pairs(n=1)  # only bin 0-30%
    scorer = Scorer(EDGES, [INPUT_ROW, "m"])
    score_batch(scorer, "m", batch["image"], batch)
    saved = json.loads(write_report(scorer.compute(), tmp_path, "r")["results"].read_text())
    assert saved["counts"]["30-80%"] == 0 and saved["methods"]["m"]["psnr"]["30-80%"] is None
    assert saved["checkpoint"] is None


def test_real_pairs_telea_beats_the_input_row(real_pairs, paper_bins):
    scorer = Scorer([0.0, 0.2, 0.4, 0.6], [INPUT_ROW, "telea"])
    for pair in real_pairs:
        score_batch(scorer, "telea", telea(pair["image"], pair["mask"]), pair)
    table = scorer.compute().table
    for bin_name in paper_bins:
        assert table["telea"][f"psnr/{bin_name}"] > table[INPUT_ROW][f"psnr/{bin_name}"] + 1.0


def test_saved_outputs_score_to_the_same_tables(tmp_path, no_vgg):
    batch = toy_pairs(n=6)
    torch.manual_seed(0)
    pred = (batch["image"] + 0.3 * torch.randn_like(batch["image"])).clamp(-0.1, 1.1)  # out of range on purpose
    online = Scorer(EDGES, [INPUT_ROW, "net"], {"lpips": True})
    score_batch(online, "net", pred, batch)
    expected = online.compute()
    save_outputs(tmp_path / "out", batch["name"], composite(pred, batch["image"], batch["mask"]), batch["image"], batch["mask"])

    scored = score_folders(tmp_path / "out/predictions", tmp_path / "out/images", tmp_path / "out/masks", EDGES, "net",
                           {"lpips": True}, batch_size=4)
    assert scored.counts == expected.counts
    for row in (INPUT_ROW, "net"):
        assert scored.table[row].keys() == expected.table[row].keys()
        for key, value in expected.table[row].items():
            assert scored.table[row][key] == (value if isinstance(value, str) else pytest.approx(value, rel=1e-12)), key
    a, b = write_report(expected, tmp_path / "a", "r"), write_report(scored, tmp_path / "b", "r")
    assert a["markdown"].read_text() == b["markdown"].read_text() and a["csv"].read_text() == b["csv"].read_text()


def test_saved_outputs_must_pair_and_fall_in_a_bin(tmp_path):
    batch = toy_pairs(n=2)
    out = tmp_path / "out"
    save_outputs(out, batch["name"], batch["image"], batch["image"], batch["mask"])
    (out / "images/toy1.png").unlink()
    with pytest.raises(FileNotFoundError, match="no file for 1 predictions, e.g. \\['toy1'\\]"):
        score_folders(out / "predictions", out / "images", out / "masks", EDGES, "m")
    (out / "predictions/toy1.tiff").unlink()
    with pytest.raises(DataError, match="toy0.png: hole ratio 0.2500 lies in no bin"):
        score_folders(out / "predictions", out / "images", out / "masks", [0.5, 0.9], "m")


def test_saved_outputs_follow_predicts_size_rule(tmp_path):
    """A mask of another size is resized to its image (as inpaint-predict does); a prediction must have its image's size."""
    from PIL import Image

    batch = toy_pairs(n=2)
    out = tmp_path / "out"
    save_outputs(out, batch["name"], batch["image"], batch["image"], batch["mask"])
    expected = score_folders(out / "predictions", out / "images", out / "masks", EDGES, "m")
    for name in batch["name"]:  # masks at twice the size: the same holes once resized (nearest)
        mask = Image.open(out / f"masks/{name}.png")
        mask.resize((mask.width * 2, mask.height * 2), Image.NEAREST).save(out / f"masks/{name}.png")
    resized = score_folders(out / "predictions", out / "images", out / "masks", EDGES, "m")
    assert resized.counts == expected.counts and resized.table["m"] == pytest.approx(expected.table["m"])
    image = Image.open(out / "images/toy0.png")
    image.resize((image.width + 2, image.height)).save(out / "images/toy0.png")
    with pytest.raises(DataError, match=r"toy0.tiff: prediction of \d+x\d+, its image .*toy0.png"):
        score_folders(out / "predictions", out / "images", out / "masks", EDGES, "m")


def test_several_prediction_folders_make_one_table(tmp_path):
    batch = toy_pairs(n=4)
    torch.manual_seed(0)
    noisy = composite((batch["image"] + 0.2 * torch.randn_like(batch["image"])).clamp(0, 1), batch["image"], batch["mask"])
    save_outputs(tmp_path / "good", batch["name"], batch["image"], batch["image"], batch["mask"])
    save_outputs(tmp_path / "bad", batch["name"], noisy, batch["image"], batch["mask"])
    both = score_folders({"good": tmp_path / "good/predictions", "bad": tmp_path / "bad/predictions"},
                         tmp_path / "good/images", tmp_path / "good/masks", EDGES)
    assert list(both.table) == [INPUT_ROW, "good", "bad"]
    alone = score_folders(tmp_path / "bad/predictions", tmp_path / "good/images", tmp_path / "good/masks", EDGES, "bad")
    assert both.table["bad"] == pytest.approx(alone.table["bad"])
    assert both.table["good"]["psnr/overall"] > both.table["bad"]["psnr/overall"] + 3
    (tmp_path / "bad/predictions/toy3.tiff").unlink()
    with pytest.raises(DataError, match="hold different names, e.g. \\['toy3'\\]"):
        score_folders({"good": tmp_path / "good/predictions", "bad": tmp_path / "bad/predictions"},
                      tmp_path / "good/images", tmp_path / "good/masks", EDGES)
