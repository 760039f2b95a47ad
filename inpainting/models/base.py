"""What every inpainting LightningModule shares: composite, binned val/test metrics, optimizers.

Subclasses provide ``forward(image, mask) -> dict`` (at least ``pred``: the raw network output in
[0,1]-image convention, plus optional maps such as ``uncertainty``) and ``training_step``.
Metrics follow the papers' protocol (method-spec section 4): they score the composite
``pred*mask + image*(1-mask)`` per image and per hole-ratio bin.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import lightning as L
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import nn

from inpainting.eval.evaluator import optional_scorers, table_values
from inpainting.eval.fid import DEFAULT_MIN_IMAGES, BinnedFID, try_inception_features
from inpainting.eval.metrics import BinnedInpaintingMetrics, composite

INPUT_ROW = "Input"
# classical_rows name -> (table row, eval.classical method)
CLASSICAL_ROWS = {"telea": ("Telea", "telea"), "navier_stokes": ("Navier-Stokes", "navier_stokes"),
                  "biharmonic": ("Biharmonic", "biharmonic")}


def _plain(value: Any) -> Any:
    """OmegaConf containers (and dicts holding them) as plain Python values."""
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class InpaintingModule(L.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        scheduler: Callable[..., Any] | None = None,
        method_name: str = "model",
        classical_rows: Sequence[str] = (),
    ):
        super().__init__()
        self.net = net
        # extra test-table rows: classical methods on the same pairs (keys of CLASSICAL_ROWS)
        unknown = sorted(set(classical_rows) - set(CLASSICAL_ROWS))
        if unknown:
            raise ValueError(f"unknown classical_rows {unknown}; choose from {sorted(CLASSICAL_ROWS)}")
        self.classical_rows = list(classical_rows)
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.method_name = method_name
        self.bin_names: list[str] = []
        self.test_results: dict[str, dict] = {}
        self.test_rows: list[dict] = []
        self.metric_options: dict[str, Any] = {}
        self.test_unavailable: dict[str, str] = {}
        self.test_fid = self.input_fid = None

    def configure_test_metrics(
        self,
        lpips: bool = False,
        lpips_weights: str | None = None,
        fid: bool = False,
        fid_weights: str | None = None,
        fid_min_images: int = DEFAULT_MIN_IMAGES,
    ) -> None:
        """Test metrics beyond PSNR/SSIM/L1 (call before fit/test; the ``metrics`` config does).

        LPIPS (VGG) needs the VGG16 trunk file and FID the FID Inception file; without them the tables
        say "n/a (weights missing: ...)". FID is given per bin only for at least ``fid_min_images`` images.
        """
        self.metric_options = dict(lpips=lpips, lpips_weights=lpips_weights, fid=fid, fid_weights=fid_weights,
                                   fid_min_images=fid_min_images)

    # -- conventions --------------------------------------------------------------------------
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.net(image, mask)

    @torch.no_grad()
    def inpaint(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Composited result for images in [0,1] and masks with 1 = hole."""
        return composite(self(image, mask)["pred"], image, mask)

    # -- metrics ------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        names = list(getattr(datamodule, "bin_names", None) or ["all"])
        if names != self.bin_names or not hasattr(self, "val_metrics"):
            self.bin_names = names
            self.val_metrics = BinnedInpaintingMetrics(names)
            self.test_metrics = None
        if stage == "test" and self.test_metrics is None:
            self._build_test_metrics()

    def _build_test_metrics(self) -> None:
        """Test metrics, built when testing starts: their backbones (LPIPS VGG16, FID Inception) are
        hundreds of MB that a training run should not hold."""
        names, options = self.bin_names, self.metric_options
        extra, self.test_unavailable = optional_scorers(options.get("lpips", False), options.get("lpips_weights"))
        self.test_metrics = BinnedInpaintingMetrics(names, extra_scorers=extra)
        self.input_metrics = BinnedInpaintingMetrics(names, extra_scorers=extra)
        self.classical_metrics = {row: BinnedInpaintingMetrics(names, extra_scorers=extra) for row in self.classical_rows}
        if options.get("fid"):
            extractor, note = try_inception_features(options.get("fid_weights"))
            if extractor is None:
                self.test_unavailable["fid"] = note
            else:
                min_images = options.get("fid_min_images", DEFAULT_MIN_IMAGES)
                self.test_fid = BinnedFID(names, extractor, min_images)
                self.input_fid = BinnedFID(names, extractor, min_images)

    @staticmethod
    def _bins(batch: dict) -> torch.Tensor:
        image = batch["image"]
        return batch.get("bin", torch.zeros(image.shape[0], dtype=torch.long, device=image.device))

    def evaluation_pair(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(prediction, target) that val/test score; a stage predicting something else (edges) overrides it."""
        return self(batch["image"], batch["mask"])["pred"], batch["image"]

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        pred, target = self.evaluation_pair(batch)
        self.val_metrics.update(pred, target, batch["mask"], self._bins(batch))

    def on_validation_epoch_end(self) -> None:
        self._log_summary("val", self.val_metrics.compute())
        self.val_metrics.reset()

    def test_step(self, batch: dict, batch_idx: int) -> None:
        mask, bins = batch["mask"], self._bins(batch)
        pred, image = self.evaluation_pair(batch)
        self.test_metrics.update(pred, image, mask, bins, names=batch.get("name"))
        # "Input" row: holes left empty, for contrast
        self.input_metrics.update(torch.zeros_like(image), image, mask, bins, names=batch.get("name"))
        if self.classical_rows:
            from inpainting.eval.classical import classical_inpainter

            for row, metrics in self.classical_metrics.items():
                metrics.update(classical_inpainter(CLASSICAL_ROWS[row][1])(image, mask), image, mask, bins)
        if self.test_fid is not None:
            self.test_fid.update(pred, image, mask, bins)
            self.input_fid.update(torch.zeros_like(image), image, mask, bins)

    def on_test_epoch_end(self) -> None:
        model_summary = self.test_metrics.compute()
        self._log_summary("test", model_summary)
        self.test_results = {
            INPUT_ROW: table_values(self.input_metrics.compute(), self.bin_names, self.test_unavailable),
            self.method_name: table_values(model_summary, self.bin_names, self.test_unavailable),
        }
        for row, metrics in self.classical_metrics.items():
            notes = dict(self.test_unavailable)
            if self.test_fid is not None:
                notes["fid"] = "n/a (not computed for classical rows)"
            self.test_results[CLASSICAL_ROWS[row][0]] = table_values(metrics.compute(), self.bin_names, notes)
            metrics.reset()
        if self.test_fid is not None:
            for row, fid in ((INPUT_ROW, self.input_fid), (self.method_name, self.test_fid)):
                self.test_results[row].update(fid.table_values(fid.compute()))
                fid.reset()
        self.test_rows = self.test_metrics.per_image()
        self.test_metrics.reset()
        self.input_metrics.reset()

    def _log_summary(self, stage: str, summary: dict) -> None:
        """Log ``<stage>/<metric>`` (all images) and ``<stage>/<metric>_<bin>``; counts are not logged."""
        flat = {}
        for key, value in summary.items():
            metric, bin_name = key.split("/", 1)
            if metric == "count":
                continue
            flat[f"{stage}/{metric}" if bin_name == "overall" else f"{stage}/{metric}_{bin_name}"] = float(value)
        # the metric object has already gathered every rank's images: no further reduction
        self.log_dict(flat, sync_dist=False)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Hydra passes mappings as DictConfig, which weights_only=True loading rejects: store plain values
        if "hyper_parameters" in checkpoint:
            checkpoint["hyper_parameters"] = _plain(checkpoint["hyper_parameters"])

    def load_weights(self, path: str) -> None:
        """Warm start from a Lightning checkpoint's weights only (no optimizer or loop state)."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or "state_dict" not in state:
            raise ValueError(f"{path}: not a Lightning checkpoint (no 'state_dict'); use the model's official loader")
        self.load_state_dict(state["state_dict"], strict=True)

    # -- optimisation -------------------------------------------------------------------------
    def configure_optimizers(self):
        if self.optimizer_factory is None:
            raise ValueError(f"{type(self).__name__} has no optimizer configured (model.optimizer)")
        optimizer = self.optimizer_factory(params=[p for p in self.net.parameters() if p.requires_grad])
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.scheduler_factory(optimizer=optimizer)}}
