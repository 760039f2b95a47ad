"""Reproduce one paper table with one command: train/test every row, then write the table.

    python -m inpainting.cli.reproduce table=misf_table3 scale=demo
    python -m inpainting.cli.reproduce table=misf_table3 scale=full paths.data_dir=/datasets hydra/launcher=...

``table`` names a spec in ``experiments/tables/<table>.yaml``: each row of the paper table maps to an
``experiment=`` config (plus optional overrides), or is ``pending`` with the reason. ``scale`` picks a
preset of ``experiments/tables/scales.yaml`` (``demo``: CPU minutes on the embedded photos; ``full``:
the paper's setting, datasets checked before anything starts). Other ``key=value`` arguments are passed
to every training job (they replace the scale's entry for the same key), e.g. a launcher choice.

Rows run as Hydra multirun sweeps of ``inpainting.cli.train`` in a subprocess (one sweep per group of
rows sharing a model config and overrides; rows needing earlier rows' checkpoints, such as JPGNet's
UAFNet, run in a later sweep). The job folders (``status.json``, ``metrics.json``,
``tables/test_metrics.csv``) are then gathered into ``<out_dir>/<table>[_<scale>].{md,csv}`` with the
paper's numbers (``experiments/paper_tables``) side by side. A row that failed or never ran stays in
the table as missing, with its error.

Options: ``out_dir=`` (default ``experiments/results``), ``runs_dir=`` (default ``outputs/reproduce``),
``rows=a,b`` (only these row names/ids, plus what they need), ``dry_run=true`` (print the sweeps only).
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

ROOT = pathlib.Path(__file__).resolve().parents[2]
TABLES_DIR = ROOT / "experiments" / "tables"
RESULTS_DIR = ROOT / "experiments" / "results"
OPTIONS = {"table", "scale", "out_dir", "runs_dir", "rows", "dry_run"}
INPUT_ROW = "Input"
MISSING_CELL = "missing"
PAPER_NA = "n/a (not available offline)"


# -- specs ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Row:
    """One row of a table spec."""

    id: str
    name: str
    experiment: str | None = None
    overrides: tuple[str, ...] = ()
    needs: Mapping[str, str] = dataclasses.field(default_factory=dict)  # stage_weights key -> row id
    paper_row: str | None = None
    pending: str | None = None
    show: bool = True


@dataclasses.dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    kind: str
    paper_table: str | None
    rows: tuple[Row, ...]
    raw: Mapping


def _spec_path(name: str) -> pathlib.Path:
    path = TABLES_DIR / f"{name}.yaml"
    if not path.is_file() or name == "scales":
        known = sorted(p.stem for p in TABLES_DIR.glob("*.yaml") if p.stem != "scales")
        raise SystemExit(f"unknown table {name!r}: no {path}; known tables: {', '.join(known)}")
    return path


def load_spec(name: str) -> TableSpec:
    """Read ``experiments/tables/<name>.yaml`` and check its rows (unique ids, known dependencies)."""
    path = _spec_path(name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = []
    for entry in data.get("rows") or []:
        if not entry.get("experiment") and not entry.get("pending"):
            raise ValueError(f"{path}: row {entry.get('name')!r} needs `experiment` or `pending` (the reason)")
        rows.append(
            Row(
                id=str(entry.get("id") or entry["name"]),
                name=str(entry["name"]),
                experiment=entry.get("experiment"),
                overrides=tuple(entry.get("overrides") or ()),
                needs=dict(entry.get("needs") or {}),
                paper_row=entry.get("paper_row"),
                pending=entry.get("pending"),
                show=bool(entry.get("show", True)),
            )
        )
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate row ids {sorted({i for i in ids if ids.count(i) > 1})}")
    for row in rows:
        unknown = set(row.needs.values()) - set(ids)
        if unknown:
            raise ValueError(f"{path}: row {row.name!r} needs unknown rows {sorted(unknown)}")
    return TableSpec(name, str(data.get("title", name)), str(data.get("kind", "metrics")), data.get("paper_table"), tuple(rows), data)


def load_scale(name: str) -> dict:
    scales = yaml.safe_load((TABLES_DIR / "scales.yaml").read_text(encoding="utf-8"))
    if name not in scales:
        raise SystemExit(f"unknown scale {name!r}; choose from {sorted(scales)}")
    return scales[name]


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
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


def model_choice(experiment: str) -> str:
    """The model config an experiment selects (``hydra.runtime.choices.model``)."""
    return str(_compose([f"experiment={experiment}"]).hydra.runtime.choices.model)


def stage_overrides(row: Row, checkpoints: Mapping[str, str]) -> list[str]:
    return [f"model.stage_weights.{stage}={checkpoints.get(dep, 'NOT_RUN')}" for stage, dep in sorted(row.needs.items())]


# -- plan ----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Outcome:
    """What one row produced: ``values`` (flat ``<metric>/<bin>``) when ok, else an error."""

    status: str  # ok | failed | missing | pending
    values: dict = dataclasses.field(default_factory=dict)
    input_values: dict = dataclasses.field(default_factory=dict)
    error: str | None = None
    job_dir: str | None = None

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
    todo = [r for r in rows if not r.pending]
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
            [f"model={model}"],
            scale.get("overrides") or [],
            (scale.get("model_overrides") or {}).get(model, []),
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
def _read_metric_csv(path: pathlib.Path) -> dict[str, dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {r["method"]: {k: _number_or_text(v) for k, v in r.items() if k != "method" and v not in ("", None)} for r in rows}


def _number_or_text(cell: str) -> float | str:
    """A table cell: a number, or a note such as "n/a (weights missing: ...)" kept as text."""
    try:
        return float(cell)
    except ValueError:
        return cell


def _log_tail(job_dir: pathlib.Path, lines: int = 3) -> str | None:
    logs = sorted(job_dir.glob("*.log"))
    text = logs[0].read_text(encoding="utf-8", errors="replace").strip().splitlines() if logs else []
    return " | ".join(text[-lines:]) or None


def collect_job(job_dir: str | pathlib.Path | None) -> Outcome:
    """Read one training job folder: ok with its test metrics, or failed/missing with the error found."""
    if job_dir is None or not pathlib.Path(job_dir).is_dir():
        return Outcome("missing", error=f"no job folder{f' {job_dir}' if job_dir else ''}")
    job = pathlib.Path(job_dir)
    status_file = job / "status.json"
    if status_file.is_file():
        status = json.loads(status_file.read_text(encoding="utf-8"))
        ok = status.get("ok", status.get("status") in ("ok", "done", "completed"))
        if not ok:
            return Outcome("failed", error=str(status.get("error") or status.get("status") or "failed (status.json)"), job_dir=str(job))
    table = job / "tables" / "test_metrics.csv"
    if not table.is_file() or not (job / "metrics.json").is_file():
        return Outcome("failed", error=f"no test results in {job} (last log lines: {_log_tail(job) or 'none'})", job_dir=str(job))
    methods = _read_metric_csv(table)
    model_rows = [m for m in methods if m != INPUT_ROW]
    if len(model_rows) != 1:
        return Outcome("failed", error=f"{table}: expected one model row besides {INPUT_ROW!r}, got {model_rows}", job_dir=str(job))
    return Outcome("ok", values=methods[model_rows[0]], input_values=methods.get(INPUT_ROW, {}), job_dir=str(job))


def _job_experiments(sweep_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Job folder per experiment, read from each job's ``.hydra/overrides.yaml``."""
    found = {}
    for overrides_file in sweep_dir.glob("*/.hydra/overrides.yaml"):
        for override in yaml.safe_load(overrides_file.read_text(encoding="utf-8")) or []:
            if override_key(override) == "experiment":
                found[override.split("=", 1)[1]] = overrides_file.parents[1]
    return found


