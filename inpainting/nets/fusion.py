"""JPGNet's fusion of the generative (DGNet) and predictive-filtering (PFUNet) results.

Naming follows the official pipeline (method-spec 5.1): ``res1`` = DGNet result, ``res2`` = PFUNet result,
both composited with the known pixels; ``K`` = PFUNet's 27 kernels; ``U`` = their uncertainty map.
"""
from __future__ import annotations

import torch
from torch import nn

from inpainting.nets.kpn import KPN, uafnet
from inpainting.nets.uncertainty import uncertainty_map


def naive_fusion(
    filtered: torch.Tensor,
    generated: torch.Tensor,
    uncertainty: torch.Tensor,
    threshold: float | None = None,
) -> torch.Tensor:
    """Uncertainty-weighted blend ``(1 - U) * I1 + U * I2`` (JPGNet Eq. 4).

    ``I1 = filtered`` (PFUNet's res2) and ``I2 = generated`` (DGNet's res1): where the filtering is
    uncertain the generative result is trusted, as in the official "binary fusion" baseline
    ``res2 * (1 - U) + res1 * U``. With ``threshold`` set, U is binarised as ``U > threshold`` first
    (the official baseline uses 0, which makes U ~ 1 almost everywhere, quirk J5).
    """
    if threshold is not None:
        uncertainty = (uncertainty > threshold).to(filtered.dtype)
    return (1 - uncertainty) * filtered + uncertainty * generated


class SmartFusion(nn.Module):
    """UAFNet with its inputs built as the official code does.

    ``forward(res1, res2, kernels)`` forms guide ``[res1, res2, K, U]`` (34 ch, this order) and data
    ``[res1, res2]`` (6 ch) and returns ``(prediction, uafnet_kernels)``; the prediction is the raw,
    un-composited UAFNet output. The inputs are detached by default (official: both earlier stages
    are frozen), so gradients reach only UAFNet.

    The wrapped network is ``self.net`` (a :class:`KPN` of model_type 2); load released UAFNet files
    into it, e.g. ``load_jpgnet_kpn(fusion.net, path)``.
    """

    def __init__(
        self,
        net: KPN | None = None,
        width: float = 1.0,
        uncertainty_reduce: str = "avg",
        uncertainty_normalize: str = "batch",
        detach_inputs: bool = True,
        filter_impl: str = "shift",
    ):
        super().__init__()
        self.net = net if net is not None else uafnet(width, filter_impl=filter_impl)
        if self.net.model_type != 2:
            raise ValueError("SmartFusion needs a UAFNet (KPN model_type 2)")
        self.uncertainty_reduce = uncertainty_reduce
        self.uncertainty_normalize = uncertainty_normalize
        self.detach_inputs = detach_inputs

    def build_inputs(
        self, res1: torch.Tensor, res2: torch.Tensor, kernels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (guide, data) = ([res1, res2, K, U], [res1, res2])."""
        if self.detach_inputs:
            res1, res2, kernels = res1.detach(), res2.detach(), kernels.detach()
        u = uncertainty_map(kernels, self.uncertainty_reduce, self.uncertainty_normalize)
        data = torch.cat([res1, res2], 1)
        return torch.cat([data, kernels, u], 1), data

    def forward(
        self, res1: torch.Tensor, res2: torch.Tensor, kernels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        guide, data = self.build_inputs(res1, res2, kernels)
        return self.net(guide, data)
