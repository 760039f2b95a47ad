"""Table specs: ``experiments/tables/<table>.yaml`` read into :class:`TableSpec` (rows, datasets, paper table).

A row maps one row of a paper table (named as the paper prints it; any text) to an ``experiment=``
config, or is ``pending`` with the reason, or is the ``Input`` row of another row's job (``input_of``).
``needs`` wires stage rows: ``{<key under model.stage_weights, or a full model.* key>: <row id>}``; a dependent row loads
the checkpoint its stage row reported. Top-level keys this module does not use (e.g. ``claims``) are left
to their readers; a row key it does not know is an error (a typo would otherwise change nothing silently).
"""
from __future__ import annotations

import dataclasses
import pathlib
from typing import Iterable, Mapping, Sequence

import yaml

from inpainting.utils.resources import EXPERIMENTS_DIR

TABLES_DIR = EXPERIMENTS_DIR / "tables"
ROW_KEYS = {"id", "name", "experiment", "overrides", "needs", "paper_row", "pending", "show", "input_of", "released"}


class SpecError(ValueError):
    """A table spec that cannot be run as written (the message names the file and the row)."""


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of a table spec."""

    id: str
    name: str
    experiment: str | None = None
    overrides: tuple[str, ...] = ()
    needs: Mapping[str, str] = dataclasses.field(default_factory=dict)  # stage_weights key -> row id
    paper_row: str | None = None  # the paper table's row; defaults to ``name`` when the paper has it
    pending: str | None = None
    show: bool = True
    input_of: str | None = None  # a row id: this row is that job's "Input" row (the masked input itself)
    # the authors' weight files: {override key: {paper dataset: file name under weights=<dir>}}
    released: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)

    @property
    def runnable(self) -> bool:
        return bool(self.experiment) and not self.pending


@dataclasses.dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    kind: str  # metrics | timing
    paper_table: str | None
    rows: tuple[Row, ...]
    raw: Mapping  # the whole file (timing settings, claims, ...)
    datasets: Mapping[str, str] = dataclasses.field(default_factory=dict)  # paper column -> data config


def table_names() -> list[str]:
    return sorted(p.stem for p in TABLES_DIR.glob("*.yaml"))


def _row(entry: Mapping, path: pathlib.Path, paper_rows: Sequence[str] | None, paper_table: str | None) -> Row:
    unknown = set(entry) - ROW_KEYS
    if unknown:
        raise SpecError(f"{path}: row {entry.get('name')!r} has unknown keys {sorted(unknown)}; known: {sorted(ROW_KEYS)}")
    if not (entry.get("experiment") or entry.get("pending") or entry.get("input_of")):
        raise SpecError(f"{path}: row {entry.get('name')!r} needs `experiment`, `input_of` or `pending` (the reason)")
    name = str(entry["name"])
    paper_row = entry.get("paper_row") or (name if paper_rows and name in paper_rows else None)
    if paper_row and paper_rows is not None and paper_row not in paper_rows:
        raise SpecError(f"{path}: row {name!r}: paper row {paper_row!r} is not in {paper_table} ({paper_rows})")
    return Row(id=str(entry.get("id") or name), name=name, experiment=entry.get("experiment"),
               overrides=tuple(entry.get("overrides") or ()), needs=dict(entry.get("needs") or {}),
               paper_row=paper_row, pending=entry.get("pending"), show=bool(entry.get("show", True)),
               input_of=entry.get("input_of"), released=dict(entry.get("released") or {}))


def load_spec(name: str) -> TableSpec:
    """Read ``experiments/tables/<name>.yaml`` and check its rows (known keys, unique ids, known dependencies)."""
    path = TABLES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise SpecError(f"unknown table {name!r}: no {path}; known tables: {', '.join(table_names())}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    paper_rows = None
    if data.get("paper_table"):
        from inpainting.eval.paper_tables import load_paper_table

        paper_rows = load_paper_table(data["paper_table"]).row_names
    rows = [_row(entry, path, paper_rows, data.get("paper_table")) for entry in data.get("rows") or []]
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise SpecError(f"{path}: duplicate row ids {sorted({i for i in ids if ids.count(i) > 1})}")
    for row in rows:
        unknown = (set(row.needs.values()) | ({row.input_of} if row.input_of else set())) - set(ids)
        if unknown:
            raise SpecError(f"{path}: row {row.name!r} needs unknown rows {sorted(unknown)}")
    return TableSpec(name, str(data.get("title", name)), str(data.get("kind", "metrics")), data.get("paper_table"),
                     tuple(rows), data, dict(data.get("datasets") or {}))


def select_rows(rows: Sequence[Row], wanted: Iterable[str] | None) -> list[Row]:
    """Rows named (by id or name) in ``wanted``, plus the rows they need, in spec order; all when empty."""
    wanted = list(wanted or [])
    if not wanted:
        return list(rows)
    by_key = {r.id: r for r in rows} | {r.name: r for r in rows}
    unknown = [w for w in wanted if w not in by_key]
    if unknown:
        raise SpecError(f"unknown rows {unknown}; rows: {[r.id for r in rows]}")
    keep = {by_key[w].id for w in wanted}
    keep |= {by_key[w].input_of for w in wanted if by_key[w].input_of}
    while needed := {dep for r in rows if r.id in keep for dep in r.needs.values()} - keep:
        keep |= needed
    return [r for r in rows if r.id in keep]


def phases(rows: Sequence[Row]) -> list[list[Row]]:
    """Runnable rows in dependency order: phase k needs only rows of earlier phases."""
    todo = [r for r in rows if r.runnable]
    done: set[str] = set()
    ordered = []
    while todo:
        ready = [r for r in todo if set(r.needs.values()) <= done]
        if not ready:
            raise SpecError(f"circular or pending dependencies among rows {[r.id for r in todo]}")
        ordered.append(ready)
        done |= {r.id for r in ready}
        todo = [r for r in todo if r.id not in done]
    return ordered
