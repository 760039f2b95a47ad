"""Adversarial training of MISF and EdgeConnect generators against a PatchGAN (docs/authors-code.md#misf-training).

Manual optimization, one *iteration* per batch, in the official order:

1. zero both optimizers' gradients;
2. forward: ``O = G(I, M)``, then ``D(I)``, ``D(O.detach())`` (D loss) and ``D(O)`` (G adversarial term);
3. G loss backward, G step;
4. D loss backward, D step.

Step 3 also writes gradients into D through the adversarial term and the official code does not
clear them, so D is updated with ``dis_loss + w_adv * G adversarial term`` (quirk M9, inherited
from EdgeConnect; the quirk list is ``docs/quirks.md``). ``zero_d_grad_before_d_step=True`` clears them first.

Counting: Lightning's ``global_step`` counts optimizer steps, so it grows by **2** per batch here.
``iteration`` counts batches (the authors' "iteration", their ``MAX_ITERS``); it is logged as
``train/iteration`` and stored in checkpoints. ``max_iterations=N`` stops training after N batches
by capping the trainer's ``max_steps`` at ``2 * N`` when training starts, after a resumed run's loops
are restored (``max_steps`` ends a run even before ``min_epochs``, which a bare ``trainer.should_stop``
would not). As with any ``max_steps``, a stop in the middle of an epoch ends without a final
validation or checkpoint.
"""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from inpainting.models.base import InpaintingModule

OPTIMIZER_STEPS_PER_ITERATION = 2


