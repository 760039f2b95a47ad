"""A summary at the end of every multirun (``-m`` sweeps, Optuna searches, any launcher): one line per job with
its status and objective, printed and written to ``<sweep dir>/summary.md``.

A Hydra callback (``hydra.callbacks.sweep_summary`` in ``conf/hydra/default.yaml``): it reads what each job
left in its folder (``status.json``: ok / failed / the error, and the objective a training run writes there;
``.hydra/overrides.yaml``: what the job changed), so it sees the jobs of every launcher alike.
"""
from __future__ import annotations

import json
import logging
import pathlib

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, ListConfig, OmegaConf

from inpainting.utils.runs import STATUS_FILE

log = logging.getLogger(__name__)
SUMMARY_FILE = "summary.md"


def job_rows(sweep_dir: pathlib.Path) -> list[dict]:
    """``{"job", "status", "objective", "overrides"}`` per job folder (``<sweep dir>/<n>/``), in job order."""
    rows = []
    folders = [p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()] if sweep_dir.is_dir() else []
    for folder in sorted(folders, key=lambda p: int(p.name)):
        try:
            status = json.loads((folder / STATUS_FILE).read_text())
        except (OSError, ValueError):
            status = {"status": "no status.json (did not start, or was killed)"}
        try:
            overrides = yaml.safe_load((folder / ".hydra/overrides.yaml").read_text()) or []
        except (OSError, yaml.YAMLError):
            overrides = []
        state = status.get("status", "?")
        if state != "ok" and status.get("error"):
            state = f"{state}: {status['error'].splitlines()[0][:120]}"
        rows.append({"job": folder.name, "status": state, "objective": status.get("objective"),
                     "overrides": [str(o) for o in overrides]})
    return rows


def summary_markdown(rows: list[dict], metric: str | None, direction: str | None) -> str:
    """The jobs as a table; the overrides every job shares are said once, each row shows what it varies."""
    ok = sum(r["status"] == "ok" for r in rows)
    common = set.intersection(*(set(r["overrides"]) for r in rows))
    varied = {r["job"]: " ".join(o for o in r["overrides"] if o not in common) for r in rows}
    lines = [f"{len(rows)} job(s): {ok} ok, {len(rows) - ok} not ok. Objective: {metric or 'none'}"
             + (f" ({direction})" if direction else ""),
             f"Every job: {' '.join(o for o in rows[0]['overrides'] if o in common) or '(no common override)'}", "",
             "| job | status | objective | overrides |", "|---:|:---|---:|:---|"]
    for row in rows:
        value = "" if row["objective"] is None else f"{row['objective']:.4f}"
        lines.append(f"| {row['job']} | {row['status']} | {value} | {varied[row['job']]} |")
    scored = [r for r in rows if r["objective"] is not None]
    if scored and direction:
        best = (max if direction.startswith("max") else min)(scored, key=lambda r: r["objective"])
        lines += ["", f"Best: job {best['job']}, {metric} = {best['objective']:.4f} ({varied[best['job']]})"]
    return "\n".join(lines) + "\n"


class SweepSummary(Callback):
    """Prints and writes the summary of a multirun's jobs once the launcher has returned."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = pathlib.Path(config.hydra.sweep.dir)
        rows = job_rows(sweep_dir)
        if not rows:
            return
        direction = _direction(config)
        text = summary_markdown(rows, config.get("optimized_metric"), direction)
        (sweep_dir / SUMMARY_FILE).write_text(text)
        log.info("sweep summary (%s):\n%s", sweep_dir / SUMMARY_FILE, text)


def _direction(config: DictConfig) -> str | None:
    """The sweeper's direction (Optuna: ``hydra.sweeper.direction``, the first of several), else None: a plain
    sweep ranks nothing."""
    direction = OmegaConf.select(config, "hydra.sweeper.direction", default=None)
    if isinstance(direction, ListConfig):
        direction = direction[0] if len(direction) else None
    return str(direction).rsplit(".", 1)[-1] if direction is not None else None
