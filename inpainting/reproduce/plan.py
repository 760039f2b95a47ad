"""Jobs: one ``inpaint-train`` run per (row, dataset), composed by Hydra from the row's experiment and the scale.

A job's overrides are ``experiment=<row's> scale=<scale> [data=<dataset's config>]``, the row's own
``overrides``, its stage checkpoints (``needs``), ``reproduce.table=`` / ``reproduce.row=`` (written into
the job's ``results.json``, so its report knows which row it is) and the user's overrides last (they win
for the same key). Nothing else: the scale's narrowing of each network is composed by Hydra
(``conf/scale_model/``), so ``inpaint-train`` with these overrides is exactly the job.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import shlex
from typing import Iterable, Mapping, Sequence

from inpainting.reproduce.spec import Row
from inpainting.utils.resources import CONFIG_DIR, compose, override_key

NOT_RUN_YET = "TESTED_CHECKPOINT"  # a dry run's stand-in for a stage checkpoint (known once the stage ran)


@dataclasses.dataclass(frozen=True)
class Scale:
    """The ``scale`` node of ``conf/scale/<name>.yaml``, as Hydra composes it (what reproduce needs beyond ``scale=<name>``)."""

    name: str
    per_dataset: bool = False  # one pass per paper dataset (data=<its config>), else one pass on the scale's data
    check_data: bool = False
    released: bool = False
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    keep_checkpoints: str = "all"  # all | tested (the others are deleted once the job succeeded)
    paper_column: bool = True  # the paper's values and Δ beside ours (off where the scale makes them meaningless)


def load_scale(name: str, overrides: Sequence[str] = ()) -> Scale:
    known = sorted(p.stem for p in (CONFIG_DIR / "scale").glob("*.yaml"))
    if name not in known:
        raise ValueError(f"unknown scale {name!r}; choose from {known}")
    node = compose("train", [f"scale={name}", *overrides]).scale
    if node.get("keep_checkpoints", "all") not in ("all", "tested"):
        raise ValueError(f"conf/scale/{name}.yaml: scale.keep_checkpoints must be all or tested, got {node.keep_checkpoints!r}")
    return Scale(name, bool(node.get("per_dataset")), bool(node.get("check_data")), bool(node.get("released")),
                 {k: str(v) for k, v in (node.get("env") or {}).items()}, tuple(node.get("notes") or ()),
                 str(node.get("keep_checkpoints") or "all"), bool(node.get("paper_column", True)))


def merge_overrides(*layers: Iterable[str]) -> list[str]:
    """Later layers replace earlier entries with the same key (Hydra rejects a key given twice)."""
    merged: dict[str, str] = {}
    for layer in layers:
        for override in layer:
            merged.pop(override_key(override), None)
            merged[override_key(override)] = override
    return list(merged.values())


SAFE = re.compile(r"[A-Za-z0-9_./-]+")


def quoted(value: object) -> str:
    """A Hydra override value taken literally (row names hold spaces, dots, parentheses, commas)."""
    text = str(value)
    return text if SAFE.fullmatch(text) else "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def shell_word(arg: str) -> str:
    """``arg`` for a POSIX shell, readable: double quotes around Hydra's single-quoted values."""
    if SAFE.fullmatch(arg.replace("=", "").replace(",", "")):
        return arg
    return f'"{arg}"' if not set(arg) & set('"$`\\!') else shlex.quote(arg)


def stage_overrides(row: Row, checkpoints: Mapping[str, str]) -> list[str]:
    """``needs`` as overrides: ``<key>: <row id>`` sets ``model.stage_weights.<key>`` (e.g. ``weights``,
    ``structure_weights``, ``dgnet.edge_weights``) to the checkpoint that row tested, or the key itself when it
    is a full ``model.*`` key (CTSDG's ``model.pretrained``: generator and discriminator)."""
    return [f"{key if key.startswith('model.') else f'model.stage_weights.{key}'}={quoted(checkpoints[dep])}"
            for key, dep in sorted(row.needs.items())]


@dataclasses.dataclass(frozen=True)
class Job:
    """One training (or test-only) run of one row on one dataset."""

    row: Row
    dataset: str | None  # the paper column (None: the scale's own data)
    overrides: tuple[str, ...]
    run_dir: pathlib.Path

    @property
    def train_overrides(self) -> list[str]:
        return [*self.overrides, f"hydra.run.dir={quoted(self.run_dir)}"]

    def command(self) -> str:
        """The ``inpaint-train`` command line of this job (what ``dry_run=true`` prints)."""
        return " ".join(shell_word(arg) for arg in ["inpaint-train", *self.train_overrides])


def run_dir_name(index: int, row: Row) -> str:
    return f"{index:02d}_{re.sub(r'[^A-Za-z0-9._-]+', '_', row.id).strip('_.') or 'row'}"


def make_job(row: Row, index: int, scale: Scale, table: str, dataset: str | None, data_config: str | None,
             checkpoints: Mapping[str, str], extra: Sequence[str], runs_root: pathlib.Path) -> Job:
    """The job of ``row`` (``checkpoints``: row id -> the checkpoint that row tested, for its ``needs``)."""
    overrides = merge_overrides(
        [f"experiment={row.experiment}", f"scale={scale.name}", *([f"data={data_config}"] if data_config else [])],
        row.overrides,
        stage_overrides(row, checkpoints),
        [f"reproduce.table={quoted(table)}", f"reproduce.row={quoted(row.id)}"],
        [f"logger.wandb.group={quoted(table)}"] if "logger=wandb" in extra else [],
        extra,
    )
    return Job(row, dataset, tuple(overrides), runs_root / (dataset or ".") / run_dir_name(index, row))


def compose_job(job: Job):
    """The job's config as ``inpaint-train`` composes it (raises naming the bad key)."""
    return compose("train", job.train_overrides)
