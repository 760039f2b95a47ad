"""Reproduce one paper table with one command: train/test every row, then write the table.

    python -m inpainting.cli.reproduce table=misf_table3 scale=demo
    python -m inpainting.cli.reproduce table=misf_table3 scale=full paths.data_dir=/datasets hydra/launcher=...

``table`` names a spec in ``experiments/tables/<table>.yaml``: each row of the paper table (named as the
paper prints it) maps to an ``experiment=`` config (plus optional overrides), or is ``pending`` with the
reason. ``scale`` is a config of the Hydra group ``conf/scale/`` (``demo``: CPU minutes on the embedded
photos; ``full``: the experiments' own recipes, every row on every dataset of the paper table, datasets
checked before anything starts); each job gets ``scale=<name>``. Other ``key=value`` arguments are passed
to every training job (they replace the scale's entry for the same key), e.g. a launcher choice.

Rows run as Hydra multirun sweeps of ``inpainting.cli.train`` in a subprocess (one sweep per group of
rows sharing a model config and overrides; rows needing earlier rows' checkpoints, such as JPGNet's
UAFNet, run in a later sweep). Each job folder's ``status.json`` and ``results.json`` are then gathered
into ``<out_dir>/<table>[_<scale>].{md,csv}``, one section per dataset, with the paper's numbers
(``experiments/paper_tables``) and the difference beside ours. A row that failed or never ran stays in
the table as missing, with its error.

Options: ``out_dir=`` (default: next to the job folders, ``<runs_dir>/<table>/<scale>/<stamp>/``; ``make
reproduce`` gives ``experiments/results``), ``runs_dir=`` (default ``outputs/reproduce``),
``rows=a,b`` (only these row names/ids, plus what they need), ``datasets=Places2,CelebA`` (only these
paper columns), ``weights=<dir>`` (``scale=released``: the authors' files), ``dry_run=true`` (print, per
dataset, the stages with their commands, the missing data, and each job's estimated training time on
this machine from a measured 20-batch throughput; ``estimate=false`` skips the measurement).
"""
from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import os
import pathlib
import re
import subprocess
import sys
from typing import Iterable, Mapping, Sequence

import yaml

from inpainting.cli.common import CONFIG_DIR
from inpainting.eval.classical import CLASSICAL_ROW_NAMES
from inpainting.eval.engine import INPUT_ROW
from inpainting.eval.report import RESULTS_FILE  # written by every run after testing (schema 1)
from inpainting.utils.resources import EXPERIMENTS_DIR, compose

ROOT = EXPERIMENTS_DIR.parent
TABLES_DIR = EXPERIMENTS_DIR / "tables"
SCALES_DIR = CONFIG_DIR / "scale"
OPTIONS = {"table", "scale", "out_dir", "runs_dir", "rows", "dry_run", "estimate", "weights", "datasets"}
MISSING_CELL = "missing"


# -- specs ---------------------------------------------------------------------------------------
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
    # the authors' weight files: {override key: {paper dataset: file name under WEIGHTS=<dir>}}
    released: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    kind: str
    paper_table: str | None
    rows: tuple[Row, ...]
    raw: Mapping
    datasets: Mapping[str, str] = dataclasses.field(default_factory=dict)  # paper column -> data config


def _spec_path(name: str) -> pathlib.Path:
    path = TABLES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in TABLES_DIR.glob("*.yaml"))
        raise SystemExit(f"unknown table {name!r}: no {path}; known tables: {', '.join(known)}")
    return path


