"""Running jobs (one ``inpaint-train`` subprocess each, in dependency order) and checking data before a full run."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
import sys
from typing import Mapping, Sequence

from omegaconf import OmegaConf

from inpainting.reproduce.collect import Outcome, checkpoint_of, collect_job, one_line
from inpainting.reproduce.plan import NOT_RUN_YET, Job, Scale, compose_job, make_job
from inpainting.reproduce.spec import Row, phases

FIRST_IMAGES = 3  # images per split whose files the data check opens


def run_job(job: Job, env: Mapping[str, str]) -> Outcome:
    """Run the job's ``inpaint-train`` in a subprocess (its output in ``<run dir>/launch.log``) and read its folder."""
    job.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = job.run_dir / "launch.log"
    print(f"[reproduce] {job.row.name}{f' ({job.dataset})' if job.dataset else ''}: {job.command()}", flush=True)
    environment = {**env, **os.environ, "HYDRA_FULL_ERROR": "1"}  # the caller's environment wins
    environment.setdefault("INPAINTING_ROOT", os.getcwd())
    with log_path.open("w", encoding="utf-8") as log:
        code = subprocess.call([sys.executable, "-m", "inpainting.cli.train", *job.train_overrides],
                               stdout=log, stderr=subprocess.STDOUT, env=environment)
    outcome = collect_job(job.run_dir, job.row.id)
    if not outcome.ok and code != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        outcome.error = f"{outcome.error}; inpaint-train exited with code {code}: {' '.join(tail)} (see {log_path})"
    print(f"[reproduce]   {job.row.name}: {outcome.status}{'' if outcome.ok else ' - ' + one_line(outcome.error)}", flush=True)
    return outcome


def run_rows(rows: Sequence[Row], scale: Scale, table: str, dataset: str | None, data_config: str | None,
             extra: Sequence[str], runs_root: pathlib.Path, dry_run: bool, estimate: bool = False) -> dict[str, Outcome]:
    """Every runnable row in dependency order; a row whose stages did not succeed is not run. With ``dry_run``
    each job's command is printed (and composed, so that a bad key fails here) instead."""
    outcomes: dict[str, Outcome] = {r.id: Outcome("pending", error=f"pending: {r.pending}") for r in rows if r.pending}
    checkpoints: dict[str, str] = {}
    index = 0
    for phase in phases(rows):
        for row in phase:
            failed = [d for d in row.needs.values() if not dry_run and not outcomes[d].ok]
            if failed:
                outcomes[row.id] = Outcome("missing", error=f"not run: needs row(s) {failed}, which did not succeed")
                continue
            job = make_job(row, index, scale, table, dataset, data_config, checkpoints, extra, runs_root)
            index += 1
            try:
                compose_job(job)  # a key that does not exist fails here, naming it
            except Exception as error:  # noqa: BLE001 - a config error fails this row; the table is still written
                outcomes[row.id] = Outcome("failed", error=f"config error: {one_line(error)}")
                print(f"[reproduce] {row.name}: config error: {one_line(error)}", flush=True)
                continue
            if dry_run:
                print(f"  {row.name}: {job.command()}")
                if estimate:
                    print(f"    {estimate_time(job)}", flush=True)
                checkpoints[row.id] = str(job.run_dir / NOT_RUN_YET)
                continue
            outcomes[row.id] = outcome = run_job(job, scale.env)
            if outcome.ok and outcome.checkpoint:
                checkpoints[row.id] = checkpoint_of(outcome)
                if scale.keep_checkpoints == "tested":
                    prune_checkpoints(job.run_dir, pathlib.Path(checkpoints[row.id]))
    return outcomes


def prune_checkpoints(run_dir: pathlib.Path, tested: pathlib.Path) -> None:
    """Delete every checkpoint of ``run_dir`` but ``tested`` (the one its results and later stages use), and
    drop the optimizer states from that one: such a table is never resumed (an RFRNet file goes 375 -> 125 MB)."""
    import torch

    from inpainting.utils.atomic import atomic_path

    for path in run_dir.rglob("*.ckpt"):
        if path.resolve() != tested.resolve():
            path.unlink()
    checkpoint = torch.load(tested, map_location="cpu", weights_only=True)
    if checkpoint.pop("optimizer_states", None) is not None:
        checkpoint.pop("lr_schedulers", None)
        with atomic_path(tested) as tmp:
            torch.save(checkpoint, tmp)


def estimate_time(job: Job) -> str:
    """Estimated training time of one job on this machine, from a measured 20-batch throughput."""
    from inpainting.utils.throughput import format_duration, measure

    cfg = compose_job(job)
    try:
        per_batch, batches = measure(cfg)
    except Exception as error:  # noqa: BLE001 - an estimate that cannot be made is reported, not fatal
        return f"no estimate ({type(error).__name__}: {one_line(str(error), 200)})"
    device = cfg.trainer.get("accelerator", "auto")
    if batches is None:
        return f"{per_batch:.3g} s/batch on {device}; no iteration, step or epoch limit to multiply"
    return f"{per_batch:.3g} s/batch x {batches} batches = about {format_duration(per_batch * batches)} on {device} (validation excluded)"


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


