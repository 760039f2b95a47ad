"""Every row of every table, composed at ``scale=full`` for each of its datasets with its stage wiring, has
the recipe declared in ``experiments/recipes/`` (docs/recipes.md). Effective values only: the built optimizer,
the rate the built scheduler gives at 0/25/50/100 % of the run, the composed iterations, loss weights, masks,
the checkpoint each row hands on and which stage's run each row loads. Composition only: nothing trains."""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import hydra
import pytest
import torch
import yaml
from omegaconf import OmegaConf

from inpainting.models.schedules import lightning_scheduler
from inpainting.utils.resources import EXPERIMENTS_DIR, compose

RECIPES_DIR = EXPERIMENTS_DIR / "recipes"
SETTINGS = {"image_size", "batch", "shuffle", "eval_batch", "optimizer", "d_optimizer", "lr", "iterations", "loss",
            "masks", "handoff", "loads", "protocol", "other"}
STATUSES = {"faithful", "switch", "differs", "unknown"}
TRAINED = {"image_size", "batch", "optimizer", "lr", "iterations", "loss", "masks", "handoff", "protocol"}


def table_rows(table: str) -> tuple[dict[str, str], list[dict]]:
    """The table's data configs and its rows as ``{name, experiment, overrides, needs}`` with ``needs`` as
    ``{override key: needed row id}``. The one place that reads a table spec, through reproduce's own loader."""
    from inpainting import reproduce
    from inpainting.reproduce.plan import stage_overrides

    spec = reproduce.load_spec(table)
    by_id = {row.id: row for row in spec.rows}
    rows = []
    for row in spec.rows:
        if row.experiment is None:
            continue
        wiring = stage_overrides(row, {dep: f"/runs/{dep}" for dep in row.needs.values()})
        rows.append({"id": row.id, "name": row.name, "experiment": row.experiment, "overrides": list(row.overrides),
                     "needs": dict(row.needs), "loads": {key: by_id[dep].experiment for key, dep in row.needs.items()},
                     "wiring": wiring})
    return dict(spec.datasets), rows


def row_config(row: dict, data: str):
    """The composed job of ``row`` on ``data``, as reproduce runs it (row overrides, then its stage wiring)."""
    return composed(row["experiment"], data, (*row["overrides"], *row["wiring"]))


def metric_tables() -> list[str]:
    return sorted(p.stem for p in (EXPERIMENTS_DIR / "tables").glob("*.yaml")
                  if yaml.safe_load(p.read_text()).get("kind") == "metrics")


@functools.cache
def recipes() -> dict[str, dict]:
    """experiment -> {setting: declaration}, ``like:`` resolved."""
    raw = {}
    for path in sorted(RECIPES_DIR.glob("*.yaml")):
        raw.update(yaml.safe_load(path.read_text()).get("experiments", {}))

    def settings(name: str) -> dict:
        entry = raw[name]
        base = settings(entry["like"]) if "like" in entry else {}
        return {**base, **entry.get("settings", {})}

    return {name: settings(name) for name in raw}


@functools.cache
@functools.cache
def dataset_recipes() -> dict[str, dict]:
    """experiments/recipes/datasets.yaml: per data config its masks, training-list size and declared differences."""
    return yaml.safe_load((RECIPES_DIR / "datasets.yaml").read_text())["datasets"]


@functools.cache
def composed(experiment: str, data: str, overrides: tuple[str, ...]):
    """The job's config, resolved now: ``${hydra:...}`` reads the latest composition's choices (as a run
    resolves its own config when it starts)."""
    cfg = compose("train", [f"experiment={experiment}", f"data={data}", "scale=full", *overrides])
    del cfg.hydra
    OmegaConf.resolve(cfg)
    return cfg


def for_dataset(value, data: str):
    """A declared value, or its entry for ``data`` when it is a per-dataset mapping."""
    return value[data] if isinstance(value, Mapping) and set(value) <= set(dataset_recipes()) else value


