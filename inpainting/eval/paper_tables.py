"""Reported numbers of the papers' tables (``experiments/paper_tables/*.yaml``) for the tables' paper column.

Each YAML file holds ``values: {method: {metric: {bin: number | null}}}`` plus its provenance
(``paper``, ``table``, ``source``, ``dataset``, ``status``). ``null`` means "not filled in yet"; those
cells are left out, so the table writer shows no paper/Δ column for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import yaml

from inpainting.utils.resources import EXPERIMENTS_DIR

PAPER_TABLES_DIR = EXPERIMENTS_DIR / "paper_tables"


@dataclass(frozen=True)
class PaperTable:
    """One paper table: provenance and ``values[method]["<metric>/<bin>"]`` in our units (L1 as a fraction)."""

    path: Path
    paper: str
    table: int
    dataset: str | None
    source: str | None
    status: str | None
    bins: list[str]
    metrics: list[str]
    values: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        """Whether any reported number has been filled in."""
        return any(self.values.values())

    def paper_column(self, rename: Mapping[str, str] | None = None) -> dict[str, dict[str, float]]:
        """Values keyed by our table's row names (``rename``: paper row -> our row; other rows kept as is)."""
        rename = rename or {}
        return {rename.get(method, method): dict(cells) for method, cells in self.values.items() if cells}


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix != ".yaml":
        path = PAPER_TABLES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PAPER_TABLES_DIR.glob("*.yaml")) if PAPER_TABLES_DIR.is_dir() else []
        raise FileNotFoundError(f"paper table {name_or_path!r} not found at {path}; known tables: {known}")
    return path


def load_paper_table(name_or_path: str | Path) -> PaperTable:
    """Load e.g. ``"misf_table2"`` (from ``experiments/paper_tables``) or a YAML path; validates bins and metrics."""
    path = _resolve(name_or_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [key for key in ("paper", "table", "bins", "metrics", "values") if key not in data]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    bins, metrics = list(data["bins"]), list(data["metrics"])
    l1_scale = float(data.get("l1_scale", 1.0))
    values: dict[str, dict[str, float]] = {}
    for method, per_metric in (data["values"] or {}).items():
        cells: dict[str, float] = {}
        for metric, per_bin in (per_metric or {}).items():
            if metric not in metrics:
                raise ValueError(f"{path}: row {method!r} has metric {metric!r} not in {metrics}")
            for bin_name, number in (per_bin or {}).items():
                if bin_name not in bins:
                    raise ValueError(f"{path}: row {method!r} {metric} has bin {bin_name!r} not in {bins}")
                if number is not None:
                    cells[f"{metric}/{bin_name}"] = float(number) / (l1_scale if metric == "l1" else 1.0)
        values[str(method)] = cells
    return PaperTable(
        path=path,
        paper=str(data["paper"]),
        table=int(data["table"]),
        dataset=data.get("dataset"),
        source=data.get("source"),
        status=data.get("status"),
        bins=bins,
        metrics=metrics,
        values=values,
    )
