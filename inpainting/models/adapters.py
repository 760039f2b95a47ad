"""Per-network adapters: framework conventions in (image in [0,1], mask 1 = hole), a dict out.

Each network keeps its authors' input conventions (hole fill, mask channel, polarity, value range);
its adapter is the one place that converts, so LightningModules and the evaluator never need to
know them. Every adapter returns at least ``pred`` (the raw, uncomposited output in [0,1]-image
convention).
"""
from __future__ import annotations

import torch
from torch import nn

from inpainting.eval.metrics import composite
from inpainting.nets.checkpoints import load_edgeconnect_generator
from inpainting.nets.edgeconnect import EdgeConnect, EdgeGenerator, InpaintGenerator, canny_edges, rgb_to_gray
from inpainting.nets.fusion import SmartFusion, naive_fusion
from inpainting.nets.meta import NetMeta
from inpainting.nets.uncertainty import uncertainty_map


class PFUNetInpainter(nn.Module):
    """JPGNet's PFUNet: 3-channel masked image with holes = 0 and no mask channel (method-spec 5.1).

    Returns ``pred``, the predicted ``kernels`` and the ``uncertainty`` map derived from them.
    """

    # placeholder until JPGNet's family home (helper jpgnet-demo) provides its META: predict reads the multiple
    meta = NetMeta("PFUNet", size_multiple=16, mask_polarity="hole", value_range=(0.0, 1.0))

    def __init__(self, kpn: nn.Module, uncertainty: str = "avg", uncertainty_normalize: str = "batch"):
        super().__init__()
        self.kpn = kpn
        self.uncertainty_reduce = uncertainty
        self.uncertainty_normalize = uncertainty_normalize

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        pred, kernels = self.kpn(image * (1 - mask))
        uncertainty = uncertainty_map(kernels.detach(), self.uncertainty_reduce, self.uncertainty_normalize)
        return {"pred": pred, "kernels": kernels, "uncertainty": uncertainty}


def _canny_of_image(image: torch.Tensor, sigma: float, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(gray, Canny edges) of an RGB batch; with ``mask`` edges come from known pixels only."""
    gray = rgb_to_gray(image)
    return gray, canny_edges(gray, mask, sigma)


class EdgePredictor(nn.Module):
    """EdgeConnect's edge generator G1 as trained (its stage 1; JPGNet's DGNet edge stage).

    Canny (sigma 2) runs on the full image and is then masked, as in EdgeConnect training; G1 gets
    ``[gray (holes 1), edges (holes 0), mask]``. Returns ``edges`` (G1's probabilities), ``canny``
    (the full image's edges: the target), ``gray`` and ``pred`` = the edge map as 3 channels (for
    the image panel).
    """

    def __init__(self, generator: EdgeGenerator, sigma: float = 2.0):
        super().__init__()
        self.generator = generator
        self.sigma = sigma

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        gray, canny = _canny_of_image(image, self.sigma)
        known = 1 - mask
        edges = self.generator(torch.cat([gray * known + mask, canny * known, mask], 1))
        return {"pred": edges.expand(-1, 3, -1, -1), "edges": edges, "canny": canny, "gray": gray}


class EdgeGuidedInpainter(nn.Module):
    """EdgeConnect's inpainting generator G2 trained on its own (EdgeConnect stage 2).

    G2 gets ``[RGB (holes 1), Canny edges of the full image]``: the edges inside the holes come from
    the ground truth, so this is a training stage (and an upper bound), not an inpainting method; the
    trained G2 is used with G1's edges through :class:`EdgeConnectInpainter`.
    """

    def __init__(self, generator: InpaintGenerator, sigma: float = 2.0):
        super().__init__()
        self.generator = generator
        self.sigma = sigma

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        _, canny = _canny_of_image(image, self.sigma)
        pred = self.generator(torch.cat([image * (1 - mask) + mask, canny], 1))
        return {"pred": pred, "edges": canny}


class EdgeConnectInpainter(nn.Module):
    """Full EdgeConnect (G1 then G2) as released for testing: JPGNet's DGNet.

    Canny on the known pixels only, G1's edge map fed to G2 un-composited. Returns ``pred`` (G2's raw
    output) and ``edges``. ``edge_weights`` / ``inpaint_weights``: official ``EdgeModel_gen.pth`` /
    ``InpaintingModel_gen.pth`` loaded strictly (or load later, see ``inpainting.models.jpgnet``).
    """

    def __init__(self, edgeconnect: EdgeConnect, edge_weights: str | None = None, inpaint_weights: str | None = None):
        super().__init__()
        self.edgeconnect = edgeconnect
        if edge_weights:
            load_edgeconnect_generator(edgeconnect.edge_generator, edge_weights)
        if inpaint_weights:
            load_edgeconnect_generator(edgeconnect.inpaint_generator, inpaint_weights)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        edges = self.edgeconnect.predict_edges(image, mask)
        pred = self.edgeconnect.inpaint_generator(torch.cat([image * (1 - mask) + mask, edges], 1))
        return {"pred": pred, "edges": edges}


class JPGNetStages(nn.Module):
    """JPGNet's two frozen stages (method-spec 5.1): DGNet -> ``res1``, PFUNet -> ``res2``, ``kernels``, ``uncertainty``.

    Both results are composited with the known pixels. Parameters never require grad and the module
    stays in eval mode whatever ``train()`` is called with (G1's spectral norm would otherwise run
    power iterations and change the frozen weights).
    """

    def __init__(self, pfunet: PFUNetInpainter, dgnet: nn.Module):
        super().__init__()
        self.pfunet = pfunet
        self.dgnet = dgnet
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "JPGNetStages":
        return super().train(False)

    @torch.no_grad()
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        filtered = self.pfunet(image, mask)
        return {
            "res1": composite(self.dgnet(image, mask)["pred"], image, mask),
            "res2": composite(filtered["pred"], image, mask),
            "kernels": filtered["kernels"],
            "uncertainty": filtered["uncertainty"],
        }


class NaiveFusionInpainter(nn.Module):
    """Training-free fusion ``(1 - U) * res2 + U * res1`` (JPGNet Eq. 4; see :func:`naive_fusion`).

    ``threshold`` = None blends with the soft map; 0 gives the official "binary fusion" baseline.
    Returns ``pred`` plus the stage outputs (``res1``, ``res2``, ``kernels``, ``uncertainty``).
    """

    def __init__(self, stages: JPGNetStages, threshold: float | None = None):
        super().__init__()
        self.stages = stages
        self.threshold = threshold

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.stages(image, mask)
        out["pred"] = naive_fusion(out["res2"], out["res1"], out["uncertainty"], self.threshold)
        return out


class UAFNetInpainter(nn.Module):
    """UAFNet on top of the frozen stages: guide ``[res1, res2, K, U]``, data ``[res1, res2]``.

    Returns ``pred`` (UAFNet's raw output), ``fusion_kernels`` (its 54 kernels) and the stage outputs;
    ``kernels``/``uncertainty`` are PFUNet's (what U is computed from).
    """

    def __init__(self, stages: JPGNetStages, fusion: SmartFusion):
        super().__init__()
        self.stages = stages
        self.fusion = fusion

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.stages(image, mask)
        out["pred"], out["fusion_kernels"] = self.fusion(out["res1"], out["res2"], out["kernels"])
        return out
