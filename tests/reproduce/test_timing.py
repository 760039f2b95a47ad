"""Module timing (JPGNet Table 4 layout) at a tiny size, directly and through `reproduce table=jpgnet_table4`."""
from __future__ import annotations

import csv
import re

import pytest

from inpainting import reproduce
from inpainting.cli import timing
from inpainting.utils.resources import compose


def test_timing_reports_the_four_modules_with_shares_and_the_machine(capsys):
    timing.run(compose("timing", ["device=cpu", "image_size=32", "warmup=0", "repeats=1"]))
    text = capsys.readouterr().out
    for label in ("PFUNet", "DGNet (EdgeConnect G1+G2)", "UAFNet", "JPGNet total", "MISF"):
        assert f"| {label} |" in text or f"| **{label}** |" in text, label
    shares = [float(s) for s in re.findall(r"\| ([0-9.]+) % \|", text)]
    assert len(shares) == 4 and shares[3] == 100 and abs(sum(shares[:3]) - 100) < 0.2  # 3 parts + the total row
    assert "Random weights" in text and "torch threads: 1" in text and "CPU:" in text


def test_timing_table_goes_through_the_report_with_the_papers_column(tmp_path):
    md = reproduce.reproduce("jpgnet_table4", "demo", ["image_size=32", "repeats=1"], out_dir=str(tmp_path)).report
    assert md == tmp_path / "jpgnet_table4_demo.md"
    with md.with_suffix(".csv").open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    assert set(table) == {"JPGNet-StructFlow", "JPGNet-EdgeConnect", "JPGNet-RFRNet"}
    edge = table["JPGNet-EdgeConnect"]
    assert float(edge["total_ms/overall/paper"]) == 23.14  # the paper's first block
    parts = sum(float(edge[f"{p}_ms/overall"]) for p in ("pfunet", "uafnet", "dgnet"))
    assert float(edge["total_ms/overall"]) == pytest.approx(parts)
    assert float(edge["dgnet_rate/overall"]) + float(edge["pfunet_rate/overall"]) + float(edge["uafnet_rate/overall"]) == pytest.approx(100)
    with pytest.raises(reproduce.SpecError, match="unknown timing option"):
        reproduce.reproduce("jpgnet_table4", "demo", ["size=32"], out_dir=str(tmp_path))


def test_sizes_the_kpn_cannot_take_are_refused():
    with pytest.raises(ValueError, match="multiple of 16"):
        timing.time_modules(image_size=40, repeats=1)


def test_each_dgnet_of_the_group_gets_a_row_with_its_jpgnet_total(capsys):
    timing.run(compose("timing", ["device=cpu", "image_size=32", "warmup=0", "repeats=1", "dgnets=[telea,ns]"]))
    text = capsys.readouterr().out
    for name in ("telea", "ns"):
        row = next(line for line in text.splitlines() if line.startswith(f"| DGNet {name} |"))
        assert re.search(r"JPGNet [0-9.]+ ms, [0-9.]+ % \|$", row), row
    assert {"edgeconnect", "telea", "ns"} <= set(timing.dgnet_options()) and timing.dgnet_options()[0] == "edgeconnect"
    with pytest.raises(ValueError, match="unknown DGNet 'lama'"):
        timing.build_dgnet("lama")