def load_spec(name: str) -> TableSpec:
    """Read ``experiments/tables/<name>.yaml`` and check its rows (unique ids, known dependencies)."""
    path = _spec_path(name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    paper_rows = None
    if data.get("paper_table"):
        from inpainting.eval.paper_tables import load_paper_table

        paper_rows = load_paper_table(data["paper_table"]).row_names
    rows = []
    for entry in data.get("rows") or []:
        if not (entry.get("experiment") or entry.get("pending") or entry.get("input_of")):
            raise ValueError(f"{path}: row {entry.get('name')!r} needs `experiment`, `input_of` or `pending` (the reason)")
        paper_row = entry.get("paper_row") or (entry["name"] if paper_rows and entry["name"] in paper_rows else None)
        if paper_row and paper_rows is not None and paper_row not in paper_rows:
            raise ValueError(f"{path}: row {entry['name']!r}: paper row {paper_row!r} is not in {data['paper_table']} ({paper_rows})")
        rows.append(
            Row(
                id=str(entry.get("id") or entry["name"]),
                name=str(entry["name"]),
                experiment=entry.get("experiment"),
                overrides=tuple(entry.get("overrides") or ()),
                needs=dict(entry.get("needs") or {}),
                paper_row=paper_row,
                pending=entry.get("pending"),
                show=bool(entry.get("show", True)),
                input_of=entry.get("input_of"),
                released=dict(entry.get("released") or {}),
            )
        )
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate row ids {sorted({i for i in ids if ids.count(i) > 1})}")
    for row in rows:
        unknown = (set(row.needs.values()) | ({row.input_of} if row.input_of else set())) - set(ids)
        if unknown:
            raise ValueError(f"{path}: row {row.name!r} needs unknown rows {sorted(unknown)}")
    return TableSpec(name, str(data.get("title", name)), str(data.get("kind", "metrics")), data.get("paper_table"),
                     tuple(rows), data, dict(data.get("datasets") or {}))


def load_scale(name: str) -> dict:
    """The ``scale`` section of ``conf/scale/<name>.yaml`` (what reproduce needs beyond ``scale=<name>``)."""
    path = SCALES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise SystemExit(f"unknown scale {name!r}; choose from {sorted(p.stem for p in SCALES_DIR.glob('*.yaml'))}")
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["scale"])


def select_rows(rows: Sequence[Row], wanted: Iterable[str] | None) -> list[Row]:
    """Rows named (by id or name) in ``wanted``, plus the rows they need, in spec order; all when None."""
    if not wanted:
        return list(rows)
    by_key = {r.id: r for r in rows} | {r.name: r for r in rows}
    unknown = [w for w in wanted if w not in by_key]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; rows: {[r.id for r in rows]}")
    keep = {by_key[w].id for w in wanted}
    added = True
    while added:
        needed = {dep for r in rows if r.id in keep for dep in r.needs.values()}
        added = bool(needed - keep)
        keep |= needed
    return [r for r in rows if r.id in keep]


# -- overrides -----------------------------------------------------------------------------------
def override_key(override: str) -> str:
    """The config key an override sets: ``+model.x=1`` -> ``model.x``, ``hydra/launcher=joblib`` -> ``hydra/launcher``."""
    return override.split("=", 1)[0].lstrip("+~")


def merge_overrides(*layers: Iterable[str]) -> list[str]:
    """Later layers replace earlier entries with the same key (Hydra rejects a key given twice)."""
    merged: dict[str, str] = {}
    for layer in layers:
        for override in layer:
            merged.pop(override_key(override), None)
            merged[override_key(override)] = override
    return list(merged.values())


def _compose(overrides: list[str]):
    return compose("train", overrides)


def model_choice(experiment: str) -> str:
    """The model config an experiment selects (``hydra.runtime.choices.model``)."""
    return str(_compose([f"experiment={experiment}"]).hydra.runtime.choices.model)


def stage_overrides(row: Row, checkpoints: Mapping[str, str]) -> list[str]:
    """``needs`` as overrides: ``<key>: <row id>`` sets ``model.stage_weights.<key>``, or the key itself when
    it is a full ``model.*`` key (a stage file the model takes directly, e.g. ``model.net.structure_weights``)."""
    return [f"{key if key.startswith('model.') else f'model.stage_weights.{key}'}={checkpoints.get(dep, 'NOT_RUN')}"
            for key, dep in sorted(row.needs.items())]