def checkpoint_of(job_dir: str) -> str:
    # the run folder: its loader takes the best checkpoint, the one the stage's own row reports
    return str(pathlib.Path(job_dir))


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
def _paper_values(spec: TableSpec, rows: Sequence[Row]) -> tuple[dict, list[str], object | None]:
    if not spec.paper_table:
        return {}, [], None
    from inpainting.eval.paper_tables import load_paper_table

    paper = load_paper_table(spec.paper_table)
    rename = {r.paper_row: r.name for r in rows if r.paper_row}
    values = {k: v for k, v in paper.paper_column(rename).items() if k in {r.name for r in rows}}
    return values, list(paper.bins), paper


def one_line(text: str, limit: int | None = 300) -> str:
    """An error message fit for a table cell: no colour codes, newlines or pipes; at most ``limit`` characters."""
    flat = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(text)).split()).replace("|", "/")
    return flat if limit is None or len(flat) <= limit else flat[: limit - 3] + "..."


def _status_block(shown: Sequence[Row], outcomes: Mapping[str, Outcome], paper_values: Mapping, paper) -> str:
    header = ["row", "experiment", "status", "paper row", "paper values", "job folder / error"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in shown:
        outcome = outcomes[row.id]
        if paper is None:
            paper_cell = "-"
        elif row.name in paper_values:
            paper_cell = "reported"
        else:
            paper_cell = PAPER_NA if row.paper_row else "no matching paper row"
        detail = outcome.job_dir if outcome.ok else outcome.error
        cells = [row.name, f"`{row.experiment}`" if row.experiment else "-", outcome.status,
                 row.paper_row or "-", paper_cell, one_line(detail or "-")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def aggregate(
    spec: TableSpec,
    outcomes: Mapping[str, Outcome],
    out_stem: str | pathlib.Path,
    notes: Sequence[str] = (),
    rows: Sequence[Row] | None = None,
) -> tuple[pathlib.Path, pathlib.Path]:
    """Write ``<out_stem>.md`` (row status + one table per metric, paper values beside) and ``.csv``."""
    from inpainting.eval.tables import csv_rows, markdown_table, metrics_in

    shown = [r for r in (rows or spec.rows) if r.show]
    outcomes = {r.id: outcomes.get(r.id) or Outcome("missing", error="not run") for r in shown}
    ok = [outcomes[r.id] for r in shown if outcomes[r.id].ok]
    results: dict[str, dict] = {}
    if ok and ok[0].input_values:
        results[f"{INPUT_ROW} (holes empty)"] = ok[0].input_values
    metric_keys = sorted({k for o in ok for k in o.values if not k.startswith("count/")})
    for row in shown:
        outcome = outcomes[row.id]
        results[row.name] = outcome.values if outcome.ok else {k: MISSING_CELL for k in metric_keys}
    paper_values, paper_bins, paper = _paper_values(spec, shown)
    bins = list(dict.fromkeys(k.split("/", 1)[1] for k in metric_keys if not k.endswith("/overall"))) or paper_bins
    metrics = metrics_in(results) if ok else (list(paper.metrics) if paper else [])

    all_notes = list(notes)
    if paper is not None and not paper.available:
        all_notes.append(f"Paper values: {PAPER_NA}: {paper.path.relative_to(ROOT) if paper.path.is_relative_to(ROOT) else paper.path} "
                         "holds nulls; fill it from the paper PDF to get `paper` and `Δ` columns.")
    bad = [r for r in shown if not outcomes[r.id].ok]
    if bad:
        all_notes.append("Missing rows: " + "; ".join(f"**{r.name}** ({outcomes[r.id].status}): {one_line(outcomes[r.id].error)}" for r in bad))
    body = markdown_table(results, bins, metrics, paper_values, spec.title, all_notes)
    title, rest = body.split("\n", 1)
    md = f"{title}\n\n## Rows\n\n{_status_block(shown, outcomes, paper_values, paper)}\n{rest}"

    out_stem = pathlib.Path(out_stem)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    md_path, csv_path = out_stem.with_suffix(".md"), out_stem.with_suffix(".csv")
    md_path.write_text(md, encoding="utf-8")
    table = csv_rows(results, bins, metrics, paper_values)
    extra_header = ["status", "experiment", "job_dir", "error"]
    by_name = {r.name: r for r in shown}
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(table[0] + extra_header)
        for line in table[1:]:
            row = by_name.get(line[0])
            outcome = outcomes[row.id] if row else Outcome("ok")
            writer.writerow(line + [outcome.status, row.experiment if row else "", outcome.job_dir or "", one_line(outcome.error, None) if outcome.error else ""])
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
        (options.__setitem__(key, value) if key in OPTIONS else extra.append(arg))
    if "table" not in options:
        raise SystemExit("table=<name> is required (see --help)")
    return options, extra


def reproduce(options: Mapping[str, str], extra: Sequence[str]) -> pathlib.Path:
    """Run (or plan, with dry_run) a table at a scale; returns the markdown table written."""
    spec = load_spec(options["table"])
    scale_name = options.get("scale", "demo")
    out_dir = pathlib.Path(options.get("out_dir", RESULTS_DIR))
    out_stem = out_dir / (spec.name if scale_name == "full" else f"{spec.name}_{scale_name}")
    dry_run = options.get("dry_run", "false").lower() in ("1", "true", "yes")
    if spec.kind == "timing":
        from inpainting.cli.timing import run_timing_table

        return run_timing_table(spec.raw, scale_name, out_stem, extra)
    scale = load_scale(scale_name)
    rows = select_rows(spec.rows, options["rows"].split(",") if options.get("rows") else None)
    plan = phases(rows)
    if scale.get("check_data") and plan:
        first = plan[0][0]
        problem = check_datasets(merge_overrides(scale.get("overrides") or [], extra) + [f"experiment={first.experiment}"])
        if problem:
            raise SystemExit(f"[reproduce] {spec.name} scale={scale_name}: not starting.\n{problem}")

    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    runs_root = pathlib.Path(options.get("runs_dir", "outputs/reproduce")).resolve() / spec.name / scale_name / stamp
    outcomes: dict[str, Outcome] = {r.id: Outcome("pending", error=f"pending: {r.pending}") for r in rows if r.pending}
    checkpoints: dict[str, str] = {}
    sweep_index = 0
    for phase in plan:
        runnable, blocked = [], []
        for row in phase:
            failed = [d for d in row.needs.values() if not outcomes[d].ok] if not dry_run else []
            (blocked if failed else runnable).append((row, failed))
        for row, failed in blocked:
            outcomes[row.id] = Outcome("missing", error=f"not run: needs row(s) {failed}, which did not succeed")
        try:
            groups = group_rows([r for r, _ in runnable], scale, extra, checkpoints, spec.name)
        except Exception as error:  # noqa: BLE001 - a config error fails these rows, the table is still written
            print(f"[reproduce] config error, rows {[r.name for r, _ in runnable]} not run: {error}", flush=True)
            for row, _ in runnable:
                outcomes[row.id] = Outcome("failed", error=f"config error: {error}")
            continue
        for group in groups:
            sweep_dir = runs_root / f"{sweep_index:02d}"
            sweep_index += 1
            if dry_run:
                print(" ".join(group.command(sweep_dir)))
                for row in group.rows:
                    checkpoints[row.id] = checkpoint_of(str(sweep_dir / "JOB"))
                continue
            for row_id, outcome in run_group(group, sweep_dir).items():
                outcomes[row_id] = outcome
                if outcome.ok:
                    checkpoints[row_id] = checkpoint_of(outcome.job_dir)
    if dry_run:
        return out_stem.with_suffix(".md")
    notes = [*(scale.get("notes") or []), f"Job folders: {runs_root}."]
    md_path, _ = aggregate(spec, outcomes, out_stem, notes, rows)
    print(md_path.read_text(encoding="utf-8"))
    print(f"[reproduce] wrote {md_path} and {md_path.with_suffix('.csv')}")
    return md_path


def main(argv: Sequence[str] | None = None) -> int:
    options, extra = parse_args(list(sys.argv[1:] if argv is None else argv))
    reproduce(options, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
