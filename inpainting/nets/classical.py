"""A classical method (:mod:`inpainting.eval.classical`) as a network adapter, e.g. JPGNet's DGNet: no parameters,
no weights; its result is a derived input the data workers compute on the CPU (:mod:`inpainting.data.derived`)."""
from __future__ import annotations

import torch

from inpainting.eval.classical import Inpainter, classical_inpainter
from inpainting.nets.adapter import Adapter
from inpainting.nets.meta import NetMeta

CLASSICAL_META = NetMeta(
    name="classical",
    size_multiple=1,
    mask_polarity="hole",
    value_range=(0.0, 1.0),
    param_count=0,
    traceable=False,
    source="OpenCV cv2.inpaint (Telea, Navier-Stokes), scikit-image inpaint_biharmonic, pypatchmatch (PatchMatch)",
)


class ClassicalInputs:
    """A classical method's result as a derived input (:mod:`inpainting.data.derived`): computed per image on the
    CPU in the data workers, so JPGNet with a classical DGNet trains without a device -> host round trip."""

    keys = ("classical",)

    def __init__(self, inpainter: Inpainter):
        self.inpainter = inpainter

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"classical": self.inpainter(image, mask)}


class ClassicalInpainter(Adapter):
    """A classical method as an adapter (``forward(image, mask) -> {"pred": ...}``), e.g. JPGNet's DGNet.

    ``method``: a key of ``CLASSICAL_METHODS`` (``telea``, ``navier_stokes``, ``biharmonic``, ``patchmatch``);
    ``options`` are its keyword arguments (``radius``; PatchMatch: ``patch_size``, ``seed``). No parameters, no
    weights; runs on the CPU per image, in the data workers when the batch carries its result (``classical``).
    """

    meta = CLASSICAL_META

    def __init__(self, method: str = "telea", **options):
        super().__init__()
        self.method = method
        self.inpainter = classical_inpainter(method, **options)  # PatchMatch without its library fails here
        self.derived = ClassicalInputs(self.inpainter)

    def forward(self, image: torch.Tensor, mask: torch.Tensor, classical: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``classical``: the batch's result of this method (:class:`ClassicalInputs`; computed here when absent)."""
        return {"pred": self.inpainter(image, mask) if classical is None else classical}

    def extra_repr(self) -> str:
        return f"method={self.method!r}"
