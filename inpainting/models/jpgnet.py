"""JPGNet's last stage: fusion of a frozen DGNet and a frozen PFUNet (method-spec 5.1, 5.4).

The earlier stages are trained on their own (``jpgnet_pfunet``, ``jpgnet_dgnet_edge``,
``jpgnet_dgnet_inpaint``); this module loads their weights when the trainer sets it up, from either
a Lightning ``.ckpt`` of our runs or the authors' released files:

| stage | our run's ``.ckpt`` keys | official file |
|---|---|---|
| ``pfunet`` | ``net.kpn.*`` | PFUNet bare state dict (``load_jpgnet_kpn``) |
| ``dgnet_edge`` | ``net.generator.*`` (edge stage) | ``EdgeModel_gen.pth`` |
| ``dgnet_inpaint`` | ``net.generator.*`` (inpaint stage) | ``InpaintingModel_gen.pth`` |

Missing stage weights are an error unless ``untrained_stages_for_tests=True`` (random stages, for
tests only, with a warning). A checkpoint of this module holds every stage, so restoring it (resume,
``inpaint-eval``) overrides whatever was loaded here. :class:`EdgeConnectEvalModule` loads the two
DGNet stages the same way to test EdgeConnect (G1 -> G2) on its own.
"""
from __future__ import annotations

import logging
from typing import Callable, Mapping

from torch import nn

from inpainting.models.filter_module import FilterInpaintingModule
from inpainting.nets.checkpoints import (
    CheckpointError,
    load_edgeconnect_generator,
    load_jpgnet_kpn,
    load_state_dict_strict,
    read_checkpoint,
)

log = logging.getLogger(__name__)

# stage name -> (submodule of the module's ``net``, key prefix in our Lightning checkpoints, official loader)
STAGES: dict[str, tuple[str, str, Callable]] = {
    "pfunet": ("stages.pfunet.kpn", "net.kpn.", load_jpgnet_kpn),
    "dgnet_edge": ("stages.dgnet.edgeconnect.edge_generator", "net.generator.", load_edgeconnect_generator),
    "dgnet_inpaint": ("stages.dgnet.edgeconnect.inpaint_generator", "net.generator.", load_edgeconnect_generator),
}
# the DGNet stages seen from an EdgeConnectInpainter ``net`` (EdgeConnect tested on its own)
_DGNET = "stages.dgnet."
EDGECONNECT_STAGES = {name: (path[len(_DGNET):], *rest) for name, (path, *rest) in STAGES.items() if path.startswith(_DGNET)}


def load_stage_weights(module: nn.Module, path: str, lightning_prefix: str, official_loader: Callable) -> None:
    """Load ``path`` into ``module``: a Lightning checkpoint (keys under ``lightning_prefix``) or an official file."""
    content = read_checkpoint(path)
    if "state_dict" not in content:
        official_loader(module, path)
        return
    state = {k[len(lightning_prefix):]: v for k, v in content["state_dict"].items() if k.startswith(lightning_prefix)}
    if not state:
        raise CheckpointError(
            f"{path}: Lightning checkpoint without '{lightning_prefix}*' keys (first keys: "
            f"{list(content['state_dict'])[:4]}); is it the right stage's run?"
        )
    load_state_dict_strict(module, state, f"{path} ({lightning_prefix}*)")


class JPGNetFusionModule(FilterInpaintingModule):
    """UAFNet training (``net`` = :class:`~inpainting.models.adapters.UAFNetInpainter`, loss L1 - 0.2*SSIM
    on the raw output) or training-free fusion (``net`` = ``NaiveFusionInpainter``, ``loss`` = None).

    Args:
        stage_weights: ``{"pfunet": path, "dgnet_edge": path, "dgnet_inpaint": path}`` (see module doc).
        untrained_stages_for_tests: allow missing stage weights (random stages); never for real runs.
    Only parameters that require grad (UAFNet's) reach the optimizer.
    """

    stage_table = STAGES  # the stages this module's ``net`` holds (see :class:`EdgeConnectEvalModule`)

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module | None = None,
        optimizer=None,
        scheduler=None,
        stage_weights: Mapping[str, str | None] | None = None,
        untrained_stages_for_tests: bool = False,
        method_name: str = "JPGNet",
        **kwargs,
    ):
        super().__init__(net, loss, optimizer=optimizer, scheduler=scheduler, method_name=method_name, **kwargs)
        unknown = set(stage_weights or {}) - set(self.stage_table)
        if unknown:
            raise ValueError(f"unknown stage_weights entries {sorted(unknown)}; expected {sorted(self.stage_table)}")
        self.stage_weights = dict(stage_weights or {})
        self.untrained_stages_for_tests = untrained_stages_for_tests
        self._stages_loaded = False

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if not self._stages_loaded:
            self.load_stages()

    def load_stages(self) -> None:
        """Load every configured stage file into the frozen stages (see the module docstring)."""
        missing = [name for name in self.stage_table if not self.stage_weights.get(name)]
        if missing and not self.untrained_stages_for_tests:
            raise ValueError(
                f"{type(self).__name__}: no weights for the frozen stage(s) {missing}: set "
                + ", ".join(f"model.stage_weights.{name}" for name in missing)
                + " to our stage run's .ckpt or the official file (model.untrained_stages_for_tests=true "
                "runs with random stages, for tests only)"
            )
        if missing:
            log.warning("%s: stages %s are randomly initialised (untrained_stages_for_tests=true)", self.method_name, missing)
        for name, (attribute, prefix, official_loader) in self.stage_table.items():
            if self.stage_weights.get(name):
                load_stage_weights(self.net.get_submodule(attribute), self.stage_weights[name], prefix, official_loader)
        self._stages_loaded = True

    def training_step(self, batch: dict, batch_idx: int):
        if self.loss is None:
            raise RuntimeError(f"{self.method_name} has nothing to train (no loss): run it with train=false")
        return super().training_step(batch, batch_idx)


class EdgeConnectEvalModule(JPGNetFusionModule):
    """EdgeConnect G1 -> G2 as released for testing (JPGNet's DGNet on its own), evaluation only.

    ``net`` = :class:`~inpainting.models.adapters.EdgeConnectInpainter` (Canny on the known pixels, G1's
    edges un-composited into G2); ``stage_weights``: ``dgnet_edge`` and ``dgnet_inpaint`` only, loaded
    as for the fusion module. The base class composites the output for the metrics.
    """

    stage_table = EDGECONNECT_STAGES

    def __init__(
        self,
        net: nn.Module,
        stage_weights: Mapping[str, str | None] | None = None,
        untrained_stages_for_tests: bool = False,
        method_name: str = "EdgeConnect",
        **kwargs,
    ):
        super().__init__(net, stage_weights=stage_weights, untrained_stages_for_tests=untrained_stages_for_tests,
                         method_name=method_name, **kwargs)
