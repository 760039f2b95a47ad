"""Outcomes: what one job folder says (its ``status.json`` and ``results.json``), or why it has nothing."""
from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Mapping

from inpainting.eval.engine import INPUT_ROW
from inpainting.eval.report import RESULTS_FILE  # written by every run after testing (schema 1)
from inpainting.utils.run_folder import RunFolder


@dataclasses.dataclass
class Outcome:
    """What one row produced: ``values`` (flat ``<metric>/<bin>``) when ok, else an error."""

    status: str  # ok | failed | missing | pending | n/a
    values: dict = dataclasses.field(default_factory=dict)
    input_values: dict = dataclasses.field(default_factory=dict)
    classical_values: dict = dataclasses.field(default_factory=dict)  # row name -> values (TestReport's classical_rows)
    error: str | None = None
    job_dir: str | None = None
    checkpoint: str | None = None  # relative to job_dir: the checkpoint that was tested

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def failed(self) -> bool:
        """A row that should have produced numbers and did not (pending and n/a rows are known gaps)."""
        return self.status in ("failed", "missing")


def one_line(text: object, limit: int | None = 300) -> str:
    """An error message fit for a table cell: no colour codes, newlines or pipes; at most ``limit`` characters."""
    flat = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(text)).split()).replace("|", "/")
    return flat if limit is None or len(flat) <= limit else flat[: limit - 3] + "..."


def log_tail(job_dir: pathlib.Path, lines: int = 3) -> str | None:
    """The last lines of the job's logs (its train log, else what the process printed)."""
    for log in [*sorted(job_dir.glob("*.log"))]:
        text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        if text:
            return " | ".join(text[-lines:])
    return None


def flat_values(per_metric: Mapping[str, Mapping[str, float | None]], notes: Mapping[str, str]) -> dict:
    """``{metric: {bin: value}}`` of results.json as ``{"<metric>/<bin>": value or the note}``."""
    def note(metric: str) -> str:
        text = notes.get(metric, "not computed")
        return text if text.startswith("n/a") else f"n/a ({text})"

    return {f"{metric}/{b}": (v if v is not None else note(metric)) for metric, per_bin in per_metric.items() for b, v in per_bin.items()}


def collect_job(job_dir: str | pathlib.Path | None, row_id: str | None = None) -> Outcome:
    """Read one job folder: ok with its test metrics, or failed/missing with the error found. ``row_id``:
    the row the job was run for; the job's ``results.json`` must name the same (``reproduce.row``)."""
    if job_dir is None or not pathlib.Path(job_dir).is_dir():
        return Outcome("missing", error=f"no job folder{f' {job_dir}' if job_dir else ''}")
    job = pathlib.Path(job_dir)
    run = RunFolder(job)
    status = run.status()
    if status is not None and status.get("status") != "ok":
        return Outcome("failed", error=str(status.get("error") or status.get("status") or "failed (status.json)"), job_dir=str(job))
    results_file, results = job / RESULTS_FILE, run.results()
    if results is None:
        return Outcome("failed", error=f"no {RESULTS_FILE} in {job} (last log lines: {log_tail(job) or 'none'})", job_dir=str(job))
    if row_id is not None and results.get("row") != row_id:
        return Outcome("failed", error=f"{results_file} is row {results.get('row')!r}, not {row_id!r}", job_dir=str(job))
    methods, notes, method = results.get("methods") or {}, results.get("notes") or {}, results.get("method")
    if method not in methods:
        return Outcome("failed", error=f"{results_file}: its method {method!r} has no row in {sorted(methods)}", job_dir=str(job))
    counts = {f"count/{b}": n for b, n in (results.get("counts") or {}).items()}
    context = [m for m in methods if m not in (INPUT_ROW, method)]  # the classical rows scored on the same pairs
    return Outcome("ok", values=flat_values(methods[method], notes) | counts,
                   input_values=flat_values(methods.get(INPUT_ROW, {}), notes) | counts,
                   classical_values={m: flat_values(methods[m], notes) | counts for m in context},
                   job_dir=str(job), checkpoint=results.get("checkpoint"))


def checkpoint_of(outcome: Outcome) -> str:
    """The checkpoint the row's own results were computed with (what dependent stages must load)."""
    if not outcome.checkpoint:
        raise ValueError(f"{outcome.job_dir}: {RESULTS_FILE} names no tested checkpoint")
    return str(pathlib.Path(outcome.job_dir) / outcome.checkpoint)
