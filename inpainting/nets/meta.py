"""What a caller must know about a network family before feeding it (timm's ``pretrained_cfg`` idea).

Each family's home (``inpainting/nets/<family>/``) exposes one ``NetMeta`` as ``META``, and its
adapter (:class:`inpainting.nets.adapter.Adapter`) carries it as the class attribute ``meta``; ``predict``,
the size checks, ``load_model(..., official=<family>)`` and the tests read it from there instead of
re-deriving it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from inpainting.utils.shapes import check_image_mask


@dataclass(frozen=True)
class NetMeta:
    name: str
    size_multiple: int  # input height and width must be multiples of this
    mask_polarity: str  # the network's own: "hole" (1 = hole) or "valid" (1 = known pixel)
    value_range: tuple[float, float]  # image range the network reads and writes
    param_count: int | None = None  # the generator's parameters at the released width
    source: str = ""  # where the architecture comes from (repository, commit, or paper)
    # the authors' released files: the adapter's load_weights keyword -> the file's name (a glob pattern)
    released_files: Mapping[str, str] = field(default_factory=dict)
    # False for a network that runs outside torch (a classical method on numpy/OpenCV): no tracer records it, so
    # ``inpaint-export`` makes its result an input of the exported graph
    traceable: bool = True

    def check_inputs(self, image: torch.Tensor, mask: torch.Tensor) -> None:
        """The framework's (B, 3, H, W) image and (B, 1, H, W) mask, at a size this network takes."""
        check_image_mask(image, mask, self.name)
        self.check_size(*image.shape[-2:])

    def check_size(self, height: int, width: int) -> None:
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(
                f"{self.name} needs height and width divisible by {self.size_multiple}, got {height}x{width}"
            )
