"""``RunFolder``: the one reader of a training run's folder, for every command that uses a finished run.

A run folder holds ``config_resolved.yaml`` (the whole config, resolved), ``.hydra/config.yaml`` (the
composed config before resolution), ``checkpoints/`` (``best*.ckpt``, ``last.ckpt``), ``results.json``
(the test's scores and the checkpoint it scored) and ``status.json``. The folder may come from someone
else, so its configs are read as data (``runs.read_run_config``: no resolver runs) and every node that is
instantiated goes through ``instantiate.resolved_run_node`` (only allow-listed targets).

``inpaint-eval`` (model, data, protocol, comparison rows), ``inpaint-train`` (the resume check),
``inpaint-predict`` / ``inpaint-export`` / ``load_model`` / the web demo (``api.load_run_module``) and
``reproduce`` (each job's status and results) read runs through it. Which file a folder stands for is
``runs.resolve_checkpoint``'s (best or last) and ``checkpoint_read.handed_on_checkpoint``'s (the one its
test scored, as ``handoff_checkpoint`` chose).
"""
from __future__ import annotations

import functools
import json
import pathlib
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from inpainting.eval.report import RESULTS_FILE
from inpainting.utils.instantiate import resolved_run_node
from inpainting.utils.runs import RESOLVED_CONFIG, STATUS_FILE, read_run_config

HYDRA_CONFIG = ".hydra/config.yaml"
ABSENT = "<absent>"
# module arguments renamed or moved since (old key -> new key, dotted for a nested node), and arguments added since
# per module (with the value every older run had implicitly), so that older run folders rebuild and resume; the
# stage files an adapter took as constructor arguments are the module's ``stage_weights`` now (docs/recipes.md#stage-files)
RENAMED_MODEL_KEYS = {"metric_protocol": "protocol",
                      "loss.normalise_l1_by_hole_ratio": "loss.normalize_l1_by_hole_ratio",
                      **{f"net.{key}": f"stage_weights.{key}"
                         for key in ("weights", "edge_weights", "inpaint_weights", "structure_weights", "flow_weights")}}
ADDED_MODEL_KEYS = {"inpainting.models.jpgnet.JPGNetModule": {
    "network": {"_target_": "inpainting.nets.jpgnet.JPGNet", "_partial_": True}}}


def current_model_keys(model: DictConfig) -> DictConfig:
    """An older run's ``model`` node in today's keys (``RENAMED_MODEL_KEYS`` moved, ``ADDED_MODEL_KEYS`` added);
    a current node unchanged."""
    renamed = [key for key in RENAMED_MODEL_KEYS if OmegaConf.select(model, key, default=ABSENT) != ABSENT]
    added = {k: v for k, v in ADDED_MODEL_KEYS.get(model.get("_target_"), {}).items() if k not in model}
    if not renamed and not added:
        return model
    model = model.copy()
    with open_dict(model):
        for old in renamed:
            parent, _, leaf = old.rpartition(".")
            value = (OmegaConf.select(model, parent) if parent else model).pop(leaf)
            OmegaConf.update(model, RENAMED_MODEL_KEYS[old], value, merge=False, force_add=True)
        model.update(added)
    return model


