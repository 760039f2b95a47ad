"""The report: per dataset a row-status table, one table per metric with the paper's value and the
difference beside ours, and the paper's claims tested with paired statistics (``<out_stem>.md``); the same
as numbers (``<out_stem>.csv``, claims in ``<out_stem>_claims.csv``)."""
from __future__ import annotations

import csv
import dataclasses
import os
import pathlib
from typing import Mapping, Sequence

from inpainting.eval.engine import INPUT_ROW
from inpainting.reproduce.collect import Outcome, one_line
from inpainting.reproduce.spec import Row, TableSpec
from inpainting.utils.atomic import atomic_path, write_text

MISSING_CELL = "missing"
CONTEXT_ID = "classical:"  # id prefix of the context rows (Input, classical methods)


def row_outcome(row: Row, outcomes: Mapping[str, Outcome]) -> Outcome:
    """The row's own outcome, or for an ``input_of`` row the Input values of that row's job."""
    if not row.input_of:
        return outcomes[row.id]
    source = outcomes[row.input_of]
    return Outcome("ok", values=source.input_values, job_dir=source.job_dir) if source.ok else \
        Outcome(source.status, error=f"Input row of {row.input_of}: {source.error}")


def paper_section(paper, dataset: str | None, shown: Sequence[Row]) -> tuple[dict, str | None]:
    """Paper values keyed by our row names and bins; a single ``default`` column is our ``overall``."""
    if paper is None or dataset not in paper.columns:
        return {}, None
    from inpainting.eval.paper_tables import EMPTY

    values = {row.name: {key.replace("/default", "/overall"): EMPTY if v is None else v
                         for key, v in paper.values(row.paper_row, dataset).items()}
              for row in shown if row.paper_row}
    return values, f"Paper: {paper.paper}, Table {paper.table}, {dataset} (`experiments/paper_tables/{paper.name}.yaml`)."


def context_rows(shown: Sequence[Row], row_out: Mapping[str, Outcome]) -> tuple[list[Row], dict[str, Outcome]]:
    """The classical rows (``callbacks.test_report.classical_rows``, e.g. Telea) and the Input row of the first
    job that scored them: every row of a section is tested on the same pairs, so they are the table's context rows."""
    for row in shown:
        outcome = row_out[row.id]
        if outcome.ok and outcome.classical_values:
            # the floor every method must beat, where the paper's table has no Input row of its own
            values = ({} if any(r.input_of for r in shown) else {INPUT_ROW: outcome.input_values}) | outcome.classical_values
            rows = [Row(id=f"{CONTEXT_ID}{name}", name=name) for name in values]
            return rows, {r.id: Outcome("ok", values=values[r.name], job_dir=outcome.job_dir) for r in rows}
    return [], {}


def _relative(path: str | None, report_dir: pathlib.Path) -> str:
    return os.path.relpath(path, report_dir.resolve()) if path else ""