# -- plan ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Outcome:
    """What one row produced: ``values`` (flat ``<metric>/<bin>``) when ok, else an error."""

    status: str  # ok | failed | missing | pending
    values: dict = dataclasses.field(default_factory=dict)
    input_values: dict = dataclasses.field(default_factory=dict)
    classical_values: dict = dataclasses.field(default_factory=dict)  # row name -> values (TestReport's classical_rows)
    error: str | None = None
    job_dir: str | None = None
    checkpoint: str | None = None  # relative to job_dir: the checkpoint that was tested

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclasses.dataclass
class Group:
    """Rows run by one multirun sweep: same model config, same overrides, different experiments."""

    rows: list[Row]
    overrides: list[str]
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def command(self, sweep_dir: pathlib.Path) -> list[str]:
        experiments = ",".join(r.experiment for r in self.rows)
        return [sys.executable, "-m", "inpainting.cli.train", "-m", *self.overrides,
                f"experiment={experiments}", f"hydra.sweep.dir={sweep_dir}"]


def phases(rows: Sequence[Row]) -> list[list[Row]]:
    """Runnable rows in dependency order: phase k needs only rows of earlier phases."""
    todo = [r for r in rows if r.experiment and not r.pending]
    done: set[str] = set()
    ordered = []
    while todo:
        ready = [r for r in todo if set(r.needs.values()) <= done]
        if not ready:
            raise ValueError(f"circular or pending dependencies among rows {[r.id for r in todo]}")
        ordered.append(ready)
        done |= {r.id for r in ready}
        todo = [r for r in todo if r.id not in done]
    return ordered


def group_rows(rows: Sequence[Row], scale: Mapping, extra: Sequence[str], checkpoints: Mapping[str, str], table: str) -> list[Group]:
    """Split one phase into sweeps; each group's overrides are checked by composing every row's config."""
    groups: dict[tuple, Group] = {}
    for row in rows:
        model = model_choice(row.experiment)
        overrides = merge_overrides(
            [f"model={model}", f"scale={scale['name']}"],
            # the scale's shrinking: by experiment when it names one (e.g. another DGNet), else by model config
            (scale.get("model_overrides") or {}).get(row.experiment, (scale.get("model_overrides") or {}).get(model, [])),
            row.overrides,
            stage_overrides(row, checkpoints),
            [f"logger.wandb.group={table}"] if "logger=wandb" in extra else [],
            extra,
        )
        _compose(overrides + [f"experiment={row.experiment}"])  # fails here, naming the bad key
        env = {k: str(v) for k, v in (scale.get("env") or {}).items()}
        groups.setdefault(tuple(overrides), Group([], overrides, env)).rows.append(row)
    return list(groups.values())


# -- job folders ---------------------------------------------------------------------------------


def _log_tail(job_dir: pathlib.Path, lines: int = 3) -> str | None:
    logs = sorted(job_dir.glob("*.log"))
    text = logs[0].read_text(encoding="utf-8", errors="replace").strip().splitlines() if logs else []
    return " | ".join(text[-lines:]) or None


def flat_values(per_metric: Mapping[str, Mapping[str, float | None]], notes: Mapping[str, str]) -> dict:
    """``{metric: {bin: value}}`` of results.json as ``{"<metric>/<bin>": value or the note}``."""
    def note(metric: str) -> str:
        text = notes.get(metric, "not computed")
        return text if text.startswith("n/a") else f"n/a ({text})"

    return {f"{metric}/{b}": (v if v is not None else note(metric)) for metric, per_bin in per_metric.items() for b, v in per_bin.items()}