class RunFolder:
    """A finished (or interrupted) training run's folder, read as data."""

    def __init__(self, root: str | pathlib.Path):
        self.root = pathlib.Path(root)
        self.config_path = self.root / RESOLVED_CONFIG

    @classmethod
    def of(cls, path: str | pathlib.Path) -> RunFolder | None:
        """The run that ``path`` belongs to: a run folder, ``<run>/checkpoints/x.ckpt`` or ``<run>/x.ckpt``;
        None when no ``config_resolved.yaml`` is there (a bare checkpoint, an authors' file)."""
        path = pathlib.Path(path).expanduser().resolve()
        for folder in ([path] if path.is_dir() else path.parents[:2]):
            if (folder / RESOLVED_CONFIG).is_file():
                return cls(folder)
        return None

    def __repr__(self) -> str:
        return f"RunFolder({str(self.root)!r})"

    @functools.cached_property
    def config(self) -> DictConfig:
        """``config_resolved.yaml`` as data (any resolver in it is an ``UntrustedConfigError``); read it,
        never instantiate from it: ``model_config`` and ``data_config`` give what may be built."""
        return read_run_config(self.config_path)

    def model_config(self) -> DictConfig | None:
        """The run's ``model`` node with every target allow-listed; None when the config has none."""
        if "model" not in self.config:
            return None
        return current_model_keys(resolved_run_node(self.config.model, "model", self.config_path))

    def data_config(self, cfg: DictConfig, data_overrides: list[str] = ()) -> DictConfig | None:
        """The run's ``data`` node placed in ``cfg`` (this command's composed config), with
        ``data.<key>=...`` overrides applied, its key references resolved and its targets allow-listed.

        The unresolved ``.hydra/config.yaml`` is preferred, so this command's ``paths.data_dir=...``
        still moves the dataset; else ``config_resolved.yaml``. None when neither has a ``data`` node."""
        for name in (HYDRA_CONFIG, RESOLVED_CONFIG):
            path = self.root / name
            # .hydra/config.yaml holds resolvers of ours in `paths`: only its data section is read
            trained = read_run_config(path, "data") if path.is_file() else None
            if trained is not None and "data" in trained:
                break
        else:
            return None
        dotted = [o.lstrip("+") for o in data_overrides]
        data = OmegaConf.merge(trained.data, OmegaConf.from_dotlist(dotted).data) if dotted else trained.data
        placed = cfg.copy()  # its key references (`${paths.data_dir}`) resolve in this command's config
        with open_dict(placed):
            placed.data = data
        return resolved_run_node(placed.data, "data", path)

    @property
    def protocol(self) -> str:
        """The paper protocol the run was scored with (``metrics.protocol``; JPGNet rows set ``jpgnet``)."""
        return OmegaConf.select(self.config, "metrics.protocol", default=None) or "misf"

    def select(self, key: str) -> Any:
        """A value of the run's config by dotted key (None when absent), as data."""
        return OmegaConf.select(self.config, key, default=None)

    def check_resume(self, model_cfg: DictConfig, ckpt: str | pathlib.Path) -> None:
        """Raise ValueError showing every difference when ``model_cfg`` is not this run's model (an
        override that changes the model on resume); the schedule (``SCHEDULE_KEYS``) and the stage files
        (``STAGE_FILE_KEYS``) may change."""
        if "model" not in self.config:
            return
        may_change = tuple(f"model.{k}" for k in (*SCHEDULE_KEYS, *STAGE_FILE_KEYS))
        differences = [d for d in config_differences(current_model_keys(self.config.model), model_cfg, "model")
                       if not d.startswith(may_change)]
        if differences:
            raise ValueError(f"resuming {ckpt} with another model than its run's ({self.config_path}):\n  "
                             + "\n  ".join(differences) + "\nResume without model overrides, or start a new run "
                             f"with init_from={ckpt} to warm-start a changed model")

    def status(self) -> dict | None:
        """``status.json`` (ok, failed with the error, interrupted), or None before the run wrote one."""
        return self._json(STATUS_FILE)

    def results(self) -> dict | None:
        """``results.json``: the test's scores per row and bin and the checkpoint it scored; None untested."""
        return self._json(RESULTS_FILE)

    def _json(self, name: str) -> dict | None:
        path = self.root / name
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except ValueError as error:
            raise ValueError(f"{path} is not valid JSON ({error}); the run may have been killed while writing it") \
                from error


# schedule keys a resumed run may change (e.g. training longer re-derives a decay over the new length)
SCHEDULE_KEYS = ("optimizer", "d_optimizer", "scheduler", "max_iterations")
# the files a run starts from, which a resumed run never reads (its checkpoint holds every network): they may move
STAGE_FILE_KEYS = ("stage_weights", "pretrained")


def config_differences(before: Any, after: Any, key: str) -> list[str]:
    """``key.path: before -> after`` for every leaf that differs (missing: ``<absent>``)."""
    if isinstance(before, (DictConfig, ListConfig)):
        before = OmegaConf.to_container(before, resolve=True)
    if isinstance(after, (DictConfig, ListConfig)):
        after = OmegaConf.to_container(after, resolve=True)
    if isinstance(before, dict) and isinstance(after, dict):
        return [line for name in sorted(set(before) | set(after), key=str)
                for line in config_differences(before.get(name, ABSENT), after.get(name, ABSENT), f"{key}.{name}")]
    return [] if before == after else [f"{key}: {before} -> {after}"]
