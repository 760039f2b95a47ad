"""Input checks shared by the loss modules: fail early with the shapes in the message."""
from __future__ import annotations

import torch


def check_image_pair(pred: torch.Tensor, target: torch.Tensor, what: str) -> None:
    """Raise ValueError unless ``pred`` and ``target`` are 4-D (B, C, H, W) tensors of one shape."""
    if pred.dim() != 4 or tuple(pred.shape) != tuple(target.shape):
        raise ValueError(
            f"{what}: expected prediction and target of one shape (B, C, H, W); "
            f"got {tuple(pred.shape)} and {tuple(target.shape)}"
        )


def check_mask(mask: torch.Tensor, image: torch.Tensor, what: str) -> None:
    """Raise ValueError unless ``mask`` is (B, 1, H, W) matching the image's batch and spatial size."""
    b, _, h, w = image.shape
    if tuple(mask.shape) != (b, 1, h, w):
        raise ValueError(
            f"{what}: expected a mask of shape (B, 1, H, W) = {(b, 1, h, w)} (1 = hole) for images "
            f"of shape {tuple(image.shape)}; got {tuple(mask.shape)}"
        )