# -- the full-scale data check ------------------------------------------------------------------
def _vgg_file(loss) -> pathlib.Path | None:
    """The VGG file a loss config reads, when one of its VGG terms is on (None otherwise)."""
    from inpainting.losses.vgg import VGG19_WEIGHTS_FILE
    from inpainting.utils.weights import VGG16_WEIGHTS_FILE, hub_checkpoint_path

    weights = (loss.get("weights") if loss is not None else None) or {}
    if loss is None or not any(weights.get(k) for k in ("perceptual", "style", "correctness")):
        return None
    if loss.get("vgg_weights_path"):
        return pathlib.Path(loss.vgg_weights_path)
    vgg16 = any(name in str(loss.get("_target_", "")).lower() for name in ("pconv", "ctsdg"))  # PConv, RFRNet, CTSDG: VGG16
    return hub_checkpoint_path(VGG16_WEIGHTS_FILE if vgg16 else VGG19_WEIGHTS_FILE)


def data_problems(cfg) -> list[str]:
    """What a job's ``data`` node needs and does not find: list files, image folders (the first images of
    each split opened), mask folders, RTV structure caches."""
    import hydra

    from inpainting.data.rtv import RTVStructureImages

    try:
        datamodule = hydra.utils.instantiate(cfg.data)
    except Exception as error:  # noqa: BLE001 - missing list files, folders: reported, with where they go
        return [one_line(error.__cause__ or error, None)]
    problems = []
    for split in ("train", "val", "test"):
        images = datamodule.images(split)
        for index in range(min(FIRST_IMAGES, len(images or ()))):
            if not images.paths[index].is_file():
                problems.append(f"{split} image {images.paths[index]} does not exist ({len(images)} listed)")
                break
            if isinstance(images, RTVStructureImages) and not images.structure_path(index).is_file():
                problems.append(f"{split} RTV structure {images.structure_path(index)} does not exist: fill the cache "
                                f"with `inpaint-rtv experiment=<the row's experiment> data=<the same data>`")
                break
    for what, masks in (("training masks", datamodule.train_masks), ("evaluation masks", datamodule.eval_masks),
                        ("test masks", datamodule.test_masks)):
        root = getattr(masks, "root", None)
        if root is not None and not pathlib.Path(root).is_dir():
            problems.append(f"{what}: folder {root} does not exist")
    return list(dict.fromkeys(problems))


def check_data(jobs: Sequence[Job]) -> list[str]:
    """The problems of every distinct data config and VGG loss file among ``jobs``, each said once with the
    rows it concerns and where the missing thing goes."""
    found: dict[str, list[str]] = {}
    by_data: dict[str, list[str]] = {}
    for job in jobs:
        cfg = compose_job(job)
        key = OmegaConf.to_yaml(cfg.data, resolve=True)
        if key not in by_data:
            choice = cfg.hydra.runtime.choices.get("data")
            where = (f"(data={choice}: put it where conf/data/{choice}.yaml expects it under paths.data_dir, now "
                     f"{cfg.paths.data_dir}, or pass paths.data_dir=<folder>; `inpaint-check-data data={choice} "
                     f"paths.data_dir=<folder>` lists every problem)")
            by_data[key] = [f"{problem} {where}" for problem in data_problems(cfg)]
        vgg = _vgg_file(OmegaConf.select(cfg, "model.loss")) if cfg.get("train", True) else None
        missing_vgg = [f"VGG weights {vgg} (the loss's perceptual/style terms) do not exist: copy torchvision's "
                       f"{vgg.name} there or set model.loss.vgg_weights_path"] if vgg is not None and not vgg.is_file() else []
        for problem in [*by_data[key], *missing_vgg]:
            found.setdefault(problem, []).append(job.row.name)
    return [f"{problem} [rows: {', '.join(dict.fromkeys(rows))}]" for problem, rows in found.items()]


def planned_jobs(rows: Sequence[Row], scale: Scale, table: str, dataset: str | None, data_config: str | None,
                 extra: Sequence[str], runs_root: pathlib.Path) -> list[Job]:
    """Every runnable row's job, stage checkpoints standing in as ``<stage run dir>/TESTED_CHECKPOINT``."""
    jobs, checkpoints = [], {}
    for index, row in enumerate(row for phase in phases(rows) for row in phase):
        jobs.append(make_job(row, index, scale, table, dataset, data_config, checkpoints, extra, runs_root))
        checkpoints[row.id] = str(jobs[-1].run_dir / NOT_RUN_YET)
    return jobs
