"""JPGNet in the framework's conventions: the PFUNet adapter and the whole pipeline
(docs/authors-code.md#jpgnet-pipeline, docs/authors-code.md#dgnets-inside-jpgnet).

:class:`JPGNet` is built from constructed stages (composition): any DGNet
(:class:`~inpainting.nets.adapter.Adapter`: EdgeConnect, a classical method, RFRNet, ...), a
:class:`PFUNet` and a fusion (UAFNet, or the training-free Eq. 4). DGNet and PFUNet are frozen:
their parameters never require grad and they stay in eval mode whatever ``train()`` is called with
(G1's spectral norm would otherwise run power iterations and change its frozen weights).
"""
from __future__ import annotations

import os
from collections.abc import Mapping

import torch
from torch import nn

from inpainting.nets.adapter import Adapter, StageFiles, files_given
from inpainting.nets.jpgnet.checkpoint import load_pfunet
from inpainting.nets.jpgnet.network import KPN, META, SmartFusion, naive_fusion, uncertainty_map
from inpainting.utils.composite import composite


class PFUNet(Adapter):
    """JPGNet's PFUNet: 3-channel masked image with holes = 0 and no mask channel
    (docs/authors-code.md#jpgnet-pipeline).

    Returns ``pred``, the predicted ``kernels`` and the ``uncertainty`` map derived from them.
    ``load_weights(weights=...)``: the authors' PFUNet file, one of our ``jpgnet_pfunet`` runs' ``.ckpt`` or its run
    folder.
    """

    meta = META
    weight_files = ("weights",)

    def __init__(self, kpn: KPN, uncertainty: str = "avg", uncertainty_normalize: str = "batch"):
        super().__init__()
        self.kpn = kpn
        self.uncertainty_reduce = uncertainty
        self.uncertainty_normalize = uncertainty_normalize

    def load_weights(self, weights: str | os.PathLike) -> None:
        load_pfunet(self.kpn, weights)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pred, kernels = self.kpn(image * (1 - mask))
        uncertainty = uncertainty_map(kernels.detach(), self.uncertainty_reduce, self.uncertainty_normalize)
        return {"pred": pred, "kernels": kernels, "uncertainty": uncertainty}


def needs_weight_files(stage: nn.Module) -> bool:
    """A stage with weights to load (``weight_files`` of its :class:`~inpainting.nets.adapter.Adapter`); a
    classical DGNet has none. A stage that is no Adapter is an error: what it needs cannot be known."""
    if not isinstance(stage, Adapter):
        raise TypeError(f"{type(stage).__name__} is not an inpainting.nets.adapter.Adapter: a JPGNet stage must be")
    return bool(stage.weight_files)


class JPGNet(nn.Module):
    """DGNet -> ``res1`` and PFUNet -> ``res2``, ``kernels``, ``uncertainty`` (both frozen), then the fusion.

    ``res1`` and ``res2`` are the stages' outputs composited with the known pixels
    (docs/authors-code.md#dgnets-inside-jpgnet). ``fusion``: a :class:`SmartFusion` (UAFNet: guide
    ``[res1, res2, K, U]``, data ``[res1, res2]``; ``pred`` is its raw output, ``fusion_kernels`` its 54 kernels) or
    None for the naive fusion ``(1 - U) * res2 + U * res1`` (Eq. 4; ``threshold`` 0 gives the official
    "binary fusion", J5).
    ``train_pfunet``: False (JPGNet) freezes PFUNet like the DGNet; True leaves it trainable (trained
    alongside UAFNet from scratch, see :class:`inpainting.models.jpgnet.JPGNetModule`); its raw output is
    then returned as ``pfunet_pred``. UAFNet's inputs stay detached either way.
    """

    meta = META

    def __init__(self, pfunet: PFUNet, dgnet: nn.Module, fusion: SmartFusion | None = None, threshold: float | None = None,
                 train_pfunet: bool = False):
        super().__init__()
        if fusion is not None and threshold is not None:
            raise ValueError("threshold is the naive fusion's (fusion=None); UAFNet has none")
        if train_pfunet and fusion is None:
            raise ValueError("train_pfunet needs UAFNet (fusion): the naive fusion has nothing to train")
        self.pfunet = pfunet
        self.dgnet = dgnet
        self.fusion = fusion
        self.threshold = threshold
        self.train_pfunet = train_pfunet
        self.frozen = [dgnet] if train_pfunet else [pfunet, dgnet]
        for stage in self.frozen:
            stage.requires_grad_(False)
        self.train()

    def train(self, mode: bool = True) -> "JPGNet":
        super().train(mode)
        for stage in self.frozen:
            stage.eval()
        return self

    def load_stage_weights(self, weights: Mapping[str, StageFiles], key: str = "model.stage_weights") -> None:
        """``{"pfunet": files, "dgnet": files}``, each read by its stage's
        :meth:`~inpainting.nets.adapter.Adapter.load_stage_weights`: a learned frozen stage needs all its files
        (PFUNet none when it trains here from scratch); errors name ``<key>.<stage>[.<keyword>]``."""
        unknown = set(weights) - {"pfunet", "dgnet"}
        if unknown:
            raise ValueError(f"unknown stage_weights entries {sorted(unknown)}; expected pfunet, dgnet")
        names = ["dgnet"] if self.train_pfunet and not files_given(weights.get("pfunet")) else ["pfunet", "dgnet"]
        missing = [name for name in names if needs_weight_files(getattr(self, name)) and not files_given(weights.get(name))]
        if missing:  # every missing stage in one message, before any file is read
            raise ValueError(f"JPGNet: no weights for the frozen stage(s) {missing}: set "
                             + ", ".join(f"{key}.{name}" for name in missing)
                             + " (a run folder, our run's .ckpt or the authors' file; see docs/jpgnet.md)")
        for name in names:
            getattr(self, name).load_stage_weights(weights.get(name), f"{key}.{name}", required=True)

    def stages(self, image: torch.Tensor, mask: torch.Tensor, **dgnet_inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            res1 = composite(self.dgnet(image, mask, **dgnet_inputs)["pred"], image, mask)
        with torch.set_grad_enabled(self.train_pfunet and torch.is_grad_enabled()):
            filtered = self.pfunet(image, mask)
        out = {"res1": res1, "res2": composite(filtered["pred"], image, mask), "kernels": filtered["kernels"],
               "uncertainty": filtered["uncertainty"]}
        if self.train_pfunet:
            out["pfunet_pred"] = filtered["pred"]
        return out

    @property
    def derived(self):
        """The DGNet's derived inputs (Canny edges, a classical result; :mod:`inpainting.data.derived`), those of
        its eval mode (it is frozen)."""
        derived = getattr(self.dgnet, "derived", None)
        return derived.for_frozen() if hasattr(derived, "for_frozen") else derived

    def forward(self, image: torch.Tensor, mask: torch.Tensor, **dgnet_inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """``dgnet_inputs``: the batch's derived inputs of the DGNet, passed on to it."""
        out = self.stages(image, mask, **dgnet_inputs)
        if self.fusion is None:
            out["pred"] = naive_fusion(out["res2"], out["res1"], out["uncertainty"], self.threshold)
        else:
            out["pred"], out["fusion_kernels"] = self.fusion(out["res1"], out["res2"], out["kernels"])
        return out
