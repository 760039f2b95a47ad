"""One table at one scale: plan the jobs per dataset, check the data, run (or print) them, write the report."""
from __future__ import annotations

import dataclasses
import datetime
import os
import pathlib
import time
from typing import Sequence

from inpainting.reproduce.collect import Outcome
from inpainting.reproduce.plan import load_scale
from inpainting.reproduce.report import write_report
from inpainting.reproduce.run import check_data, planned_jobs, released_rows, run_rows
from inpainting.reproduce.spec import SpecError, load_spec, select_rows
from inpainting.utils.devices import machine_description, resolve_device
from inpainting.utils.resources import override_key

OPTIONS = ("table", "rows", "datasets", "out_dir", "runs_dir", "weights", "dry_run", "estimate")


@dataclasses.dataclass
class Reproduced:
    report: pathlib.Path  # the markdown report (not written by a dry run)
    outcomes: dict[str | None, dict[str, Outcome]]  # dataset label -> row id -> outcome

    @property
    def failed_rows(self) -> list[str]:
        return [f"{row} ({label})" if label else row for label, per_row in self.outcomes.items()
                for row, o in per_row.items() if o.failed]


def job_overrides(cli_overrides: Sequence[str]) -> list[str]:
    """The command line's training overrides (everything but this command's own options and ``scale``)."""
    extra = [o for o in cli_overrides if override_key(o) not in (*OPTIONS, "scale")]
    if any(override_key(o) == "experiment" for o in extra):
        raise SpecError("experiment= is each row's own (experiments/tables/<table>.yaml); pick rows with rows=[...]")
    return extra


def run_line(started: float) -> str:
    """When, how long and on what the table ran (the jobs' thread count is their OMP_NUM_THREADS)."""
    wall = int(time.monotonic() - started)
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    return (f"Ran {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC (end), {wall // 3600} h {wall % 3600 // 60:02d} min "
            f"{wall % 60:02d} s wall for the whole table; machine: {machine_description(resolve_device().type)}; "
            f"OMP_NUM_THREADS={threads}.")


def reproduce(table: str, scale_name: str = "demo", extra: Sequence[str] = (), rows: Sequence[str] = (),
              datasets: Sequence[str] = (), out_dir: str | None = None, runs_dir: str = "outputs/reproduce",
              weights: str | None = None, dry_run: bool = False, estimate: bool = True) -> Reproduced:
    """Run (or with ``dry_run`` print) ``table`` at ``scale_name``; ``extra``: training overrides for every job."""
    spec = load_spec(table)
    started = time.monotonic()
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    runs_root = pathlib.Path(runs_dir).resolve() / spec.name / scale_name / stamp
    report_dir = pathlib.Path(out_dir) if out_dir else runs_root  # never into the source tree unless asked
    out_stem = report_dir / (spec.name if scale_name == "full" else f"{spec.name}_{scale_name}")
    if spec.kind == "timing":
        from inpainting.reproduce.timing import run_timing_table

        if dry_run:
            print(f"[reproduce] {spec.name} scale={scale_name}: times PFUNet, UAFNet and the DGNets in this process")
            return Reproduced(out_stem.with_suffix(".md"), {})
        timing_spec, outcomes, note = run_timing_table(spec, scale_name, extra)
        first = next(iter(timing_spec.raw.get("datasets") or {}), None) or "Places2"
        md, _ = write_report(timing_spec, {None: outcomes}, out_stem,
                             [note, f"The paper column is the paper's {first} block (one Tesla V100)."], paper_dataset=first)
        print(md.read_text(encoding="utf-8"))
        return Reproduced(md, {None: outcomes})

    scale = load_scale(scale_name, extra)
    chosen = select_rows(spec.rows, rows)
    unknown = set(datasets) - set(spec.datasets)
    if unknown:
        raise SpecError(f"unknown datasets {sorted(unknown)}; {spec.name} has {list(spec.datasets)}")
    # scale=full|released: one pass per paper dataset (data=<its config>); smaller scales: one pass on the scale's data
    passes = ({label: config for label, config in spec.datasets.items() if not datasets or label in datasets}
              if scale.per_dataset else {None: None})
    if scale.released and not weights:
        raise SpecError("scale=released needs weights=<folder with the authors' files> (WEIGHTS=<dir> with make reproduce)")

    todo, preset = {}, {}
    for label in passes:
        todo[label], preset[label] = (released_rows(chosen, label, pathlib.Path(weights)) if scale.released
                                      else (chosen, {}))
    problems: dict[str | None, list[str]] = {}
    if scale.check_data:
        problems = {label: found for label, config in passes.items()
                    if (found := check_data(planned_jobs(todo[label], scale, spec.name, label, config, extra, runs_root)))}
        if problems:
            text = "\n".join(f"  {label}: {p}" for label, found in problems.items() for p in found)
            if not dry_run:
                raise SpecError(f"[reproduce] {spec.name} scale={scale_name}: not starting, data missing:\n{text}")
            print(f"[reproduce] {spec.name} scale={scale_name}: missing data (dry run):\n{text}")

    sections: dict[str | None, dict[str, Outcome]] = {}
    for label, config in passes.items():
        if dry_run:
            print(f"[reproduce] {spec.name} scale={scale_name}" + (f", dataset {label}" if label else "") + ": one job per line")
        sections[label] = {**preset[label], **run_rows(todo[label], scale, spec.name, label, config, extra,
                                                        runs_root, dry_run, estimate and dry_run and label not in problems)}
    if dry_run:
        return Reproduced(out_stem.with_suffix(".md"), sections)
    first_paper_dataset = next(iter(spec.datasets), None)
    jobs = os.path.relpath(runs_root, report_dir.resolve())
    # a table whose own recipe replaces the scale's data or length describes itself (spec `notes`)
    notes = [*(spec.raw.get("notes") or scale.notes), run_line(started),
             "Job folders: the numbered folders next to this report." if jobs == "."
             else f"Job folders: {jobs} (relative to this report)."]
    if not scale.paper_column:
        notes.append(f"No paper column at scale={scale.name}: these numbers are not comparable with the paper's.")
    elif not scale.per_dataset and first_paper_dataset:
        notes.append(f"The paper column is the paper's {first_paper_dataset} column; our numbers come from the scale's own data.")
    md, csv_path = write_report(spec, sections, out_stem, notes, chosen, paper_dataset=first_paper_dataset,
                                paper_column=scale.paper_column)
    print(md.read_text(encoding="utf-8"))
    print(f"[reproduce] wrote {md} and {csv_path}")
    return Reproduced(md, sections)
