"""What every inpainting LightningModule shares: composite, binned val/test metrics, optimizers.

Subclasses provide ``forward(image, mask) -> dict`` (at least ``pred``: the raw network output in
[0,1]-image convention, plus optional maps such as ``uncertainty``) and ``training_step``.
Validation metrics follow the papers' protocol (``inpainting.eval.metrics``): they score the composite
``pred*mask + image*(1-mask)`` per image and per hole-ratio bin. ``test_step`` only returns the
prediction; the ``TestReport`` callback (``inpainting.callbacks.report``) scores and writes the test tables.

Stage files (``stage_weights``: a trained earlier stage, the authors' file, a warm start) are read once, by the
network's own ``load_stage_weights``, when the trainer starts fitting or testing WITHOUT a checkpoint. A checkpoint
of the module holds every network, so building a model from a run's config reads no file, and resuming, evaluating
or predicting with a run never needs its stage files (docs/recipes.md#stage-files).
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Callable, Sequence

import lightning as L
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import nn

from inpainting.data.bins import PAPER_BIN_EDGES, bin_names, check_edges
from inpainting.data.datasets import is_padding
from inpainting.data.derived import derived_of, net_inputs, with_derived
from inpainting.eval.engine import batch_bins
from inpainting.eval.metrics import BinnedInpaintingMetrics, check_finite, check_protocol, flat_metrics
from inpainting.models.schedules import lightning_scheduler, optimizer_steps_per_epoch
from inpainting.utils.checkpoint_read import load_state_dict_strict, read_checkpoint
from inpainting.utils.composite import composite

# our datamodule leaves on_before_batch_transfer to the module (which knows the network's derived inputs)
warnings.filterwarnings("ignore", message=".*overridden `on_before_batch_transfer` in `LightningModule` but have passed in a")


def _plain(value: Any) -> Any:
    """OmegaConf containers (and dicts holding them) as plain Python values."""
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def held_model(ckpt: str) -> str:
    """What a checkpoint of ours holds, for error messages: its run's model target and row name, read
    as plain text (no interpolation is resolved: the file may come from anyone)."""
    from inpainting.utils.run_folder import RunFolder

    run = RunFolder.of(ckpt)
    if run is None:
        return "the weights of a model unknown: no config_resolved.yaml in its run folder"
    model = OmegaConf.to_container(OmegaConf.load(run.config_path), resolve=False).get("model") or {}
    return f"a {model.get('_target_', '?')} ({model.get('method_name', '?')}) per {run.config_path}"


class InpaintingModule(L.LightningModule):
    """Args:
        net: the adapter (``forward(image, mask) -> {"pred": ...}``).
        optimizer, scheduler: ``_partial_`` factories.
        method_name: the row name in the test tables.
        bin_edges: hole-ratio bins of the validation metrics (``${data.bin_edges}``).
        stage_weights: ``{keyword: path}`` for ``net.load_weights`` (keywords of the adapter's ``weight_files``, e.g.
            ``weights``, ``edge_weights``): a run folder (the checkpoint it hands on), our run's ``.ckpt`` or the
            authors' file; read when a run starts without a checkpoint (see the module docstring).
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        method_name: str = "model",
        bin_edges: Sequence[float] = PAPER_BIN_EDGES,
        protocol: str = "misf",  # misf | jpgnet: how validation scores L1 (eval.metrics)
        stage_weights: Mapping[str, Any] | None = None,
    ):
        super().__init__()
        self.net = net
        self.stage_weights = _plain(dict(stage_weights or {}))
        self._stages_loaded = False
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.method_name = method_name
        self.val_metrics = BinnedInpaintingMetrics(bin_names(check_edges(bin_edges)), protocol=check_protocol(protocol))

    # -- conventions --------------------------------------------------------------------------
    def forward(self, image: torch.Tensor, mask: torch.Tensor, **derived: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.net(image, mask, **derived)

    def forward_batch(self, batch: dict) -> dict[str, torch.Tensor]:
        """``forward`` on a batch, with the derived inputs it carries (``inpainting.data.derived``)."""
        return self(batch["image"], batch["mask"], **net_inputs(batch, derived_of(self.net)))

    def with_derived(self, batch: dict) -> dict:
        """The batch with its derived inputs: as it is when it came through ``on_before_batch_transfer``."""
        return with_derived(batch, derived_of(self.net))

    # -- stage files: read once, when a run starts without a checkpoint ------------------------------
    def load_stage_files(self) -> None:
        """Read ``stage_weights`` into ``net`` (given files only: none given keeps its initialisation). A module of
        several stages, or one whose stages must be given, overrides it."""
        if self.stage_weights:
            self.net.load_stage_weights(self.stage_weights)

    def _load_stage_files_unless_restored(self) -> None:
        if not self._stages_loaded and self.trainer.ckpt_path is None:
            self.load_stage_files()
        self._stages_loaded = True

    def on_fit_start(self) -> None:
        self._load_stage_files_unless_restored()

    def on_test_start(self) -> None:
        self._load_stage_files_unless_restored()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._stages_loaded = True  # the checkpoint holds every network

    # -- derived inputs: computed on the CPU, into the batch (no host round trip in a step) ----------------
    def setup(self, stage: str) -> None:
        super().setup(stage)
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if hasattr(datamodule, "derived"):  # computed in its DataLoader workers
            datamodule.derived = derived_of(self.net)

    def on_before_batch_transfer(self, batch, dataloader_idx: int):
        """Fill the derived inputs a batch lacks (a DataLoader of one's own), still on the CPU."""
        return self.with_derived(batch) if isinstance(batch, dict) and "mask" in batch else batch

    @torch.no_grad()
    def inpaint(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Composited result for images in [0,1] and masks with 1 = hole."""
        return composite(self(image, mask)["pred"], image, mask)

    # -- validation and test --------------------------------------------------------------------
    def evaluation_pair(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(prediction, target) that val/test score; a stage predicting something else (edges) overrides it."""
        return self.forward_batch(batch)["pred"], batch["image"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        if is_padding(batch):  # a rank without pairs of its own: it only joins the epoch-end collectives
            self.val_metrics.join_without_images()
            return
        pred, target = self.evaluation_pair(batch)
        self._check_finite(pred, "validation output", batch, batch_idx)
        self.val_metrics.update(pred, target, batch["mask"], batch_bins(batch))

    def on_validation_epoch_end(self) -> None:
        # the metric objects have already gathered every rank's images: no reduction
        self.log_dict(flat_metrics("val", {k: v.item() for k, v in self.val_metrics.compute().items()}), sync_dist=False)
        self.val_metrics.reset()

    def test_step(self, batch: dict, batch_idx: int) -> dict[str, torch.Tensor]:
        """The batch's prediction and target as a value: the ``TestReport`` callback scores and reports them."""
        pred, target = self.evaluation_pair(batch)
        self._check_finite(pred, "test output", batch, batch_idx)
        return {"pred": pred, "target": target}

    # -- numbers that are not numbers stop the run (no batch is skipped) -------------------------
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if isinstance(batch, dict):
            for key in ("image", "mask"):
                if key in batch:
                    self._check_finite(batch[key], f"training batch {key}", batch, batch_idx)

    def on_before_backward(self, loss: torch.Tensor) -> None:
        # before the optimizer step: the weights stay finite, so no NaN checkpoint can be saved or chosen
        check_finite(loss.detach(), f"loss at global step {self.global_step} (epoch {self.current_epoch}); "
                     "lower the learning rate (model.optimizer.lr) or check the data")

    def _check_finite(self, x: torch.Tensor, what: str, batch: dict, batch_idx: int) -> None:
        names = batch.get("name") if isinstance(batch, dict) else None
        files = f", images {list(names)[:4]}" if names else ""
        check_finite(x.detach(), f"{what} at global step {self.global_step} (epoch {self.current_epoch}, "
                                 f"batch {batch_idx}{files})")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Hydra passes mappings as DictConfig, which weights_only=True loading rejects: store plain values
        if "hyper_parameters" in checkpoint:
            checkpoint["hyper_parameters"] = _plain(checkpoint["hyper_parameters"])

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location=None, **kwargs):
        """The module of a checkpoint of ours, rebuilt from its run's ``config_resolved.yaml`` (the
        networks are constructor arguments, so Lightning's hparams-based loader cannot rebuild it)."""
        from inpainting.api import load_run_module

        if kwargs:
            raise TypeError(f"load_from_checkpoint takes no overrides ({', '.join(kwargs)}): edit the run's "
                            "config_resolved.yaml, or instantiate the model and call load_weights(path)")
        model, _ = load_run_module(checkpoint_path, map_location or "cpu")
        if not isinstance(model, cls):
            raise TypeError(f"{checkpoint_path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def load_weights(self, path: str) -> None:
        """Warm start from a Lightning checkpoint's weights only (no optimizer or loop state).

        Weights that do not fit this model (another model, another width: ``init_from``, a run whose
        config and checkpoint disagree) are a CheckpointError naming the file, what it holds and every
        missing, unexpected or differently shaped tensor this model expects. The checkpoint holds every network:
        the stage files are not read afterwards."""
        state = read_checkpoint(path)
        if "state_dict" not in state:
            raise ValueError(f"{path}: not a Lightning checkpoint (no 'state_dict'); use the model's official loader")
        load_state_dict_strict(self, state["state_dict"], f"{path} (it holds {held_model(path)})")
        self._stages_loaded = True

    # -- optimization -------------------------------------------------------------------------
    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise ValueError(f"{type(self).__name__} has no optimizer configured (model.optimizer)")
        optimizer = self.optimizer_factory(params=[p for p in self.net.parameters() if p.requires_grad])
        if self.scheduler_factory is None:
            return optimizer
        # a factory, or {scheduler: factory, interval: step|epoch, ...} (inpainting.models.schedules)
        scheduler = lightning_scheduler(self.scheduler_factory, optimizer, lambda: optimizer_steps_per_epoch(self.trainer))
        return {"optimizer": optimizer, "lr_scheduler": scheduler}
