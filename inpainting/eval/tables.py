"""Metric tables (markdown for reading, CSV for machines): rows = methods, columns = metric x bin.

Inputs use the flat keys of ``BinnedInpaintingMetrics.compute()``: ``{"psnr/0-20%": 27.3, ...}``
per method. A value may be a string (e.g. ``"n/a (weights missing: vgg16-397923af.pth)"``), which
is written as is. Optional paper values (same keys, per method) add a ``paper`` and a ``Δ``
(ours - paper) column after every bin that has a paper value for that metric.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from inpainting.utils.atomic import atomic_path, write_text

Value = float | int | str | None
MethodValues = Mapping[str, Value]
OVERALL = "overall"
MISSING = "-"


@dataclass(frozen=True)
class MetricFormat:
    """How one metric is titled and printed."""

    title: str
    decimals: int
    higher_is_better: bool


METRIC_FORMATS: dict[str, MetricFormat] = {
    "psnr": MetricFormat("PSNR (dB)", 2, True),
    "ssim": MetricFormat("SSIM", 4, True),
    "l1": MetricFormat("L1", 4, False),
    "lpips": MetricFormat("LPIPS (VGG)", 4, False),
    "fid": MetricFormat("FID", 2, False),
    # JPGNet Table 4 (time per image of each part and its share of the total), in the paper's column order
    **{f"{part}_{kind}": MetricFormat(f"{label} {'ms / image' if kind == 'ms' else 'share of the total (%)'}", 2, kind == "rate")
       for part, label in (("pfunet", "PFUNet"), ("uafnet", "UAFNet"), ("dgnet", "DGNet"), ("total", "Total"))
       for kind in ("ms", "rate")},
}


def _format_of(metric: str) -> MetricFormat:
    return METRIC_FORMATS.get(metric, MetricFormat(metric, 4, True))


def _number(value: Value) -> float | None:
    """The value as a float, or None for missing / textual (n/a) / NaN entries."""
    if value is None or isinstance(value, str):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _cell(value: Value, decimals: int, signed: bool = False) -> str:
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    number = float(value)
    sign = "+" if signed else ""
    return "nan" if math.isnan(number) else f"{number:{sign}.{decimals}f}"


def _diff(ours: Value, paper: Value) -> float | None:
    a, b = _number(ours), _number(paper)
    return None if a is None or b is None else a - b


def metrics_in(results: Mapping[str, MethodValues]) -> list[str]:
    """Metrics present in the results, known ones first in the usual paper order."""
    found = {key.split("/", 1)[0] for values in results.values() for key in values if "/" in key}
    found.discard("count")
    return [m for m in METRIC_FORMATS if m in found] + sorted(found - set(METRIC_FORMATS))


@dataclass(frozen=True)
class _Column:
    key: str  # "<metric>/<bin>"
    label: str
    kind: str  # "ours" | "paper" | "diff"


def _columns(metric: str, bins: Sequence[str], paper: Mapping[str, MethodValues]) -> list[_Column]:
    columns = []
    for bin_name in list(bins) + [OVERALL]:
        key = f"{metric}/{bin_name}"
        columns.append(_Column(key, bin_name, "ours"))
        if any(_number(values.get(key)) is not None for values in paper.values()):
            columns += [_Column(key, "paper", "paper"), _Column(key, "Δ", "diff")]
    return columns


def _value(column: _Column, ours: MethodValues, paper: MethodValues) -> Value:
    if column.kind == "ours":
        return ours.get(column.key)
    if column.kind == "paper":
        return paper.get(column.key)
    return _diff(ours.get(column.key), paper.get(column.key))


def _markdown_block(rows: list[list[str]], numeric_from: int = 1) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for r, row in enumerate(rows):
        cells = [cell.ljust(w) if i < numeric_from else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("| " + " | ".join(cells) + " |")
        if r == 0:
            lines.append("|" + "|".join(":" + "-" * (w + 1) if i < numeric_from else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|")
    return "\n".join(lines)


def _image_counts(results: Mapping[str, MethodValues], bins: Sequence[str]) -> str | None:
    for values in results.values():
        counts = [f"{b}: {int(values[f'count/{b}'])}" for b in list(bins) + [OVERALL] if f"count/{b}" in values]
        if counts:
            return "Images per bin: " + ", ".join(counts) + "."
    return None


def markdown_table(
    results: Mapping[str, MethodValues],
    bins: Sequence[str],
    metrics: Sequence[str] | None = None,
    paper: Mapping[str, MethodValues] | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """A markdown report with one aligned table per metric (rows = methods, columns = bins + overall)."""
    paper = paper or {}
    metrics = list(metrics) if metrics is not None else metrics_in(results)
    parts = [f"# {title}"] if title else []
    counts = _image_counts(results, bins)
    parts += [note for note in [counts, *notes] if note]
    for metric in metrics:
        fmt = _format_of(metric)
        columns = _columns(metric, bins, paper)
        raw = {method: [_value(c, values, paper.get(method, {})) for c in columns] for method, values in results.items()}
        arrow = "↑" if fmt.higher_is_better else "↓"
        parts.append(f"## {fmt.title} {arrow}")
        texts = {value for cells in raw.values() for value in cells}
        if len(texts) == 1 and isinstance(next(iter(texts)), str):  # e.g. n/a everywhere: say it once
            parts.append(f"{next(iter(texts))} for every method and bin.")
            continue
        rows = [["method"] + [c.label for c in columns]]
        for method, cells in raw.items():
            rows.append([method] + [_cell(v, fmt.decimals, c.kind == "diff") for v, c in zip(cells, columns)])
        parts.append(_markdown_block(rows))
    return "\n\n".join(parts) + "\n"


def csv_rows(
    results: Mapping[str, MethodValues],
    bins: Sequence[str],
    metrics: Sequence[str] | None = None,
    paper: Mapping[str, MethodValues] | None = None,
    numbers_only: bool = False,
) -> list[list[object]]:
    """Wide rows, header first: ``method, <metric>/<bin>[, <metric>/<bin>/paper, <metric>/<bin>/diff], ...``.

    With ``numbers_only`` the metric cells are numbers or empty (missing, n/a), so a reader never has to
    tell numbers from text."""
    paper = paper or {}
    metrics = list(metrics) if metrics is not None else metrics_in(results)
    columns = [c for metric in metrics for c in _columns(metric, bins, paper)]
    header = ["method"] + [c.key if c.kind == "ours" else f"{c.key}/{c.kind}" for c in columns]
    rows: list[list[object]] = [header]
    for method, values in results.items():
        cells = [_value(c, values, paper.get(method, {})) for c in columns]
        # numbers_only: a missing or n/a value is an empty cell (the markdown says why)
        rows.append([method] + ["" if v is None or (numbers_only and isinstance(v, str)) else v for v in cells])
    return rows


def write_tables(
    results: Mapping[str, MethodValues],
    out_stem: str | Path,
    bins: Sequence[str],
    metrics: Sequence[str] | None = None,
    paper: Mapping[str, MethodValues] | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
    numbers_only: bool = False,
    appendix: str = "",
) -> tuple[Path, Path]:
    """Write ``<out_stem>.md`` (the tables, then ``appendix``) and ``<out_stem>.csv`` (see :func:`csv_rows` for
    ``numbers_only``); returns both paths."""
    out_stem = Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    md_path, csv_path = out_stem.with_suffix(".md"), out_stem.with_suffix(".csv")
    write_text(md_path, markdown_table(results, bins, metrics, paper, title, notes) + appendix)
    with atomic_path(csv_path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(csv_rows(results, bins, metrics, paper, numbers_only))
    return md_path, csv_path


def write_per_image_csv(rows: Sequence[Mapping[str, object]], path: str | Path) -> Path:
    """Write per-image rows (``BinnedInpaintingMetrics.per_image()``) to a CSV with a header."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(rows[0]) if rows else ["name", "bin", "hole_ratio"]
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path
