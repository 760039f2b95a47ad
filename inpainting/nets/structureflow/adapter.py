"""StructureFlow in the framework's conventions (image in [0,1], mask (B,1,H,W) 1 = hole).

StructureFlow's own (docs/structureflow.md, docs/authors-code.md#dgnets-inside-jpgnet): images and structures in [-1,1],
mask 1 = hole, image input ``I_in = I*(1-M)`` (holes 0 = mid-grey); Gs gets ``[I_in, S*(1-M), M]``, Gt gets
``[I_in, S_pred, M]`` with Gs's raw (non-composited) prediction; outputs are tanh images in [-1,1].

The "structure" ``S`` comes from (``structure``):
* ``"image"``: the ground-truth image itself, as JPGNet's ``StructureFlow_fusion`` config does (its
  structure list is the GT image list); the faithful choice for the JPGNet rows;
* ``"rtv"``: the RTV-smoothed image, StructureFlow's own. Pass it as ``forward(..., structure=...)``
  (the datasets deliver the cached one as ``batch["structure"]``, see ``inpainting.data.rtv``);
  without it, it is computed on the fly from the image (about a second per 256x256 image on a CPU).

With only Gs (training stage 1) ``pred`` is the structure prediction; with only Gt (stage 2) Gt
reads the given structure instead of Gs's.
"""
from __future__ import annotations

import torch
from torch import nn

from inpainting.data.rtv import rtv_smooth, to_uint8
from inpainting.nets.adapter import Adapter
from inpainting.nets.checkpoints import load_run_or_official
from inpainting.nets.structureflow.checkpoint import load_structureflow_network
from inpainting.nets.structureflow.network import META, MIN_SIZE, FlowGenerator, StructureGenerator

STRUCTURE_SOURCES = ("image", "rtv")
# Lightning checkpoints of our own stage runs keep the generators under these prefixes
LIGHTNING_PREFIX = {"structure_generator": "net.structure_generator.", "flow_generator": "net.flow_generator."}


def rtv_structure(image: torch.Tensor) -> torch.Tensor:
    """RTV structure images of a [0,1] batch, 8-bit quantised like the cached files."""
    out = [torch.from_numpy(to_uint8(rtv_smooth(x.permute(1, 2, 0).double().cpu().numpy()))) for x in image]
    return torch.stack(out).permute(0, 3, 1, 2).to(image) / 255.0


def _load(module: nn.Module, path: str, prefix: str) -> None:
    """The authors' file, one of our stage runs' ``.ckpt`` or its run folder (the checkpoint it hands on)."""
    load_run_or_official(module, path, prefix, load_structureflow_network)


class StructureFlowInpainter(Adapter):
    """Gs and/or Gt behind the framework's conventions; usable as JPGNet's frozen DGNet.

    Args:
        structure_generator, flow_generator: Gs and Gt (either may be None for a training stage).
        structure: where ``S`` comes from: ``"image"`` or ``"rtv"`` (see the module docstring).
    ``load_weights(structure_weights=..., flow_weights=...)``: the authors' ``latest_net_s_gen.pth`` /
    ``latest_net_f_gen.pth``, a ``.ckpt`` of our structure / flow / joint stage run or its run folder, strictly.
    ``forward(image, mask, structure=None)`` returns ``pred`` (Gt's raw output, or Gs's without Gt) in
    [0,1], ``structure_pred`` (Gs's, [0,1]) and ``flow`` (Gt's, in pixels of the H/4 grid).
    """

    meta = META

    def __init__(self, structure_generator: StructureGenerator | None = None,
                 flow_generator: FlowGenerator | None = None, structure: str = "image"):
        super().__init__()
        if structure not in STRUCTURE_SOURCES:
            raise ValueError(f"structure must be one of {STRUCTURE_SOURCES}, got {structure!r}")
        if structure_generator is None and flow_generator is None:
            raise ValueError("StructureFlowInpainter needs Gs, Gt or both")
        self.structure_generator = structure_generator
        self.flow_generator = flow_generator
        self.structure = structure

    def load_weights(self, structure_weights: str | None = None, flow_weights: str | None = None) -> None:
        """Gs's and Gt's files (as JPGNet's DGNet: ``model.stage_weights.dgnet.{structure,flow}_weights``)."""
        for name, path in (("structure_generator", structure_weights), ("flow_generator", flow_weights)):
            if path:
                if getattr(self, name) is None:
                    raise ValueError(f"{name} weights given ({path}) but no {name} configured")
                _load(getattr(self, name), path, LIGHTNING_PREFIX[name])

    @property
    def weight_files(self) -> tuple[str, ...]:
        """One file per configured generator."""
        return tuple(f"{name}_weights" for name in ("structure", "flow") if getattr(self, f"{name}_generator") is not None)

    def structure_of(self, image: torch.Tensor, structure: torch.Tensor | None = None) -> torch.Tensor:
        """``S`` in [0,1]: the given one, else the image or its RTV smoothing (``self.structure``)."""
        if structure is not None:
            return structure
        return image if self.structure == "image" else rtv_structure(image)

    def official(self, image: torch.Tensor, mask: torch.Tensor, structure: torch.Tensor | None = None) -> dict:
        """Everything in StructureFlow's [-1,1] convention: ``image``, ``input`` (= I_in), ``structure``,
        ``structure_pred`` (Gs), ``output`` and ``flow`` (Gt), as far as the configured networks go."""
        self.meta.check_size(*image.shape[-2:])
        if min(image.shape[-2:]) < MIN_SIZE:
            raise ValueError(f"StructureFlow needs images of at least {MIN_SIZE}x{MIN_SIZE}, got {tuple(image.shape[-2:])}")
        gt = image * 2 - 1
        known = 1 - mask
        out = {"image": gt, "input": gt * known, "mask": mask,
               "structure": self.structure_of(image, structure) * 2 - 1}
        structure_in = out["structure"]
        if self.structure_generator is not None:
            frozen = not any(p.requires_grad for p in self.structure_generator.parameters())
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
                pred = self.structure_generator(torch.cat([out["input"], structure_in * known, mask], 1))
            out["structure_pred"] = structure_in = pred.detach() if frozen else pred
        if self.flow_generator is not None:
            out["output"], out["flow"] = self.flow_generator(torch.cat([out["input"], structure_in, mask], 1))
        return out

    def forward(self, image: torch.Tensor, mask: torch.Tensor, structure: torch.Tensor | None = None) -> dict:
        out = self.official(image, mask, structure)
        result = {}
        if "structure_pred" in out:
            result["structure_pred"] = (out["structure_pred"] + 1) / 2
        if "output" in out:
            result["flow"] = out["flow"]
        result["pred"] = (out["output"] + 1) / 2 if "output" in out else result["structure_pred"]
        return result
