"""Paper-table YAML files load, validate, and feed the table writer's paper column."""
import pytest

from inpainting.eval.paper_tables import PAPER_TABLES_DIR, load_paper_table
from inpainting.eval.tables import markdown_table

SHIPPED = [f"{paper}_table{n}" for paper in ("misf", "jpgnet") for n in (2, 3, 4)]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_tables_load_with_their_structure(name):
    table = load_paper_table(name)
    assert table.bins == ["0-20%", "20-40%", "40-60%"]
    assert table.metrics == ["psnr", "ssim", "l1", "lpips"]
    assert table.values and table.paper.startswith(("MISF", "JPGNet"))
    if not table.available:  # an unfilled skeleton must say so
        assert table.status == "values not available offline; fill from the paper" and table.source is None


def test_filled_values_rename_and_l1_unit(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        'paper: "X"\ntable: 2\nsource: "p. 6, Table 2"\nl1_scale: 100\nbins: ["0-20%", "20-40%"]\nmetrics: [psnr, l1]\n'
        'values:\n  MISF:\n    psnr: {"0-20%": 30.0, "20-40%": null}\n    l1: {"0-20%": 0.5}\n  Other:\n    psnr: {"0-20%": null}\n'
    )
    table = load_paper_table(path)
    assert table.available and table.values["MISF"] == {"psnr/0-20%": 30.0, "l1/0-20%": 0.005}
    paper = table.paper_column({"MISF": "MISF (ours)"})
    assert paper == {"MISF (ours)": {"psnr/0-20%": 30.0, "l1/0-20%": 0.005}}
    text = markdown_table({"MISF (ours)": {"psnr/0-20%": 30.25, "psnr/20-40%": 25.0}}, table.bins, ["psnr"], paper=paper)
    assert "| MISF (ours) | 30.25 | 30.00 | +0.25 |  25.00 |" in text


def test_bad_files_fail_clearly(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text('paper: "X"\ntable: 2\nbins: ["0-20%"]\nmetrics: [psnr]\nvalues:\n  A:\n    psnr: {"0-30%": 1.0}\n')
    with pytest.raises(ValueError, match="bin '0-30%' not in"):
        load_paper_table(path)
    with pytest.raises(FileNotFoundError, match="known tables: .*misf_table2"):
        load_paper_table("misf_table9")
    assert PAPER_TABLES_DIR.name == "paper_tables"
