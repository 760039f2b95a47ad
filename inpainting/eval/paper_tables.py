"""The papers' reported numbers (``experiments/paper_tables/<name>.yaml``), for the paper column of our tables.

A file holds one paper table: ``columns`` (dataset -> bins in the paper's column order, ``default`` for
Dunhuang's single column), ``metrics``, and ``rows[row][metric][dataset]`` = one value per bin, as the
paper prints it; ``null`` means the paper leaves that cell empty. ``l1_scale`` says how the paper
prints L1 relative to our fraction of [0,1] (MISF: 100, percent); the loader divides it back, so every
value a ``PaperTable`` returns is in our units.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from inpainting.utils.resources import EXPERIMENTS_DIR

PAPER_TABLES_DIR = EXPERIMENTS_DIR / "paper_tables"
EMPTY = "—"  # how a cell the paper leaves empty is shown


@dataclass(frozen=True)
class PaperTable:
    name: str
    path: Path
    paper: str
    table: int
    title: str
    kind: str  # metrics | timing
    metrics: list[str]
    columns: dict[str, list[str]]  # dataset -> bins
    notes: list[str]
    l1_scale: float = 1.0
    rows: dict[str, dict[str, dict[str, dict[str, float | None]]]] = field(default_factory=dict)  # row/metric/dataset/bin

    @property
    def datasets(self) -> list[str]:
        return list(self.columns)

    @property
    def row_names(self) -> list[str]:
        return list(self.rows)

    def cell(self, row: str, metric: str, dataset: str, bin_name: str) -> float | None:
        """The reported value in our units, or None where the paper leaves the cell empty."""
        try:
            return self.rows[row][metric][dataset][bin_name]
        except KeyError:
            raise KeyError(
                f"{self.name}: no cell row={row!r} metric={metric!r} dataset={dataset!r} bin={bin_name!r}; "
                f"rows {self.row_names}, metrics {self.metrics}, columns {self.columns}"
            ) from None

    def values(self, row: str, dataset: str) -> dict[str, float | None]:
        """``{"<metric>/<bin>": value}`` of one row on one dataset (None = empty in the paper)."""
        return {
            f"{metric}/{bin_name}": self.rows[row][metric][dataset][bin_name]
            for metric in self.metrics
            for bin_name in self.columns[dataset]
        }


def known_tables() -> list[str]:
    return sorted(p.stem for p in PAPER_TABLES_DIR.glob("*.yaml"))


def _resolve(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix != ".yaml":
        path = PAPER_TABLES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"paper table {name_or_path!r} not found at {path}; known tables: {known_tables()}")
    return path


def load_paper_table(name_or_path: str | Path) -> PaperTable:
    """Load e.g. ``"misf_table2"`` or a YAML path; every row must give one value (or null) per bin."""
    path = _resolve(name_or_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [key for key in ("paper", "table", "metrics", "columns", "rows") if key not in data]
    if missing:
        raise ValueError(f"{path}: missing keys {missing}")
    metrics = list(data["metrics"])
    columns = {str(d): [str(b) for b in bins] for d, bins in data["columns"].items()}
    l1_scale = float(data.get("l1_scale", 1.0))
    rows: dict = {}
    for row, per_metric in data["rows"].items():
        if set(per_metric) != set(metrics):
            raise ValueError(f"{path}: row {row!r} has metrics {sorted(per_metric)}, expected {sorted(metrics)}")
        rows[str(row)] = {}
        for metric, per_dataset in per_metric.items():
            if set(per_dataset) != set(columns):
                raise ValueError(f"{path}: row {row!r} {metric}: datasets {sorted(per_dataset)}, expected {sorted(columns)}")
            scale = l1_scale if metric == "l1" else 1.0
            rows[str(row)][metric] = {}
            for dataset, values in per_dataset.items():
                if len(values) != len(columns[dataset]):
                    raise ValueError(f"{path}: row {row!r} {metric} {dataset}: {len(values)} values for bins {columns[dataset]}")
                rows[str(row)][metric][dataset] = {
                    b: None if v is None else float(v) / scale for b, v in zip(columns[dataset], values)
                }
    return PaperTable(
        name=path.stem,
        path=path,
        paper=str(data["paper"]),
        table=int(data["table"]),
        title=str(data.get("title", "")),
        kind=str(data.get("kind", "metrics")),
        metrics=metrics,
        columns=columns,
        notes=[str(n) for n in data.get("notes") or []],
        l1_scale=l1_scale,
        rows=rows,
    )
