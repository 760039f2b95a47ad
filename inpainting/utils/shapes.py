"""The tensor shape checks of the framework's conventions (images (B, 3, H, W), masks (B, 1, H, W) with
1 = hole), shared by the nets, losses and metrics: each fails early, naming the caller and the shapes."""
from __future__ import annotations

import torch


def check_image_pair(pred: torch.Tensor, target: torch.Tensor, what: str, channels: int | None = None) -> None:
    """Raise ValueError unless ``pred`` and ``target`` are 4-D tensors of one shape (with ``channels`` channels)."""
    c = "C" if channels is None else channels
    if pred.dim() != 4 or tuple(pred.shape) != tuple(target.shape) or (channels is not None and pred.shape[1] != channels):
        raise ValueError(
            f"{what}: expected prediction and target of one shape (B, {c}, H, W); "
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


def check_image_mask(image: torch.Tensor, mask: torch.Tensor, what: str) -> None:
    """Raise ValueError unless ``image`` is (B, 3, H, W) and ``mask`` (B, 1, H, W) of the same batch and size."""
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"{what}: expected an image of shape (B, 3, H, W); got {tuple(image.shape)}")
    check_mask(mask, image, what)
