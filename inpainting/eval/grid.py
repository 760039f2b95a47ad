"""PNG grids of inpainting results: one row per image, one titled column per view."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from inpainting.eval.metrics import psnr_uint8, to_uint8_truncated
from inpainting.utils.atomic import atomic_path
from inpainting.utils.composite import composite

TITLE_HEIGHT = 16
PAD = 4
BACKGROUND = (255, 255, 255)


def masked_input(image: torch.Tensor, mask: torch.Tensor, fill: float = 1.0) -> torch.Tensor:
    """The image with its holes (mask 1) painted ``fill`` (white by default, so holes are visible)."""
    return image * (1 - mask) + fill * mask


def inpainting_columns(
    image: torch.Tensor,
    mask: torch.Tensor,
    pred: torch.Tensor,
    extra: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """The standard views: masked input | output | composite | ground truth, then any ``extra`` maps."""
    return comparison_columns(image, mask, {"": (pred, extra or {})})


def comparison_columns(
    image: torch.Tensor,
    mask: torch.Tensor,
    outputs: Mapping[str, tuple[torch.Tensor, Mapping[str, torch.Tensor]]],
) -> dict[str, torch.Tensor]:
    """Views of several methods side by side: masked input | per method output and composite | ground
    truth | per method extra maps. Titles carry the method name (an empty name gives bare titles)."""
    columns = {"masked input": masked_input(image, mask)}
    for name, (pred, _) in outputs.items():
        prefix = f"{name} " if name else ""
        columns[f"{prefix}output"] = pred
        columns[f"{prefix}composite"] = composite(pred, image, mask)
    columns["ground truth"] = image
    for name, (_, extra) in outputs.items():
        prefix = f"{name} " if name else ""
        columns.update({f"{prefix}{key}": value for key, value in extra.items()})
    return columns


def method_comparison(
    image: torch.Tensor, mask: torch.Tensor, results: Mapping[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], dict[str, list[str]]]:
    """masked input | each method's composite | ground truth, with each method tile's PSNR (the tables'
    uint8 PSNR of the composite). ``results``: method name -> raw prediction. Returns (columns, captions)
    for :func:`grid_image`."""
    columns = {"masked input": masked_input(image, mask)}
    captions = {}
    for name, pred in results.items():
        columns[name] = composite(pred.clamp(0, 1), image, mask)
        captions[name] = [f"{float(v):.1f} dB" for v in psnr_uint8(to_uint8_truncated(columns[name]), to_uint8_truncated(image))]
    columns["ground truth"] = image
    return columns, captions


def _to_rgb_uint8(x: torch.Tensor, name: str) -> np.ndarray:
    """(B,1|3,H,W) float in [0,1] -> (B,H,W,3) uint8 (single-channel maps shown in grey)."""
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"grid column {name!r}: expected (B,1,H,W) or (B,3,H,W), got {tuple(x.shape)}")
    x = x.detach().float().cpu().clamp(0, 1)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return (x * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _enlarge(batch: np.ndarray, min_tile: int) -> np.ndarray:
    """Nearest-neighbour upscale of (B,H,W,3) tiles by the integer factor that reaches ``min_tile``."""
    factor = -(-min_tile // max(1, min(batch.shape[1:3])))
    return batch.repeat(factor, axis=1).repeat(factor, axis=2) if factor > 1 else batch


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> str:
    """Shorten a title until it fits above its tile."""
    while len(text) > 1 and draw.textlength(text, font=font) > width:
        text = text[:-1]
    return text


def grid_image(
    columns: Mapping[str, torch.Tensor], max_rows: int = 8, titles: bool = True, min_tile: int = 0,
    captions: Mapping[str, Sequence[str]] | None = None,
) -> Image.Image:
    """Compose the grid as a PIL image; all columns must share batch size and spatial size.

    ``min_tile``: enlarge small tiles (nearest neighbour, integer factor) to at least this many pixels.
    ``captions``: column name -> one text per row, drawn on a dark band at the tile's bottom left.
    """
    if not columns:
        raise ValueError("grid_image needs at least one column")
    arrays = {name: _enlarge(_to_rgb_uint8(x, name)[:max_rows], min_tile) for name, x in columns.items()}
    shapes = {name: a.shape[:3] for name, a in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"grid columns differ in (rows, H, W): {shapes}")
    rows, height, width = next(iter(shapes.values()))
    top = TITLE_HEIGHT if titles else 0
    canvas = Image.new("RGB", (PAD + len(arrays) * (width + PAD), top + PAD + rows * (height + PAD)), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for col, (name, array) in enumerate(arrays.items()):
        x = PAD + col * (width + PAD)
        if titles:
            draw.text((x + 2, 2), _fit(draw, name, font, width - 4), fill=(0, 0, 0), font=font)
        for row in range(rows):
            y = top + PAD + row * (height + PAD)
            canvas.paste(Image.fromarray(array[row]), (x, y))
            texts = (captions or {}).get(name)
            if texts is not None and row < len(texts):
                text = _fit(draw, texts[row], font, width - 4)
                draw.rectangle((x, y + height - 13, x + draw.textlength(text, font=font) + 4, y + height), fill=(0, 0, 0))
                draw.text((x + 2, y + height - 12), text, fill=(255, 255, 255), font=font)
    return canvas


def save_grid(
    path: str | Path, columns: Mapping[str, torch.Tensor], max_rows: int = 8, titles: bool = True, min_tile: int = 0,
    captions: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """Save ``grid_image(columns)`` as a PNG at ``path`` (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        grid_image(columns, max_rows, titles, min_tile, captions).save(tmp, format="PNG")
    return path
