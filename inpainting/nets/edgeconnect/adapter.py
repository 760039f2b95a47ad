"""EdgeConnect in the framework's conventions: one adapter for its three training stages and its test path.

``stage`` follows the official ``MODEL`` setting (docs/authors-code.md#edgeconnect):

| stage | generators | G2's edge input | official |
|---|---|---|---|
| ``edge`` | G1 | (G1 is the output) | MODEL 1 |
| ``inpaint`` | G2 | Canny of the full image (ground-truth edges: an upper bound, not a method) | MODEL 2 |
| ``edge_inpaint`` | G1 (frozen) -> G2 | training: G1's edges inside the hole, Canny outside; eval: the released test path | MODEL 3 |

The released test path (``edge_inpaint`` in eval mode; JPGNet's DGNet) runs Canny on the known pixels
only and feeds G1's raw edge map to G2, un-composited. Validation and test of stage 3 therefore score
what the method does at test time. Canny: sigma 2, ``skimage`` (CPU): the gray image and the edge maps come
with the batch (:class:`EdgeInputs`, computed in the data workers), as the authors' data loader makes them.
"""
from __future__ import annotations

import os

import torch

from inpainting.nets.adapter import Adapter
from inpainting.nets.edgeconnect.checkpoint import load_generator
from inpainting.nets.edgeconnect.network import EdgeGenerator, InpaintGenerator, canny_edges, rgb_to_gray
from inpainting.nets.meta import NetMeta

META = NetMeta(
    name="EdgeConnect",
    size_multiple=4,  # two stride-2 encoder stages
    mask_polarity="hole",
    value_range=(0.0, 1.0),
    param_count=10_761_089 + 10_774_595,  # G1 + G2 (edgeconnect.pt README)
    source="knazeri/edge-connect@3142579785c5c8cc92ad655616d40f4f52fc7ec1",
    released_files={"edge_weights": "EdgeModel_gen.pth", "inpaint_weights": "InpaintingModel_gen.pth"},
)
STAGES = ("edge", "inpaint", "edge_inpaint")