def built_optimizer(config) -> dict:
    optimizer = hydra.utils.instantiate(config)(params=[torch.nn.Parameter(torch.zeros(1))])
    group = optimizer.param_groups[0]
    return {"name": type(optimizer).__name__, "lr": group["lr"], "betas": list(group["betas"])}


def run_length(cfg, data: str) -> tuple[int, int]:
    """(training iterations, optimizer steps per epoch) of the composed run on ``data``."""
    steps_per_epoch = int(dataset_recipes()[data]["train_images"]) // cfg.data.batch_size  # the training loader drops the last batch
    if cfg.model.get("max_iterations"):
        return int(cfg.model.max_iterations), steps_per_epoch
    limits = [cfg.trainer.max_steps] if cfg.trainer.max_steps > 0 else []
    limits += [cfg.trainer.max_epochs * steps_per_epoch] if cfg.trainer.max_epochs > 0 else []
    assert limits, "a paper row must end: trainer.max_steps or trainer.max_epochs"
    return int(min(limits)), steps_per_epoch


def learning_rates(cfg, data: str) -> list[float]:
    """The rate at 0, 25, 50 and 100 % of the run's optimizer steps, from the built scheduler."""
    total, steps_per_epoch = run_length(cfg, data)
    optimizer = hydra.utils.instantiate(cfg.model.optimizer)(params=[torch.nn.Parameter(torch.zeros(1))])
    if not cfg.model.get("scheduler"):
        return [optimizer.param_groups[0]["lr"]] * 4
    scheduler = lightning_scheduler(hydra.utils.instantiate(cfg.model.scheduler), optimizer, lambda: steps_per_epoch)
    assert scheduler.get("interval") == "step", "the paper schedules here step per optimizer step"
    points = [0, total // 4, total // 2, total - 1]
    rates = []
    for step in points:  # the closed form at a step equals stepping there (tests/models/test_schedules.py)
        scheduler["scheduler"].last_epoch = step
        rates.append(scheduler["scheduler"].get_lr()[0])
    return rates


def effective(setting: str, declared, cfg, data: str, row: dict):
    """The composed run's value of ``setting`` in the form it is declared."""
    if setting == "image_size":
        return cfg.data.image_size
    if setting == "batch":
        return cfg.data.batch_size
    if setting == "shuffle":
        return cfg.data.get("shuffle", True)  # the data module shuffles unless told otherwise
    if setting == "eval_batch":
        return cfg.data.eval_batch_size
    if setting in ("optimizer", "d_optimizer"):
        return built_optimizer(cfg.model[setting])
    if setting == "lr":
        return learning_rates(cfg, data)
    if setting == "iterations":
        return run_length(cfg, data)[0]
    if setting == "loss":
        return {key: OmegaConf.select(cfg.model, key) for key in declared}
    if setting == "other":
        return {key: OmegaConf.to_container(v) if OmegaConf.is_config(v := OmegaConf.select(cfg, key)) else v
                for key in declared}
    if setting == "masks":
        return cfg.data.get("train_pipeline") or "misf"
    if setting == "handoff":
        return cfg.handoff_checkpoint
    if setting == "loads":
        return row["loads"]
    if setting == "protocol":
        return cfg.metrics.protocol
    raise AssertionError(f"no reading for setting {setting!r}")


def differences(experiment: str, data: str, cfg, row: dict) -> list[str]:
    declared = recipes()[experiment]
    found = []
    for setting, entry in declared.items():
        want = for_dataset(entry["value"], data)
        if setting == "lr" and not isinstance(want, list):
            want = [want] * 4  # a number: constant
        got = effective(setting, want, cfg, data, row)
        if not _equal(got, want):
            found.append(f"{setting}: composed {got!r}, declared {want!r} ({entry.get('source')})")
    return found


def _equal(got, want) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        return isinstance(got, (int, float)) and math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12)
    if isinstance(want, (list, tuple)):
        return isinstance(got, (list, tuple)) and len(got) == len(want) and all(map(_equal, got, want))
    if isinstance(want, Mapping):
        return isinstance(got, Mapping) and set(got) == set(want) and all(_equal(got[k], want[k]) for k in want)
    return got == want


