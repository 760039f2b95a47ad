"""The papers' numbers shipped in experiments/paper_tables equal the transcription, cell for cell."""
import csv

import pytest

from inpainting.eval.paper_tables import PAPER_TABLES_DIR, known_tables, load_paper_table
from tests.conftest import shared_path

# the two papers' tables, checked against the transcription; a table a user adds is loaded, not checked here
TRANSCRIBED = [f"{paper}_table{n}" for paper in ("misf", "jpgnet") for n in (2, 3, 4)]


def test_every_table_ships_and_loads():
    assert set(TRANSCRIBED) <= set(known_tables())
    for name in known_tables():
        table = load_paper_table(name)
        assert table.paper and table.row_names, name
    assert all(load_paper_table(name).paper.startswith(("MISF", "JPGNet")) for name in TRANSCRIBED)


def test_every_value_equals_the_transcription():
    path = shared_path("spec", "paper-tables.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        cells = list(csv.DictReader(handle))
    assert len(cells) == 617
    tables = {name: load_paper_table(name) for name in TRANSCRIBED}
    for cell in cells:
        table = tables[f"{cell['paper'].lower()}_table{cell['table']}"]
        scale = table.l1_scale if cell["metric"] == "l1" else 1.0
        got = table.cell(cell["row"], cell["metric"], cell["dataset"], cell["bin"])
        assert got == pytest.approx(float(cell["value"]) / scale, rel=1e-12), cell
    # and nothing more: every non-empty cell of the files is one line of the transcription
    filled = sum(
        v is not None
        for t in tables.values()
        for per_metric in t.rows.values()
        for per_dataset in per_metric.values()
        for per_bin in per_dataset.values()
        for v in per_bin.values()
    )
    assert filled == len(cells)


def test_rows_units_and_empty_cells():
    misf2 = load_paper_table("misf_table2")
    assert misf2.row_names == ["PConv", "StructFlow", "EdgeConnect", "RFRNet", "JPGNet", "CTSDG", "MISF"]
    assert misf2.cell("MISF", "psnr", "Places2", "0-20%") == 31.335
    assert misf2.cell("MISF", "l1", "Places2", "0-20%") == pytest.approx(0.00726)  # printed in percent
    assert misf2.cell("PConv", "lpips", "Places2", "0-20%") is None  # the paper leaves it empty
    assert misf2.cell("CTSDG", "psnr", "Dunhuang", "default") is None
    misf3 = load_paper_table("misf_table3")
    assert misf3.row_names == ["Img-Filter", "Sem-Filter", "MISF", "En-decoder-Filter", "En-decoder"]
    misf4 = load_paper_table("misf_table4")
    assert misf4.datasets == ["CelebA"] and misf4.row_names == ["Sem-Filter(F1)", "Sem-Filter(F2)", "Sem-Filter(F3)"]
    jpg2 = load_paper_table("jpgnet_table2")
    assert jpg2.metrics == ["psnr", "ssim"] and jpg2.columns["Dunhuang"] == ["default"]
    jpg3 = load_paper_table("jpgnet_table3")
    assert jpg3.row_names[:2] == ["Input", "Predictive Filtering"] and len(jpg3.row_names) == 8
    jpg4 = load_paper_table("jpgnet_table4")
    assert jpg4.kind == "timing" and jpg4.cell("JPGNet-EdgeConnect", "total_ms", "Places2", "default") == 23.14
    assert misf2.values("MISF", "Dunhuang") == {"psnr/default": 38.383, "ssim/default": 0.9735,
                                                 "l1/default": pytest.approx(0.00341), "lpips/default": 0.0330}


def test_bad_files_fail_clearly(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text('paper: "X"\ntable: 2\nmetrics: [psnr]\ncolumns: {CelebA: ["0-20%", "20-40%"]}\n'
                    'rows:\n  A:\n    psnr: {CelebA: [30.0]}\n')
    with pytest.raises(ValueError, match=r"1 values for bins \['0-20%', '20-40%'\]"):
        load_paper_table(path)
    with pytest.raises(FileNotFoundError, match="known tables: .*misf_table2"):
        load_paper_table("misf_table9")
    with pytest.raises(KeyError, match="rows \\['A'\\]"):
        path.write_text(path.read_text().replace("[30.0]", "[30.0, null]"))
        load_paper_table(path).cell("B", "psnr", "CelebA", "0-20%")
    assert PAPER_TABLES_DIR.name == "paper_tables"
