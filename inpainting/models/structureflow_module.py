"""StructureFlow's three training stages (official ``src/models.py``, ``src/structure_flow.py``; docs/structureflow.md).

| stage | trains | generator input structure | D sees (real / fake) | G loss |
|---|---|---|---|---|
| ``structure`` (MODEL 1) | Gs | RTV structure | structure / Gs output | L1 x4 + LSGAN x1 |
| ``flow`` (MODEL 2) | Gt | RTV structure (ground truth) | image / Gt output | L1 x5 + LSGAN x1 + correctness x0.25 |
| ``joint`` (MODEL 3) | Gt | frozen Gs's prediction | image / Gt output | + style x250 + perceptual x0.1 |

One iteration in the official order: zero both gradients; D step on ``D(real)`` and ``D(fake.detach())``;
then the G loss with the *updated* D, G step (unlike MISF/EdgeConnect's G-first order). Counting,
``max_iterations`` and checkpoints as in :class:`~inpainting.models.gan_module.GANInpaintingModule`.
The frozen Gs of the joint stage stays in eval mode (its spectral-norm vectors are not updated; the
official code runs it in train mode, which only refines already-converged vectors).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from inpainting.models.gan_module import GANInpaintingModule

STAGES = ("structure", "flow", "joint")


class StructureFlowModule(GANInpaintingModule):
    """``net`` = :class:`~inpainting.nets.structureflow.StructureFlowInpainter` (Gs only, Gt only, or
    both for ``joint``), ``discriminator`` = ``MultiDiscriminator``, ``loss`` = factory of
    :class:`~inpainting.losses.structureflow.StructureFlowLoss` with the stage's weights."""

    def __init__(self, net: nn.Module, discriminator: nn.Module, loss: Callable[[], nn.Module],
                 optimizer, d_optimizer, stage: str = "flow", max_iterations: int | None = None,
                 method_name: str = "StructureFlow", **kwargs):
        super().__init__(net, discriminator, loss, optimizer, d_optimizer, max_iterations=max_iterations,
                         method_name=method_name, **kwargs)
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        needed = {"structure": ("structure_generator",), "flow": ("flow_generator",),
                  "joint": ("structure_generator", "flow_generator")}[stage]
        for name in ("structure_generator", "flow_generator"):
            present = getattr(net, name) is not None
            if present != (name in needed):
                raise ValueError(f"stage {stage!r} needs net.{name} {'set' if name in needed else 'null'}")
        self.stage = stage
        if stage == "joint":
            net.structure_generator.requires_grad_(False)
            net.structure_generator.eval()

    def load_stage_files(self) -> None:
        if self.stage == "joint" and not self.stage_weights.get("structure_weights"):
            raise ValueError("the joint StructureFlow stage runs Gt on a frozen, trained Gs: set "
                             "model.stage_weights.structure_weights to the structure stage's run folder, its .ckpt "
                             "or latest_net_s_gen.pth")
        super().load_stage_files()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.stage == "joint":
            self.net.structure_generator.eval()
        return self

    def _official(self, batch: dict) -> dict:
        structure = batch.get("structure")
        if structure is None and self.net.structure == "rtv" and self.training:
            raise ValueError("StructureFlow training with RTV structures needs them in the batch: set "
                             "data.structures (the structureflow_* experiments do) and fill the cache with "
                             "`inpaint-rtv <the same overrides>`; or set model.net.structure=image")
        return self.net.official(batch["image"], batch["mask"], structure)

    def optimization_step(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """StructureFlow's order: the D step first, then G's loss against the updated D and the G step."""
        g_opt, d_opt = self.optimizers()
        g_opt.zero_grad()
        d_opt.zero_grad()
        out = self._official(batch)
        if self.stage == "structure":
            fake, real = out["structure_pred"], out["structure"]
        else:
            fake, real = out["output"], out["image"]
        d_loss = self.loss.discriminator_loss(self.discriminator(real), self.discriminator(fake.detach()))
        self.manual_backward(d_loss)
        d_opt.step()
        vgg_inputs = {} if self.stage == "structure" else {"masked_input": out["input"], "flow": out["flow"]}
        g_loss, parts = self.loss(fake, real, self.discriminator(fake), out["mask"], **vgg_inputs)
        self.manual_backward(g_loss)
        g_opt.step()
        return g_loss, d_loss, parts

    def evaluation_pair(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """The structure stage is scored against the structure images (as officially), the others against the image."""
        out = self.net(batch["image"], batch["mask"], batch.get("structure"))
        if self.stage == "structure":
            return out["pred"], self.net.structure_of(batch["image"], batch.get("structure"))
        return out["pred"], batch["image"]
