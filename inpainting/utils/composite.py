"""The composite every inpainting result is scored and fused as: the prediction in the holes, the known pixels kept."""
from __future__ import annotations

import torch


def composite(pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Paste the prediction into the holes (mask 1) and keep the known pixels of ``image``."""
    return pred * mask + image * (1 - mask)
