"""CTSDG (Guo et al., ICCV 2021; ``xiefan-guo/ctsdg``), MISF Table 2's CTSDG row.

* :mod:`.network`: generator (texture/structure partial-conv branches, Bi-GFF, CFA = RAL patch
  attention + MSFA) and discriminator (texture and structure PatchGANs, edge detector), official keys.
* :mod:`.checkpoint`: the authors' ``{'n_iter', 'generator', 'discriminator'}`` files, strict.
* :mod:`.adapter`: framework conventions in; the edge/gray input quirk as a switch.

Losses: :class:`inpainting.losses.ctsdg.CTSDGLoss`; training: :class:`inpainting.models.ctsdg_module.CTSDGModule`;
docs: ``docs/ctsdg.md``.
"""
from inpainting.nets.ctsdg.adapter import CTSDGInpainter, structure_inputs, wrapped_bytes
from inpainting.nets.ctsdg.checkpoint import load_ctsdg_checkpoint
from inpainting.nets.ctsdg.network import (
    CFA,
    META,
    MSFA,
    RAL,
    BiGFF,
    Discriminator,
    EdgeDetector,
    Generator,
    PConvBNActiv,
    init_ctsdg_,
)

__all__ = [
    "BiGFF", "CFA", "CTSDGInpainter", "Discriminator", "EdgeDetector", "Generator", "META", "MSFA",
    "PConvBNActiv", "RAL", "init_ctsdg_", "load_ctsdg_checkpoint", "structure_inputs", "wrapped_bytes",
]