def collect_job(job_dir: str | pathlib.Path | None) -> Outcome:
    """Read one training job folder: ok with its test metrics, or failed/missing with the error found."""
    if job_dir is None or not pathlib.Path(job_dir).is_dir():
        return Outcome("missing", error=f"no job folder{f' {job_dir}' if job_dir else ''}")
    job = pathlib.Path(job_dir)
    status_file = job / "status.json"
    if status_file.is_file():
        status = json.loads(status_file.read_text(encoding="utf-8"))
        if status.get("status") != "ok":
            return Outcome("failed", error=str(status.get("error") or status.get("status") or "failed (status.json)"), job_dir=str(job))
    results_file = job / RESULTS_FILE
    if not results_file.is_file():
        return Outcome("failed", error=f"no {RESULTS_FILE} in {job} (last log lines: {_log_tail(job) or 'none'})", job_dir=str(job))
    results = json.loads(results_file.read_text(encoding="utf-8"))
    methods, notes = results.get("methods") or {}, results.get("notes") or {}
    model_rows = [m for m in methods if m not in (INPUT_ROW, *CLASSICAL_ROW_NAMES.values())]
    if len(model_rows) != 1:
        return Outcome("failed", error=f"{results_file}: expected one model row besides {INPUT_ROW!r}, got {model_rows}", job_dir=str(job))
    counts = {f"count/{b}": n for b, n in (results.get("counts") or {}).items()}
    return Outcome("ok", values=flat_values(methods[model_rows[0]], notes) | counts,
                   input_values=flat_values(methods.get(INPUT_ROW, {}), notes) | counts,
                   classical_values={m: flat_values(methods[m], notes) | counts for m in methods if m in CLASSICAL_ROW_NAMES.values()},
                   job_dir=str(job), checkpoint=results.get("checkpoint"))