class EdgeConnect(Adapter):
    """``forward(image, mask)`` (image in [0, 1], mask 1 = hole) -> dict with ``pred`` in [0, 1], uncomposited.

    Args:
        edge_generator, inpaint_generator: G1 and G2 (the stage decides which are required).
        stage: ``edge``, ``inpaint`` or ``edge_inpaint`` (see the module doc).
        sigma: Canny's Gaussian sigma (official 2).
        sn_updates_in_frozen_edge_generator: stage 3 only. True (faithful: the official MODEL 3 keeps G1 in
            train mode) lets G1's spectral-norm power iteration update its ``weight_u``/``weight_v`` while
            training, though G1 is never optimized; False keeps G1 in eval mode.

    ``load_weights(edge_weights=..., inpaint_weights=...)``: G1 / G2 from the authors' ``EdgeModel_gen.pth`` /
    ``InpaintingModel_gen.pth``, one of our runs' ``.ckpt``, or a run folder (the checkpoint it hands on).

    Outputs: ``edge``: ``pred`` (the edge map as 3 channels, for panels), ``edges`` (G1's probabilities),
    ``canny`` (the full image's edges, the batch's: G1's target) and ``gray``; the others: ``pred`` (G2's raw output)
    and ``edges`` (G2's edge input).
    """

    meta = META

    def __init__(
        self,
        edge_generator: EdgeGenerator | None = None,
        inpaint_generator: InpaintGenerator | None = None,
        stage: str = "edge_inpaint",
        sigma: float = 2.0,
        sn_updates_in_frozen_edge_generator: bool = True,
    ):
        super().__init__()
        if stage not in STAGES:
            raise ValueError(f"unknown EdgeConnect stage {stage!r}; choose one of {STAGES}")
        needs = {"edge": ("edge",), "inpaint": ("inpaint",), "edge_inpaint": ("edge", "inpaint")}[stage]
        given = {"edge": edge_generator, "inpaint": inpaint_generator}
        missing = [f"{name}_generator" for name in needs if given[name] is None]
        extra = [f"{name}_generator" for name, g in given.items() if g is not None and name not in needs]
        if missing or extra:
            raise ValueError(f"EdgeConnect stage {stage!r} needs {[f'{n}_generator' for n in needs]}; "
                             f"missing {missing}, not used {extra}")
        self.stage = stage
        self.sigma = sigma
        self.edge_generator = edge_generator
        self.inpaint_generator = inpaint_generator
        self.sn_updates_in_frozen_edge_generator = sn_updates_in_frozen_edge_generator
        self.derived = EdgeInputs(sigma, stage)
        if stage == "edge_inpaint":
            edge_generator.requires_grad_(False)  # stage 3 trains G2 only

    def load_weights(self, edge_weights: str | os.PathLike | None = None, inpaint_weights: str | os.PathLike | None = None) -> None:
        """Load G1 and/or G2 (see the class doc); a file for a generator this stage lacks is an error."""
        for which, path, generator in (("edge", edge_weights, self.edge_generator),
                                       ("inpaint", inpaint_weights, self.inpaint_generator)):
            if path is None:
                continue
            if generator is None:
                raise ValueError(f"{which}_weights={path} given, but EdgeConnect stage {self.stage!r} has no {which} generator")
            load_generator(generator, path, which)

    @property
    def weight_files(self) -> tuple[str, ...]:
        """One file per generator this stage has."""
        return tuple(f"{which}_weights" for which in ("edge", "inpaint") if getattr(self, f"{which}_generator") is not None)

    def train(self, mode: bool = True) -> "EdgeConnect":
        super().train(mode)
        if self.stage == "edge_inpaint" and not self.sn_updates_in_frozen_edge_generator:
            self.edge_generator.eval()
        return self

    def forward(self, image: torch.Tensor, mask: torch.Tensor, gray: torch.Tensor | None = None,
                canny: torch.Tensor | None = None, canny_known: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``gray``, ``canny``, ``canny_known``: the batch's :class:`EdgeInputs` (computed here when absent)."""
        self.meta.check_inputs(image, mask)
        known_only = self.stage == "edge_inpaint" and not self.training  # the released test path
        given = {"gray": gray, "canny": canny, "canny_known": canny_known}
        needed = ("gray", "canny_known" if known_only else "canny")
        if any(given[key] is None for key in needed):
            given.update(self.derived(image, mask, keys=needed))
        gray, edges_in = given["gray"], given[needed[1]]
        known = 1 - mask
        if self.stage == "inpaint":
            edges = edges_in
        else:
            g1_input = torch.cat([gray * known + mask, edges_in * known, mask], 1)
            if self.stage == "edge":
                # EdgeConnect training: Canny on the full image, then masked; the full Canny map is G1's target
                edges = self.edge_generator(g1_input)
                return {"pred": edges.expand(-1, 3, -1, -1), "edges": edges, "canny": edges_in, "gray": gray}
            if self.training:
                with torch.no_grad():
                    predicted = self.edge_generator(g1_input)
                edges = predicted * mask + edges_in * known
            else:
                edges = self.edge_generator(g1_input)
        return {"pred": self.inpaint_generator(torch.cat([image * known + mask, edges], 1)), "edges": edges}


class EdgeInputs:
    """EdgeConnect's derived inputs (:mod:`inpainting.data.derived`): ``gray`` (skimage's ``rgb2gray``
    weights), ``canny`` (Canny of the full image: G1's input while training and its target) and, for the
    ``edge_inpaint`` stage, ``canny_known`` (Canny of the known pixels only: the released test path)."""

    def __init__(self, sigma: float, stage: str):
        self.sigma, self.stage = sigma, stage
        self.keys = ("gray", "canny", "canny_known") if stage == "edge_inpaint" else ("gray", "canny")

    def for_frozen(self) -> "EdgeInputs":
        """What a network kept in eval mode reads (JPGNet's frozen DGNet): the test path's maps only."""
        frozen = EdgeInputs(self.sigma, self.stage)
        if self.stage == "edge_inpaint":
            frozen.keys = ("gray", "canny_known")
        return frozen

    def __call__(self, image: torch.Tensor, mask: torch.Tensor, keys: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        gray = rgb_to_gray(image)
        out = {"gray": gray}
        for key in keys or self.keys:
            if key in ("canny", "canny_known"):
                out[key] = canny_edges(gray, mask if key == "canny_known" else None, self.sigma)
        return out