ROWS = [(table, data, row) for table in metric_tables() for data in table_rows(table)[0].values()
        for row in table_rows(table)[1]]


def test_every_declaration_is_well_formed_and_every_row_is_declared():
    for experiment, settings in recipes().items():
        assert set(settings) <= SETTINGS, (experiment, set(settings) - SETTINGS)
        for setting, entry in settings.items():
            statuses = entry["status"].values() if isinstance(entry["status"], Mapping) else [entry["status"]]
            assert set(statuses) <= STATUSES and entry.get("source"), (experiment, setting)
            if set(statuses) - {"faithful"}:
                assert entry.get("reason"), f"{experiment}.{setting}: a non-faithful value needs its reason"
            if "switch" in statuses:
                assert entry.get("switch"), f"{experiment}.{setting}: a switch names its override"
    for path in RECIPES_DIR.glob("*.yaml"):
        entries = yaml.safe_load(path.read_text())
        for entry in [*entries.get("experiments", {}).values(), *entries.get("datasets", {}).values()]:
            for item in entry.get("declared", []):
                assert item["status"] in STATUSES and item.get("what") and item.get("reason"), (path.name, item)
                assert item["status"] != "switch" or item.get("switch"), (path.name, item)
    for table, _, row in ROWS:
        settings = recipes().get(row["experiment"])
        assert settings is not None, f"{table}: row {row['name']!r} runs {row['experiment']}, which no recipe declares"
        if row_config(row, "places2").get("train", True):
            assert TRAINED <= set(settings), (row["experiment"], TRAINED - set(settings))
        if row["loads"]:
            assert "loads" in settings, f"{table}: row {row['name']!r} loads stages its recipe does not declare"


@pytest.mark.parametrize("table, data, row", ROWS, ids=[f"{t}-{d}-{r['name']}" for t, d, r in ROWS])
def test_row_composes_to_its_declared_recipe(table, data, row):
    cfg = row_config(row, data)
    for override in row["wiring"]:  # each stage's run reaches the key the row's model reads it from
        key, value = override.split("=", 1)
        assert OmegaConf.select(cfg, key) == value, override
    found = differences(row["experiment"], data, cfg, row)
    masks = dataset_recipes()[data]["masks"]["value"]
    if cfg.get("train", True):
        got = {key: cfg.data.train_masks.get(key, False) for key in masks}
        if got != masks:
            found.append(f"masks of {data}: composed {got}, declared {masks}")
    assert not found, f"{table} / {data} / {row['name']} ({row['experiment']}):\n  " + "\n  ".join(found)


def test_the_stages_a_row_loads_hand_on_the_checkpoint_their_recipe_declares():
    """Stage wiring: each needed row's run is one that tests and hands on the declared checkpoint."""
    for table, data, row in ROWS:
        stages = {r["id"]: r for t, d, r in ROWS if t == table and d == data}
        for dep in row["needs"].values():
            stage = stages[dep]
            declared = recipes()[stage["experiment"]]["handoff"]["value"]
            assert row_config(stage, data).handoff_checkpoint == declared, (table, row["name"], stage["name"])


def test_a_changed_recipe_value_is_caught():
    """The check is not vacuous: one changed value in a composed row is reported with its source."""
    row = next(r for t, d, r in ROWS if r["experiment"] == "jpgnet_pfunet")
    cfg = composed("jpgnet_pfunet", "dunhuang", ("trainer.max_epochs=-1",))  # the bug of issue 21 item 4
    with pytest.raises(ValueError, match="epochs must be the run's number of epochs"):
        differences("jpgnet_pfunet", "dunhuang", cfg, row)
    cfg = composed("rfrnet", "celeba", ("trainer.max_steps=2000000",))
    assert differences("rfrnet", "celeba", cfg, {"loads": {}}) == [
        "iterations: composed 2000000, declared 350000 (README:96-100 (Places2 2M, CelebA 350k); run.py:15 num_iters "
        "450,000 default)"]