def _job_experiments(sweep_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Job folder per experiment, read from each job's ``.hydra/overrides.yaml``."""
    found = {}
    for overrides_file in sweep_dir.glob("*/.hydra/overrides.yaml"):
        for override in yaml.safe_load(overrides_file.read_text(encoding="utf-8")) or []:
            if override_key(override) == "experiment":
                found[override.split("=", 1)[1]] = overrides_file.parents[1]
    return found


def checkpoint_of(outcome: "Outcome") -> str:
    """The checkpoint the row's own results were computed with (what dependent stages must load)."""
    if not outcome.checkpoint:
        raise ValueError(f"{outcome.job_dir}: {RESULTS_FILE} names no tested checkpoint")
    return str(pathlib.Path(outcome.job_dir) / outcome.checkpoint)


def run_group(group: Group, sweep_dir: pathlib.Path) -> dict[str, Outcome]:
    """Launch one sweep as a subprocess (output in ``<sweep_dir>/launch.log``) and read its job folders."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    log_path = sweep_dir / "launch.log"
    print(f"[reproduce] sweep {sweep_dir.name}: {', '.join(r.name for r in group.rows)}", flush=True)
    env = {**group.env, **os.environ, "HYDRA_FULL_ERROR": "1"}  # the caller's environment wins
    env.setdefault("INPAINTING_ROOT", os.getcwd())
    with log_path.open("w", encoding="utf-8") as log:
        code = subprocess.call(group.command(sweep_dir), stdout=log, stderr=subprocess.STDOUT, env=env)
    jobs = _job_experiments(sweep_dir)
    outcomes = {}
    for row in group.rows:
        outcome = collect_job(jobs.get(row.experiment))
        if not outcome.ok and code != 0:
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
            outcome.error = f"{outcome.error}; sweep exited with code {code}: {' '.join(tail)} (see {log_path})"
        outcomes[row.id] = outcome
        print(f"[reproduce]   {row.name}: {outcome.status}{'' if outcome.ok else ' - ' + one_line(outcome.error)}", flush=True)
    return outcomes


# -- aggregation ---------------------------------------------------------------------------------
def one_line(text: str, limit: int | None = 300) -> str:
    """An error message fit for a table cell: no colour codes, newlines or pipes; at most ``limit`` characters."""
    flat = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(text)).split()).replace("|", "/")
    return flat if limit is None or len(flat) <= limit else flat[: limit - 3] + "..."


def _row_values(row: Row, outcomes: Mapping[str, Outcome]) -> Outcome:
    """The row's own outcome, or for an ``input_of`` row the Input values of that row's job."""
    if not row.input_of:
        return outcomes[row.id]
    source = outcomes[row.input_of]
    return Outcome("ok", values=source.input_values, job_dir=source.job_dir) if source.ok else \
        Outcome(source.status, error=f"Input row of {row.input_of}: {source.error}")


def _paper_section(paper, dataset: str | None, shown: Sequence[Row], our_bins: Sequence[str]) -> tuple[dict, str | None]:
    """Paper values keyed by our row names and bins; Dunhuang's single column is our ``overall``."""
    if paper is None or dataset not in paper.columns:
        return {}, None
    from inpainting.eval.paper_tables import EMPTY

    values = {}
    for row in shown:
        if row.paper_row:
            cells = paper.values(row.paper_row, dataset)
            values[row.name] = {key.replace("/default", "/overall"): EMPTY if v is None else v for key, v in cells.items()}
    return values, f"Paper: {paper.paper}, Table {paper.table}, {dataset} (`experiments/paper_tables/{paper.name}.yaml`)."


CONTEXT_ID = "classical:"  # id prefix of the context rows (Input, classical methods)


def _context_rows(shown: Sequence[Row], row_out: Mapping[str, Outcome]) -> tuple[list[Row], dict[str, Outcome]]:
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


def _status_block(shown: Sequence[Row], outcomes: Mapping[str, Outcome], report_dir: pathlib.Path) -> str:
    header = ["row", "experiment", "status", "paper row", "job folder / error"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in shown:
        outcome = _row_values(row, outcomes)
        detail = os.path.relpath(outcome.job_dir, report_dir.resolve()) if outcome.ok else outcome.error
        experiment = f"`{row.experiment}`" if row.experiment else (f"Input of {row.input_of}" if row.input_of else
                                                                   "context" if row.id.startswith(CONTEXT_ID) else "-")
        lines.append("| " + " | ".join([row.name, experiment, outcome.status, row.paper_row or "-", one_line(detail or "-")]) + " |")
    return "\n".join(lines)


def aggregate(
    spec: TableSpec,
    sections: Mapping[str | None, Mapping[str, Outcome]],
    out_stem: str | pathlib.Path,
    notes: Sequence[str] = (),
    rows: Sequence[Row] | None = None,
    paper_dataset: str | None = None,
) -> tuple[pathlib.Path, pathlib.Path]:
    """Write ``<out_stem>.md`` (per dataset: row status + one table per metric, paper values and Δ beside)
    and ``.csv`` (one line per dataset and row). ``sections``: our dataset label -> row outcomes; the paper
    column compared with each is that dataset's, or ``paper_dataset`` for a section that is not a paper dataset."""
    from inpainting.eval.paper_tables import load_paper_table
    from inpainting.eval.tables import csv_rows, markdown_table, metrics_in

    paper = load_paper_table(spec.paper_table) if spec.paper_table else None
    shown = [r for r in (rows or spec.rows) if r.show]
    parts = [f"# {spec.title}", *notes]
    csv_lines: list[list] = []
    for label, raw in sections.items():
        outcomes = {r.id: raw.get(r.id) or (Outcome("pending", error=f"pending: {r.pending}") if r.pending else Outcome("missing", error="not run"))
                    for r in (rows or spec.rows)}
        row_out = {r.id: _row_values(r, outcomes) for r in shown}
        context, context_out = _context_rows(shown, row_out)
        section_rows, row_out, outcomes = [*shown, *context], row_out | context_out, outcomes | context_out
        ok = [o for o in row_out.values() if o.ok]
        metric_keys = sorted({k for o in ok for k in o.values if not k.startswith("count/")})
        results = {r.name: row_out[r.id].values if row_out[r.id].ok else {k: MISSING_CELL for k in metric_keys} for r in section_rows}
        bins = list(dict.fromkeys(k.split("/", 1)[1] for k in metric_keys if not k.endswith("/overall")))
        compare = label if paper is not None and label in paper.columns else paper_dataset
        paper_values, source = _paper_section(paper, compare, section_rows, bins)
        metrics = metrics_in(results) if ok else (list(paper.metrics) if paper else [])
        section_notes = [source] if source else []
        bad = [r for r in section_rows if not row_out[r.id].ok]
        if bad:
            section_notes.append("Missing rows: " + "; ".join(f"**{r.name}** ({row_out[r.id].status}): {one_line(row_out[r.id].error)}" for r in bad))
        body = markdown_table(results, bins, metrics, paper_values, None, section_notes)
        parts.append(f"## {label or 'results'}\n\n### Rows\n\n{_status_block(section_rows, outcomes, pathlib.Path(out_stem).parent)}\n\n{body}".replace("\n## ", "\n### "))
        table = csv_rows(results, bins, metrics, paper_values, numbers_only=True)  # why a cell is empty: status, error, the markdown
        header = ["dataset"] + table[0] + ["status", "experiment", "job_dir", "error"]
        csv_lines = csv_lines or [header]
        if header != csv_lines[0]:
            csv_lines.append(header)
        for row, line in zip(section_rows, table[1:]):
            outcome = row_out[row.id]
            job = os.path.relpath(outcome.job_dir, pathlib.Path(out_stem).parent.resolve()) if outcome.job_dir else ""
            csv_lines.append([label or ""] + line + [outcome.status, row.experiment or "", job,
                                                     one_line(outcome.error, None) if outcome.error else ""])
    out_stem = pathlib.Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    md_path, csv_path = out_stem.with_suffix(".md"), out_stem.with_suffix(".csv")
    md_path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(csv_lines)
    return md_path, csv_path


# -- full-scale checks ---------------------------------------------------------------------------
def check_datasets(overrides: list[str]) -> str | None:
    """Build the data config's DataModule (lists, folders, masks); the problem and where to fix it, or None."""
    import hydra

    try:
        cfg = _compose(overrides)
        from hydra.core.hydra_config import HydraConfig

        HydraConfig.instance().set_config(cfg)
        datamodule = hydra.utils.instantiate(cfg.data)
        for masks in (getattr(datamodule, "eval_masks", None), getattr(datamodule, "train_masks", None)):
            root = getattr(masks, "root", None)
            if root is not None and not pathlib.Path(root).is_dir():
                raise FileNotFoundError(f"mask folder {root} does not exist")
    except Exception as error:  # noqa: BLE001 - any failure to find the data is reported the same way
        choice = cfg.hydra.runtime.choices.data if "cfg" in locals() else "?"
        cause = error.__cause__ or error
        return (f"dataset for data={choice} not usable: {cause}\n"
                f"Put it where conf/data/{choice}.yaml expects it (under paths.data_dir, now "
                f"{cfg.paths.data_dir if 'cfg' in locals() else '?'}) or pass paths.data_dir=<folder>; "
                f"`python -m inpainting.cli.check_data data={choice} paths.data_dir=<folder>` lists every problem.")
    return None


# -- entry point ---------------------------------------------------------------------------------
def parse_args(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split ``key=value`` arguments into this command's options and overrides for the jobs."""
    options, extra = {}, []
    for arg in argv:
        if arg in ("-h", "--help"):
            print(__doc__)
            raise SystemExit(0)
        if "=" not in arg:
            raise SystemExit(f"arguments are key=value, got {arg!r} (see --help)")
        key, value = arg.split("=", 1)
        if key in OPTIONS:
            options[key] = value
        else:
            extra.append(arg)
    if "table" not in options:
        raise SystemExit("table=<name> is required (see --help)")
    return options, extra


def released_rows(rows: Sequence[Row], dataset: str, weights_dir: pathlib.Path) -> tuple[list[Row], dict[str, Outcome]]:
    """Rows to test with the authors' files on ``dataset`` (the files as overrides, no stage rows), and the
    outcome of every shown row that cannot be: no released weights, or its files missing (named)."""
    runnable, outcomes = [], {}
    for row in rows:
        if row.input_of or row.pending or not row.show:
            continue  # Input rows are read from their source row; hidden rows are training stages
        files = {key: per_dataset.get(dataset) for key, per_dataset in row.released.items()}
        missing = [str(weights_dir / f) for f in files.values() if f and not (weights_dir / f).is_file()]
        if not files or None in files.values():
            outcomes[row.id] = Outcome("n/a", error=f"no released weights for this row on {dataset}")
        elif missing:
            outcomes[row.id] = Outcome("missing", error="released weights missing: " + ", ".join(missing))
        else:
            overrides = tuple(f"{key}={weights_dir / f}" for key, f in files.items())
            runnable.append(dataclasses.replace(row, overrides=row.overrides + overrides, needs={}))
    return runnable, outcomes


def estimate_time(overrides: list[str]) -> str:
    """Estimated training time of one job on this machine, from a measured 20-batch throughput."""
    from hydra.core.hydra_config import HydraConfig

    from inpainting.utils.throughput import format_duration, measure

    cfg = _compose(overrides)
    HydraConfig.instance().set_config(cfg)
    try:
        per_batch, batches = measure(cfg)
    except Exception as error:  # noqa: BLE001 - an estimate that cannot be made is reported, not fatal
        return f"no estimate ({type(error).__name__}: {one_line(str(error), 200)})"
    device = cfg.trainer.get("accelerator", "auto")
    if batches is None:
        return f"{per_batch:.3g} s/batch on {device}; no iteration, step or epoch limit to multiply"
    return f"{per_batch:.3g} s/batch x {batches} batches = about {format_duration(per_batch * batches)} on {device} (validation excluded)"


def run_rows(rows: Sequence[Row], scale: Mapping, extra: Sequence[str], runs_root: pathlib.Path, table: str,
             dry_run: bool, estimate: bool = False) -> dict[str, Outcome]:
    """Run every row in dependency order (phases of sweeps); a row whose stages failed is not run."""
    outcomes: dict[str, Outcome] = {r.id: Outcome("pending", error=f"pending: {r.pending}") for r in rows if r.pending}
    checkpoints: dict[str, str] = {}
    sweep_index = 0
    for phase in phases(rows):
        runnable, blocked = [], []
        for row in phase:
            failed = [d for d in row.needs.values() if not outcomes[d].ok] if not dry_run else []
            (blocked if failed else runnable).append((row, failed))
        for row, failed in blocked:
            outcomes[row.id] = Outcome("missing", error=f"not run: needs row(s) {failed}, which did not succeed")
        try:
            groups = group_rows([r for r, _ in runnable], scale, extra, checkpoints, table)
        except Exception as error:  # noqa: BLE001 - a config error fails these rows, the table is still written
            print(f"[reproduce] config error, rows {[r.name for r, _ in runnable]} not run: {error}", flush=True)
            for row, _ in runnable:
                outcomes[row.id] = Outcome("failed", error=f"config error: {error}")
            continue
        for group in groups:
            sweep_dir = runs_root / f"{sweep_index:02d}"
            sweep_index += 1
            if dry_run:
                print(f"[reproduce] stage {sweep_index}: {', '.join(r.name for r in group.rows)}")
                print("    " + " ".join(group.command(sweep_dir)))
                for row in group.rows:
                    checkpoints[row.id] = str(sweep_dir / "JOB" / "TESTED_CHECKPOINT")  # known once the stage ran
                    if estimate:
                        print(f"    {row.name}: {estimate_time(group.overrides + [f'experiment={row.experiment}'])}", flush=True)
                continue
            for row_id, outcome in run_group(group, sweep_dir).items():
                outcomes[row_id] = outcome
                if outcome.ok and outcome.checkpoint:
                    checkpoints[row_id] = checkpoint_of(outcome)
    return outcomes


def reproduce(options: Mapping[str, str], extra: Sequence[str]) -> pathlib.Path:
    """Run (or plan, with dry_run) a table at a scale; returns the markdown table written."""
    spec = load_spec(options["table"])
    scale_name = options.get("scale", "demo")
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    runs_root = pathlib.Path(options.get("runs_dir", "outputs/reproduce")).resolve() / spec.name / scale_name / stamp
    # the report goes next to its job folders unless out_dir= is given (never into the source tree)
    out_dir = pathlib.Path(options.get("out_dir", runs_root))
    out_stem = out_dir / (spec.name if scale_name == "full" else f"{spec.name}_{scale_name}")
    dry_run = options.get("dry_run", "false").lower() in ("1", "true", "yes")
    if spec.kind == "timing":
        from inpainting.cli.timing import run_timing_table

        return run_timing_table(spec.raw, scale_name, out_stem, extra)
    scale = load_scale(scale_name)
    rows = select_rows(spec.rows, options["rows"].split(",") if options.get("rows") else None)
    # scale=full|released: one pass per paper dataset (data=<its config>); smaller scales: one pass on the scale's data
    datasets = {d: c for d, c in spec.datasets.items() if not options.get("datasets") or d in options["datasets"].split(",")}
    passes = {label: [f"data={config}"] for label, config in datasets.items()} if scale.get("per_dataset") else {None: []}
    if scale.get("released") and not options.get("weights"):
        raise SystemExit("scale=released needs weights=<folder with the authors' files> (WEIGHTS=<dir> with make reproduce)")
    runnable = [r for r in rows if r.experiment]
    problems: dict = {}
    if scale.get("check_data") and runnable:
        problems = {label: p for label, data in passes.items()
                    if (p := check_datasets(merge_overrides([f"scale={scale_name}"], data, extra) + [f"experiment={runnable[0].experiment}"]))}
        if problems:
            message = f"[reproduce] {spec.name} scale={scale_name}: " + ("missing data (dry run)" if dry_run else "not starting") + ".\n"
            if not dry_run:
                raise SystemExit(message + "\n".join(problems.values()))
            print(message + "\n".join(problems.values()))

    sections = {}
    for label, data in passes.items():
        if dry_run:
            print(f"[reproduce] {spec.name} scale={scale_name}" + (f", dataset {label}" if label else "") + ":")
        todo, preset = released_rows(rows, label, pathlib.Path(options["weights"])) if scale.get("released") else (rows, {})
        estimate = dry_run and label not in problems and options.get("estimate", "true").lower() in ("1", "true", "yes")
        sections[label] = {**preset, **run_rows(todo, scale, [*data, *extra], runs_root / (label or "."), spec.name,
                                                dry_run, estimate)}
    if dry_run:
        return out_stem.with_suffix(".md")
    first_paper_dataset = next(iter(spec.datasets), None)
    jobs = os.path.relpath(runs_root, out_dir.resolve())
    notes = [*(scale.get("notes") or []), "Job folders: the numbered folders next to this report." if jobs == "."
             else f"Job folders: {jobs} (relative to this report)."]
    if not scale.get("per_dataset") and first_paper_dataset:
        notes.append(f"The paper column is the paper's {first_paper_dataset} column; our numbers come from the scale's own data.")
    md_path, _ = aggregate(spec, sections, out_stem, notes, rows, paper_dataset=first_paper_dataset)
    print(md_path.read_text(encoding="utf-8"))
    print(f"[reproduce] wrote {md_path} and {md_path.with_suffix('.csv')}")
    return md_path


def main(argv: Sequence[str] | None = None) -> int:
    options, extra = parse_args(list(sys.argv[1:] if argv is None else argv))
    reproduce(options, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
