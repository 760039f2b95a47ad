"""The README's measured tables are the committed reports (inpainting.reproduce.readme)."""
from __future__ import annotations

import csv

import pytest

from inpainting.eval.claims import Comparison, read_comparisons_csv, write_comparisons_csv
from inpainting.reproduce import readme


def test_the_readmes_tables_are_the_committed_reports():
    stale = readme.sync(readme.ROOT / "README.md", readme.ROOT / "experiments" / "results", check=True)
    assert stale == [], "README blocks differ from experiments/results/: run `make readme-results`"
    assert len(readme.BLOCK.findall((readme.ROOT / "README.md").read_text(encoding="utf-8"))) >= 2


def _report(folder, rows, comparisons, ran="Ran 2026-12-07 10:00 UTC (end), 0 h 01 min 00 s wall for the whole table; machine: x."):
    folder.mkdir(exist_ok=True)
    (folder / "t_small.md").write_text(f"# t\n\n{ran}\n\n## results\n")
    with (folder / "t_small.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["dataset", "method", "psnr/0-20%", "psnr/overall", "ssim/0-20%", "status"])
        writer.writeheader()
        writer.writerows(rows)
    write_comparisons_csv(comparisons, folder / "t_small_claims.csv")


def _comparison(metric, bin_name, diff, low, high, verdict):
    return Comparison("c", "A", "B", metric, bin_name, 24, diff, low, high, verdict)


def test_a_block_is_rendered_from_the_reports_numbers_and_rewritten_only_when_stale(tmp_path):
    rows = [{"dataset": "", "method": "A", "psnr/0-20%": "30.456", "psnr/overall": "25.0", "ssim/0-20%": "0.9", "status": "ok"},
            {"dataset": "", "method": "B", "psnr/0-20%": "", "psnr/overall": "", "ssim/0-20%": "", "status": "failed"}]
    comparisons = [_comparison("psnr", "0-20%", 0.5, 0.2, 0.8, "holds"), _comparison("ssim", "0-20%", -0.01, -0.02, -0.001, "reversed"),
                   _comparison("lpips", "0-20%", None, None, None, "no scores")]
    _report(tmp_path, rows, comparisons)
    assert read_comparisons_csv(tmp_path / "t_small_claims.csv") == comparisons  # the CSV round trip is exact
    page = tmp_path / "README.md"
    page.write_text("intro\n<!-- results: t_small -->\nhand-typed 99.99\n<!-- /results -->\nend\n")
    assert readme.sync(page, tmp_path, check=True) == ["t_small"] and "99.99" in page.read_text()  # check changes nothing
    assert readme.sync(page, tmp_path) == ["t_small"]
    text = page.read_text()
    assert "99.99" not in text and text.startswith("intro\n") and text.endswith("<!-- /results -->\nend\n")
    assert "| A | 30.46 | 25.00 |" in text and "| B | **failed** | |" in text
    assert "0 h 01 min 00 s wall" in text
    # PSNR's difference per bin with its interval; the verdict over every metric: SSIM reversed it
    assert "| A − B | +0.500 [+0.200, +0.800] holds | **reversed** (1 held, 1 reversed, 0 not resolved of 2; no scores of lpips) |" in text
    assert readme.sync(page, tmp_path) == [] and readme.main(["--readme", str(page), "--results", str(tmp_path), "--check"]) == 0


def test_a_block_without_its_report_names_the_missing_file(tmp_path):
    page = tmp_path / "README.md"
    page.write_text("<!-- results: nowhere_small -->\n<!-- /results -->\n")
    with pytest.raises(FileNotFoundError, match="nowhere_small.md"):
        readme.sync(page, tmp_path)
