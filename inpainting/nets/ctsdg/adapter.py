"""CTSDG in the framework's conventions: image in [0, 1], mask (B, 1, H, W) with 1 = hole.

At the boundary the adapter does what the authors' data loader and ``test.py`` do:

* image -> [-1, 1] (``Normalize(0.5, 0.5)``), mask -> 1 = valid;
* gray = ``skimage.color.rgb2gray`` weights and edge = ``skimage.feature.canny(gray, sigma=2)`` with
  the default thresholds (the shared :func:`~inpainting.nets.edgeconnect.canny_edges`), both of the
  **full** image, then masked for the generator: ``G(x*M, cat(edge*M, gray*M), M)``.

Two quirks of the official inputs are switches whose defaults are the authors' behaviour:

``structure_from="wrap"`` (faithful). ``utils/canny.image_to_edge`` converts the already-normalized
[-1, 1] tensor to PIL: ``mul(255).byte()`` wraps negative values around (-1 -> 1, -0.5 -> 129,
0 -> 0, 1 -> 255), so the released models were trained and tested with gray levels and edges of a
non-monotonically remapped image. This path reproduces that byte conversion as x86 casts it
(truncate, then modulo 256), whatever the platform. ``structure_from="image"`` is the corrected
path: gray and edges of the [0, 1] image itself (what the paper describes); use it to train a model
of your own, not with the released weights.

``edges_from_known_only=False`` (faithful). Canny smooths with sigma 2 on the full ground-truth
image, so edges within a few pixels of a hole's rim carry information from inside the hole.
``True`` runs Canny on the known pixels only (as EdgeConnect's test path does).

``forward`` returns ``pred`` (the raw, uncomposited output mapped to [0, 1]), the projection heads
``projected_image`` (in [0, 1]) and ``projected_edge`` (a probability), and the full-image ``edge``
and ``gray`` that the discriminator and the losses use.
"""
from __future__ import annotations

import torch

from inpainting.nets.adapter import GeneratorAdapter
from inpainting.nets.ctsdg.checkpoint import load_ctsdg_generator
from inpainting.nets.ctsdg.network import META, Generator
from inpainting.nets.edgeconnect import canny_edges, rgb_to_gray

STRUCTURE_SOURCES = ("wrap", "image")


def wrapped_bytes(image: torch.Tensor) -> torch.Tensor:
    """The official ``ToPILImage`` of the normalized tensor, as [0, 1] values: ``(trunc(255 x) mod 256) / 255``."""
    normalized = (image - 0.5) / 0.5
    return torch.remainder(torch.trunc(normalized * 255), 256) / 255


def structure_inputs(image: torch.Tensor, structure_from: str = "wrap", sigma: float = 2.0,
                     mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(edge, gray), each (B, 1, H, W) in [0, 1], of an image batch in [0, 1] (see the module docstring).

    ``mask`` (1 = hole): when given, Canny sees the known pixels only.
    """
    if structure_from not in STRUCTURE_SOURCES:
        raise ValueError(f"structure_from must be one of {STRUCTURE_SOURCES}, got {structure_from!r}")
    source = wrapped_bytes(image) if structure_from == "wrap" else image
    gray = rgb_to_gray(source)
    return canny_edges(gray, mask, sigma), gray


class StructureInputs:
    """CTSDG's derived inputs (:mod:`inpainting.data.derived`): ``edge`` and ``gray`` of :func:`structure_inputs`,
    computed in the data workers as the authors' data loader computes them."""

    keys = ("edge", "gray")

    def __init__(self, structure_from: str, sigma: float, edges_from_known_only: bool):
        self.structure_from, self.sigma, self.known_only = structure_from, sigma, edges_from_known_only

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        edge, gray = structure_inputs(image, self.structure_from, self.sigma, mask if self.known_only else None)
        return {"edge": edge, "gray": gray}


class CTSDGInpainter(GeneratorAdapter):
    """The CTSDG generator behind the framework's ``forward(image, mask) -> dict``.

    ``load_weights(weights=...)``: an official ``{'n_iter', 'generator', 'discriminator'}`` file (its generator,
    as ``test.py`` reads it), one of our runs' ``.ckpt`` or its run folder, strictly, e.g. to evaluate it or to use
    it as JPGNet's frozen DGNet.

    Args:
        generator: the :class:`~inpainting.nets.ctsdg.network.Generator` (default: the official one).
        structure_from: ``"wrap"`` (faithful) or ``"image"`` (corrected); see the module docstring.
        sigma: Canny's Gaussian sigma (official ``--sigma 2``).
        edges_from_known_only: False (faithful) or True; see the module docstring.
    """

    meta = META
    file_loader = staticmethod(load_ctsdg_generator)

    def __init__(self, generator: Generator | None = None, structure_from: str = "wrap", sigma: float = 2.0,
                 edges_from_known_only: bool = False):
        super().__init__(generator if generator is not None else Generator())
        if structure_from not in STRUCTURE_SOURCES:
            raise ValueError(f"structure_from must be one of {STRUCTURE_SOURCES}, got {structure_from!r}")
        self.structure_from = structure_from
        self.sigma = sigma
        self.edges_from_known_only = edges_from_known_only
        self.derived = StructureInputs(structure_from, sigma, edges_from_known_only)

    def forward(self, image: torch.Tensor, mask: torch.Tensor, edge: torch.Tensor | None = None,
                gray: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``edge``, ``gray``: the batch's :class:`StructureInputs` (computed here when absent)."""
        self.meta.check_inputs(image, mask)
        if edge is None or gray is None:
            edge, gray = self.derived(image, mask).values()
        valid = 1 - mask
        output, projected_image, projected_edge = self.generator(
            (image * 2 - 1) * valid, torch.cat((edge * valid, gray * valid), 1), valid)
        return {
            "pred": (output + 1) / 2,
            "projected_image": (projected_image + 1) / 2,
            "projected_edge": projected_edge,
            "edge": edge,
            "gray": gray,
        }
