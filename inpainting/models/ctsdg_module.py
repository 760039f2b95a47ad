"""CTSDG training (``trainer.py``; docs/ctsdg.md): the GAN module with CTSDG's step order and inputs.

One iteration per batch, as the authors do it:

1. G step: ``O, projections = G(...)``; D frozen (``requires_grad`` off) scores ``O`` (its structure
   branch sees the edge detector's edges of ``O``); G loss (:class:`~inpainting.losses.ctsdg.CTSDGLoss`)
   backward, G step;
2. D step: ``D(I, gray, Canny(I))`` and ``D(O.detach(), gray)``; D loss backward, D step.

Unlike MISF's order (quirk M9) no G gradient reaches D's step. The Canny edges and the gray image
come with the batch (``StructureInputs``, computed in the data workers; full image, unmasked, as the official
D and losses use them). Iterations,
``max_iterations`` and checkpoints behave as in :class:`~inpainting.models.gan_module.GANInpaintingModule`.

Fine-tuning (``finetune=True``): the generator's BatchNorm layers stay in eval mode (official
``freeze_ec_bn``; see :class:`~inpainting.nets.ctsdg.network.Generator` for its scope); the learning
rates are the config's (official 5e-5 for G, x0.1 for D). ``load_weights`` (``init_from``, ``pretrained``) also
takes an official ``{'n_iter', 'generator', 'discriminator'}`` file, loading both networks strictly (the adapter's
and the discriminator's own ``load_weights``).
"""
from __future__ import annotations

import pathlib

import torch

from inpainting.models.gan_module import GANInpaintingModule
from inpainting.utils.checkpoint_read import handed_on_checkpoint, read_checkpoint


class CTSDGModule(GANInpaintingModule):
    """CTSDG's step order on :class:`GANInpaintingModule` (whose arguments it takes); ``finetune``: the
    official --finetune, BatchNorm frozen (``net.generator.freeze_bn_scope`` says which).

    ``pretrained``: where the fine-tuning stage starts (the first stage's run folder, its ``.ckpt`` or an official
    ``<iter>.pt``: generator and discriminator); ``stage_weights.weights``: the generator alone (as
    :class:`~inpainting.models.base.InpaintingModule`'s). Either is read only when a run starts without a checkpoint.
    """

    def __init__(self, *args, finetune: bool = False, pretrained: str | None = None, method_name: str = "CTSDG", **kwargs):
        super().__init__(*args, method_name=method_name, **kwargs)
        self.finetune = finetune
        self.net.generator.freeze_ec_bn = finetune
        self.pretrained = pretrained

    def load_stage_files(self) -> None:
        if self.pretrained and self.stage_weights.get("weights"):
            raise ValueError("CTSDG: model.pretrained (generator and discriminator) and model.stage_weights.weights "
                             "(the generator) both given: set one")
        if self.pretrained:
            self.load_weights(self.pretrained)
        else:
            super().load_stage_files()

    def optimization_step(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        g_opt, d_opt = self.optimizers()
        batch = self.with_derived(batch)
        image, mask = batch["image"], batch["mask"]
        out = self.forward_batch(batch)
        # CTSDG's scale: images in [-1, 1], mask 1 = valid
        target, output, valid = image * 2 - 1, out["pred"] * 2 - 1, 1 - mask
        edge, gray = batch["edge"], batch["gray"]  # the batch's (inpainting.data.derived), not the network's

        self.discriminator.requires_grad_(False)
        fake_scores, fake_edge = self.discriminator(output, gray)
        g_loss, parts = self.loss.generator_loss(output, target, valid, edge, fake_scores, fake_edge,
                                                 out["projected_image"] * 2 - 1, out["projected_edge"])
        g_opt.zero_grad()
        self.manual_backward(g_loss)
        g_opt.step()

        self.discriminator.requires_grad_(True)
        real_scores, real_edge = self.discriminator(target, gray, edge)
        fake_scores, fake_edge = self.discriminator(output.detach(), gray)
        d_loss = self.loss.discriminator_loss(real_scores, fake_scores, real_edge, fake_edge, edge)
        d_opt.zero_grad()
        self.manual_backward(d_loss)
        d_opt.step()
        return g_loss, d_loss, parts

    def load_weights(self, path: str) -> None:
        """Warm start from a Lightning checkpoint, a run folder (the checkpoint it hands on) or an official
        CTSDG file (both networks, strict)."""
        if pathlib.Path(path).is_dir():
            path = handed_on_checkpoint(path)
        if "state_dict" in read_checkpoint(path):
            super().load_weights(path)
        else:
            self.net.load_weights(weights=path)
            self.discriminator.load_weights(path)
            self._stages_loaded = True
