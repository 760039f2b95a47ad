"""Metric tables (markdown + CSV) and PNG result grids."""
import csv

import numpy as np
import pytest
import torch
from PIL import Image

from inpainting.eval.grid import grid_image, inpainting_columns, masked_input, save_grid
from inpainting.eval.tables import csv_rows, markdown_table, write_per_image_csv, write_tables

BINS = ["0-20%", "20-40%"]
RESULTS = {
    "Input": {"psnr/0-20%": 15.123, "psnr/20-40%": 9.5, "psnr/overall": 12.3, "ssim/0-20%": 0.71234, "l1/0-20%": 0.08,
              "count/0-20%": 3, "count/20-40%": 2, "count/overall": 5},
    "MISF": {"psnr/0-20%": 30.456, "psnr/20-40%": 25.0, "psnr/overall": 28.1, "ssim/0-20%": 0.97,
             "lpips/0-20%": "n/a (weights missing: vgg16-397923af.pth)"},
}
PAPER = {"MISF": {"psnr/0-20%": 30.0, "ssim/0-20%": None}}


def test_markdown_is_aligned_formatted_and_has_paper_diff():
    text = markdown_table(RESULTS, BINS, paper=PAPER, title="CelebA")
    assert text.startswith("# CelebA")
    assert "Images per bin: 0-20%: 3, 20-40%: 2, overall: 5." in text
    psnr_block = text.split("## PSNR (dB) ↑")[1].split("##")[0].strip().splitlines()
    assert len({len(line) for line in psnr_block}) == 1  # every line padded to the same width
    header = [c.strip() for c in psnr_block[0].strip("|").split("|")]
    assert header == ["method", "0-20%", "paper", "Δ", "20-40%", "overall"]  # paper columns only where a value exists
    misf = [c.strip() for c in psnr_block[3].strip("|").split("|")]
    assert misf == ["MISF", "30.46", "30.00", "+0.46", "25.00", "28.10"]
    inp = [c.strip() for c in psnr_block[2].strip("|").split("|")]
    assert inp == ["Input", "15.12", "-", "-", "9.50", "12.30"]
    assert "0.7123" in text and "| n/a (weights missing: vgg16-397923af.pth) |" in text
    assert text.index("## SSIM") < text.index("## L1") < text.index("## LPIPS")


def test_csv_is_wide_with_paper_and_diff(tmp_path):
    md, path = write_tables(RESULTS, tmp_path / "sub" / "table", BINS, metrics=["psnr", "lpips"], paper=PAPER)
    assert md.read_text().count("##") == 2
    rows = list(csv.reader(path.open()))
    assert rows[0][:5] == ["method", "psnr/0-20%", "psnr/0-20%/paper", "psnr/0-20%/diff", "psnr/20-40%"]
    misf = dict(zip(rows[0], rows[2]))
    assert float(misf["psnr/0-20%/diff"]) == pytest.approx(0.456)
    assert misf["lpips/0-20%"].startswith("n/a") and misf["lpips/20-40%"] == ""
    assert csv_rows(RESULTS, BINS, metrics=["l1"])[1] == ["Input", 0.08, "", ""]


def test_per_image_csv(tmp_path):
    path = write_per_image_csv([{"name": "a", "bin": "0-20%", "hole_ratio": 0.1, "psnr": 30.0}], tmp_path / "x.csv")
    assert list(csv.DictReader(path.open()))[0]["psnr"] == "30.0"


def test_grid_layout_and_pixels(tmp_path):
    image = torch.rand(3, 3, 16, 20)
    mask = torch.zeros(3, 1, 16, 20)
    mask[:, :, 4:8, 5:10] = 1
    pred = torch.zeros_like(image)
    columns = inpainting_columns(image, mask, pred, extra={"uncertainty": torch.rand(3, 1, 16, 20)})
    assert list(columns) == ["masked input", "output", "composite", "ground truth", "uncertainty"]
    assert torch.equal(masked_input(image, mask)[:, :, 5, 6], torch.ones(3, 3))
    path = save_grid(tmp_path / "g" / "grid.png", columns, max_rows=2)
    img = np.asarray(Image.open(path))
    assert img.shape == (16 + 4 + 2 * (16 + 4), 4 + 5 * (20 + 4), 3)
    # second column, first row is the all-black prediction
    assert (img[20:36, 28:48] == 0).all()
    # ground-truth tile holds the image, quantised by rounding
    expected = (image[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(img[20:36, 76:96], expected)


def test_grid_rejects_mismatched_columns():
    with pytest.raises(ValueError, match="differ"):
        grid_image({"a": torch.rand(1, 3, 8, 8), "b": torch.rand(1, 3, 8, 9)})
    with pytest.raises(ValueError, match="expected"):
        grid_image({"a": torch.rand(1, 2, 8, 8)})


def test_grid_enlarges_small_tiles_exactly():
    tile = torch.rand(1, 3, 8, 10)
    plain = np.asarray(grid_image({"a": tile}, titles=False))
    big = np.asarray(grid_image({"a": tile}, titles=False, min_tile=32))
    assert big.shape == (4 + 32 + 4, 4 + 40 + 4, 3)  # factor 4 on both sides, padding unchanged
    assert np.array_equal(big[4:36:4, 4:44:4], plain[4:12, 4:14])


def test_method_comparison_captions_each_tile_with_its_psnr():
    from inpainting.eval.grid import method_comparison
    from inpainting.eval.metrics import psnr_uint8, to_uint8_truncated
    from inpainting.utils.composite import composite

    torch.manual_seed(0)
    image, mask = torch.rand(2, 3, 16, 16), torch.zeros(2, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    ours, other = image + 0.05 * torch.randn_like(image), torch.zeros_like(image)
    columns, captions = method_comparison(image, mask, {"ours": ours, "Telea": other})
    assert list(columns) == ["masked input", "ours", "Telea", "ground truth"]
    expected = psnr_uint8(to_uint8_truncated(composite(ours.clamp(0, 1), image, mask)), to_uint8_truncated(image))
    assert 15 < float(expected.min()) and float(expected.max()) < 60  # the tables' dB scale
    assert captions["ours"] == [f"{float(v):.1f} dB" for v in expected] and "masked input" not in captions
    plain = np.asarray(grid_image(columns, min_tile=64))
    captioned = np.asarray(grid_image(columns, min_tile=64, captions=captions))
    assert plain.shape == captioned.shape and (plain != captioned).any()
