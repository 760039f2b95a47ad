"""What a caller must know about a network family before feeding it (timm's ``pretrained_cfg`` idea).

Each family's home (``inpainting/nets/<family>/``) exposes one ``NetMeta`` as ``META``, and its
adapter carries it as the class attribute ``meta``; ``predict``, the size checks and the tests read
it from there instead of re-deriving it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetMeta:
    name: str
    size_multiple: int  # input height and width must be multiples of this
    mask_polarity: str  # the network's own: "hole" (1 = hole) or "valid" (1 = known pixel)
    value_range: tuple[float, float]  # image range the network reads and writes
    param_count: int | None = None  # the generator's parameters at the released width
    source: str = ""  # where the architecture comes from (repository, commit, or paper)

    def check_size(self, height: int, width: int) -> None:
        if height % self.size_multiple or width % self.size_multiple:
            raise ValueError(
                f"{self.name} needs height and width divisible by {self.size_multiple}, got {height}x{width}"
            )