class GANInpaintingModule(InpaintingModule):
    """Generator ``net`` (an adapter returning ``pred``) trained with ``loss`` against ``discriminator``.

    Args:
        net: the generator adapter, e.g. :class:`~inpainting.nets.misf.MISFInpainter`.
        discriminator: a :class:`~inpainting.nets.PatchDiscriminator` (D sees RGB only).
        loss: factory (``_partial_``) of the loss, e.g. :class:`~inpainting.losses.InpaintingGeneratorLoss`
            (its ``discriminator_loss`` is D's). It is built when training starts, so evaluating a
            checkpoint never needs the VGG19 file of the perceptual/style terms.
        optimizer, d_optimizer: ``_partial_`` optimizer factories for G and D.
        zero_d_grad_before_d_step: False (faithful, M9) keeps the G adversarial gradients in D's step.
        max_iterations: stop after this many batches (None: the trainer's limits only).
        kwargs: :class:`~inpainting.models.base.InpaintingModule`'s (``bin_edges``).
    """

    def __init__(
        self,
        net: nn.Module,
        discriminator: nn.Module,
        loss: Callable[[], nn.Module],
        optimizer: Callable[..., torch.optim.Optimizer],
        d_optimizer: Callable[..., torch.optim.Optimizer],
        zero_d_grad_before_d_step: bool = False,
        max_iterations: int | None = None,
        method_name: str = "MISF",
        **kwargs,
    ):
        super().__init__(net, optimizer=optimizer, method_name=method_name, **kwargs)
        if max_iterations is not None and max_iterations < 1:
            raise ValueError(f"max_iterations must be a positive number of batches or null, got {max_iterations}")
        self.automatic_optimization = False
        self.discriminator = discriminator
        self.loss_factory = loss
        self.loss: nn.Module | None = None
        self.d_optimizer_factory = d_optimizer
        self.zero_d_grad_before_d_step = zero_d_grad_before_d_step
        self.max_iterations = max_iterations
        self.iteration = 0
        self.save_hyperparameters(ignore=["net", "discriminator", "loss", "optimizer", "d_optimizer"], logger=False)

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage == "fit" and self.loss is None:
            self.loss = self.loss_factory()

    # -- one iteration --------------------------------------------------------------------------
    def adversarial_losses(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """``(generator_loss, discriminator_loss, terms to log)`` for a batch, D called as officially."""
        image, mask = batch["image"], batch["mask"]
        pred = self.forward_batch(batch)["pred"]
        real_scores, _ = self.discriminator(image)
        fake_scores, _ = self.discriminator(pred.detach())
        d_loss = self.loss.discriminator_loss(real_scores, fake_scores)
        g_scores, _ = self.discriminator(pred)
        g_loss, parts = self.loss(pred, image, mask, g_scores)
        return g_loss, d_loss, parts

    def optimization_step(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """One G step and one D step in the official order; returns ``(g_loss, d_loss, parts)`` to log.

        A family whose authors order the steps differently (CTSDG, StructureFlow) overrides this method only.
        """
        g_opt, d_opt = self.optimizers()
        g_opt.zero_grad()
        d_opt.zero_grad()
        g_loss, d_loss, parts = self.adversarial_losses(batch)
        self.manual_backward(g_loss)
        g_opt.step()
        if self.zero_d_grad_before_d_step:
            d_opt.zero_grad()
        self.manual_backward(d_loss)
        d_opt.step()
        return g_loss, d_loss, parts

    def training_step(self, batch: dict, batch_idx: int) -> None:
        g_loss, d_loss, parts = self.optimization_step(batch)
        self.iteration += 1

        batch_size = batch["image"].shape[0]
        self.log_dict({"train/g_loss": g_loss, "train/d_loss": d_loss}, prog_bar=True, batch_size=batch_size)
        self.log_dict({f"train/{k}": v for k, v in parts.items()}, batch_size=batch_size)
        self.log("train/iteration", float(self.iteration), batch_size=batch_size)

    # -- iteration counter and limit ------------------------------------------------------------
    def on_train_start(self) -> None:
        # Not in on_fit_start: Lightning restores a checkpoint's loops between the two hooks, and a fit
        # loop with max_steps set at that point takes an epoch-end checkpoint for a restart on the epoch
        # end and replays that end as one more epoch, training nothing (FitLoop.restarting's
        # ``or self._iteration_based_training()``). From here on ``max_steps`` is checked as usual.
        if self.max_iterations is None:
            return
        cap = OPTIMIZER_STEPS_PER_ITERATION * self.max_iterations
        epoch_loop = self.trainer.fit_loop.epoch_loop
        if epoch_loop.max_steps is None or epoch_loop.max_steps < 0 or epoch_loop.max_steps > cap:
            epoch_loop.max_steps = cap

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["iteration"] = self.iteration

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        self.iteration = int(checkpoint.get("iteration", 0))

    # -- optimization ---------------------------------------------------------------------------
    def configure_optimizers(self):
        if self.optimizer_factory is None or self.d_optimizer_factory is None:
            raise ValueError(f"{type(self).__name__} needs model.optimizer (G) and model.d_optimizer (D)")
        g_params = [p for p in self.net.parameters() if p.requires_grad]
        return [self.optimizer_factory(params=g_params), self.d_optimizer_factory(params=self.discriminator.parameters())]


class EdgeGANModule(GANInpaintingModule):
    """EdgeConnect's edge stage: G1 against a D on ``[gray, edges]`` (docs/authors-code.md#edgeconnect).

    G loss = ``adversarial_weight * adversarial + feature_matching_weight * FM``, FM being the summed
    L1 distances between D's five feature maps of the fake and (detached) real pairs. D's input
    pairs are the gray image with the Canny edges (real) or G1's raw edge map (fake).
    Validation and test score the edge map against the full image's Canny edges (3 channels, with
    the usual composite: predicted edges in the holes, Canny outside).
    """

    def __init__(
        self,
        net: nn.Module,
        discriminator: nn.Module,
        loss: Callable[[], nn.Module],
        adversarial_weight: float = 1.0,
        feature_matching_weight: float = 10.0,
        method_name: str = "EdgeConnect-G1",
        **kwargs,
    ):
        super().__init__(net, discriminator, loss, method_name=method_name, **kwargs)
        self.adversarial_weight = adversarial_weight
        self.feature_matching_weight = feature_matching_weight

    def adversarial_losses(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        batch = self.with_derived(batch)
        out = self.forward_batch(batch)
        gray, edges = batch["gray"], out["edges"]  # the batch's (inpainting.data.derived), not the network's
        real_scores, real_features = self.discriminator(torch.cat([gray, batch["canny"]], 1))
        fake_scores, _ = self.discriminator(torch.cat([gray, edges.detach()], 1))
        d_loss = self.loss.discriminator_loss(real_scores, fake_scores)
        g_scores, g_features = self.discriminator(torch.cat([gray, edges], 1))
        parts = {
            "adversarial": self.loss.generator_loss(g_scores),
            "feature_matching": sum(F.l1_loss(f, r.detach()) for f, r in zip(g_features, real_features)),
        }
        g_loss = self.adversarial_weight * parts["adversarial"] + self.feature_matching_weight * parts["feature_matching"]
        return g_loss, d_loss, parts

    def evaluation_pair(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.forward_batch(batch)
        return out["pred"], out["canny"].expand(-1, 3, -1, -1)