def status_block(rows: Sequence[Row], outcomes: Mapping[str, Outcome], report_dir: pathlib.Path) -> str:
    header = ["row", "experiment", "status", "paper row", "job folder / error"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        outcome = row_outcome(row, outcomes)
        detail = _relative(outcome.job_dir, report_dir) if outcome.ok else outcome.error
        experiment = f"`{row.experiment}`" if row.experiment else (f"Input of {row.input_of}" if row.input_of else
                                                                   "context" if row.id.startswith(CONTEXT_ID) else "-")
        status = outcome.status if not outcome.failed else f"**{outcome.status}**"
        lines.append("| " + " | ".join([row.name.replace("|", "/"), experiment, status, row.paper_row or "-",
                                        one_line(detail or "-")]) + " |")
    return "\n".join(lines)


def text_only_metrics(results: Mapping[str, Mapping], metrics: Sequence[str]) -> dict[str, str]:
    """Metrics with no number in any of our rows (e.g. LPIPS without its weights): metric -> the one reason."""
    collapsed = {}
    for metric in metrics:
        cells = {v for values in results.values() for k, v in values.items() if k.split("/", 1)[0] == metric}
        texts = {c for c in cells if c != MISSING_CELL}
        if cells and all(isinstance(c, str) for c in cells) and len(texts) <= 1:
            collapsed[metric] = next(iter(texts), MISSING_CELL)
    return collapsed


def write_report(spec: TableSpec, sections: Mapping[str | None, Mapping[str, Outcome]], out_stem: str | pathlib.Path,
                 notes: Sequence[str] = (), rows: Sequence[Row] | None = None,
                 paper_dataset: str | None = None, paper_column: bool = True) -> tuple[pathlib.Path, pathlib.Path]:
    """Write ``<out_stem>.md`` (per dataset: row status, one table per metric, paper values and Δ beside, the
    claims section) and ``.csv`` (one line per dataset and row). ``sections``: our dataset label -> row outcomes;
    the paper column compared with each is that dataset's, or ``paper_dataset`` for a section that is not a paper
    dataset. ``paper_column=False``: no paper values or Δ (tables and claims)."""
    from inpainting.eval import claims as claim_stats
    from inpainting.eval.paper_tables import load_paper_table
    from inpainting.eval.tables import METRIC_FORMATS, csv_rows, markdown_table, metrics_in

    out_stem = pathlib.Path(out_stem)
    paper = load_paper_table(spec.paper_table) if spec.paper_table else None
    rows = list(rows or spec.rows)
    shown = [r for r in rows if r.show]
    claims = claim_stats.load_claims(spec.raw)
    parts = [f"# {spec.title}", *notes]
    csv_lines: list[list] = []
    comparisons: list = []
    for label, raw in sections.items():
        outcomes = {r.id: raw.get(r.id) or (Outcome("pending", error=f"pending: {r.pending}") if r.pending else Outcome("missing", error="not run"))
                    for r in rows}
        row_out = {r.id: row_outcome(r, outcomes) for r in shown}
        context, context_out = context_rows(shown, row_out)
        section_rows, row_out, outcomes = [*shown, *context], row_out | context_out, outcomes | context_out
        ok = [o for o in row_out.values() if o.ok]
        metric_keys = sorted({k for o in ok for k in o.values if not k.startswith("count/")})
        results = {r.name: row_out[r.id].values if row_out[r.id].ok else {k: MISSING_CELL for k in metric_keys} for r in section_rows}
        bins = list(dict.fromkeys(k.split("/", 1)[1] for k in metric_keys if not k.endswith("/overall")))
        compare = label if paper is not None and label in paper.columns else paper_dataset
        paper_values, source = paper_section(paper, compare, section_rows) if paper_column else ({}, None)
        metrics = metrics_in(results) if ok else (list(paper.metrics) if paper else [])
        collapsed = text_only_metrics(results, metrics) if ok else {}
        section_notes = [source] if source else []
        section_notes += [f"{METRIC_FORMATS[m].title if m in METRIC_FORMATS else m}: {why} for every row (no table)."
                          for m, why in collapsed.items()]
        bad = [r for r in section_rows if row_out[r.id].failed]
        if bad:
            section_notes.append("Failed or missing rows: " + "; ".join(f"**{r.name}** ({row_out[r.id].status}): {one_line(row_out[r.id].error)}" for r in bad))
        tabled = [m for m in metrics if m not in collapsed]
        body = markdown_table(results, bins, tabled, paper_values, None, section_notes)
        if claims and spec.kind == "metrics":
            # rows that ran an experiment; Input and the classical rows come from those runs' per-image files
            scores = claim_stats.scores_from_jobs({r.name: row_out[r.id].job_dir for r in shown
                                                   if r.experiment and row_out[r.id].ok})
            found = claim_stats.evaluate(claims, scores, paper, compare)
            comparisons += [dataclasses.replace(c, dataset=label or "") for c in found]
            body += "\n\n" + claim_stats.markdown_section(claims, found, show_paper=paper_column and paper is not None)
        parts.append(f"## {label or 'results'}\n\n### Rows\n\n{status_block(section_rows, outcomes, out_stem.parent)}\n\n{body}".replace("\n## ", "\n### "))
        table = csv_rows(results, bins, metrics, paper_values, numbers_only=True)  # why a cell is empty: status, error, the markdown
        header = ["dataset"] + table[0] + ["status", "experiment", "job_dir", "error"]
        csv_lines = csv_lines or [header]
        if header != csv_lines[0]:
            csv_lines.append(header)
        for row, line in zip(section_rows, table[1:]):
            outcome = row_out[row.id]
            csv_lines.append([label or ""] + line + [outcome.status, row.experiment or "", _relative(outcome.job_dir, out_stem.parent),
                                                     one_line(outcome.error, None) if outcome.error else ""])
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    md_path, csv_path = out_stem.with_suffix(".md"), out_stem.with_suffix(".csv")
    write_text(md_path, "\n\n".join(parts) + "\n")
    with atomic_path(csv_path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(csv_lines)
    if comparisons:
        claim_stats.write_comparisons_csv(comparisons, out_stem.with_name(f"{out_stem.name}_claims.csv"))
    return md_path, csv_path
