"""Drawing for the image panel: filter-map columns, colourised single-channel maps with their colour bars,
per-tile labels (hole ratio, PSNR) and the labelled panel image."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from inpainting.eval.grid import PAD, TITLE_HEIGHT, grid_image, inpainting_columns
from inpainting.eval.metrics import hole_ratio, inpainting_scores

COLOUR_MAP = "viridis"  # single-channel maps (uncertainty, off-centre weight), scale 0..1


# what each end of a colourised map means (the colour bar says it)
MAP_ENDS = {"uncertainty": ("0 = filter trusted", "1 = uncertain (generator used)"),
            "off-centre weight": ("0 = centre tap only", "1 = all from neighbours")}
FLAT_SPREAD = 0.05  # a map spanning less than 5 % of its 0..1 scale over the panel shows nothing: left out, value said


def panel_columns(outputs: dict, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Columns of the panel: masked input | output | composite | ground truth [| filter maps]."""
    extra = {}
    if "uncertainty" in outputs:
        extra["uncertainty"] = outputs["uncertainty"]
    if "kernels" in outputs:
        # share of each pixel's kernel weight off the centre tap: where the filter borrows from neighbours
        kernels = outputs["kernels"].abs()
        taps = kernels.shape[1] // image.shape[1]  # image-level kernels, laid out channel*taps + tap
        per_tap = kernels.view(kernels.shape[0], -1, taps, *kernels.shape[2:]).mean(1)
        off_centre = 1 - per_tap[:, taps // 2 : taps // 2 + 1] / per_tap.sum(1, keepdim=True).clamp_min(1e-12)
        extra["off-centre weight"] = off_centre
    return inpainting_columns(image, mask, outputs["pred"].clamp(0, 1), extra)


def colourise(x: torch.Tensor, cmap: str = COLOUR_MAP) -> torch.Tensor:
    """(B,1,H,W) in [0,1] -> (B,3,H,W) through a matplotlib colour map, on ``x``'s device."""
    from matplotlib import colormaps

    rgba = colormaps[cmap](x[:, 0].clamp(0, 1).detach().cpu().numpy())
    return torch.from_numpy(rgba[..., :3]).permute(0, 3, 1, 2).float().to(x.device)


def _colour_bar(width: int, name: str, font: ImageFont.ImageFont) -> Image.Image:
    """A strip 'name: 0 = ... [colour ramp] 1 = ...' explaining one colourised column."""
    from matplotlib import colormaps

    low, high = MAP_ENDS.get(name, ("0", "1"))
    strip = Image.new("RGB", (width, TITLE_HEIGHT + PAD), (255, 255, 255))
    draw = ImageDraw.Draw(strip)
    label = f"{name}: {low}"
    draw.text((PAD, 2), label, fill=(0, 0, 0), font=font)
    left = PAD + int(draw.textlength(label, font=font)) + 4
    ramp_width = max(16, min(256, width - left - int(draw.textlength(high, font=font)) - 12))
    ramp = (colormaps[COLOUR_MAP](np.linspace(0, 1, ramp_width))[:, :3] * 255).astype(np.uint8)
    strip.paste(Image.fromarray(np.repeat(ramp[None], TITLE_HEIGHT - 4, axis=0)), (left, 2))
    draw.text((left + ramp_width + 4, 2), high, fill=(0, 0, 0), font=font)
    return strip


def _note_strip(width: int, text: str, font: ImageFont.ImageFont) -> Image.Image:
    strip = Image.new("RGB", (width, TITLE_HEIGHT + PAD), (255, 255, 255))
    ImageDraw.Draw(strip).text((PAD, 2), text, fill=(0, 0, 0), font=font)
    return strip


def labelled_panel(columns: dict[str, torch.Tensor], header: str, row_labels: list[str], max_rows: int,
                   min_tile: int, captions: dict[str, list[str]] | None = None) -> Image.Image:
    """The grid with a header line, a label after each row and a colour scale for each single-channel map
    (``captions``: text on each tile of a column, e.g. its PSNR). A map that is flat over the panel shows
    nothing: it is left out and a line says its value."""
    flat = {name: x for name, x in columns.items() if x.shape[1] == 1 and float(x.max() - x.min()) < FLAT_SPREAD}
    columns = {name: x for name, x in columns.items() if name not in flat}
    maps = [name for name, x in columns.items() if x.shape[1] == 1]
    shown = {name: colourise(x) if name in maps else x for name, x in columns.items()}
    grid = grid_image(shown, max_rows=max_rows, min_tile=min_tile, captions=captions)
    font = ImageFont.load_default()
    rows = min(max_rows, next(iter(columns.values())).shape[0])
    tile = (grid.height - TITLE_HEIGHT - PAD) // rows - PAD
    measure = ImageDraw.Draw(grid)
    label_width = PAD + max([int(measure.textlength(s, font=font)) for s in row_labels] + [0]) + PAD
    strips = [_colour_bar(grid.width + label_width, name, font) for name in maps]
    strips += [_note_strip(grid.width + label_width, f"{name}: flat ({float(x.mean()):.2f} everywhere), not shown", font)
               for name, x in flat.items()]
    height = TITLE_HEIGHT + grid.height + sum(strip.height for strip in strips)
    canvas = Image.new("RGB", (grid.width + label_width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.text((PAD, 2), header, fill=(0, 0, 0), font=font)
    canvas.paste(grid, (0, TITLE_HEIGHT))
    for row, text in enumerate(row_labels[:rows]):
        y = 2 * TITLE_HEIGHT + PAD + row * (tile + PAD) + tile // 2 - 6
        draw.text((grid.width, y), text, fill=(0, 0, 0), font=font)
    top = TITLE_HEIGHT + grid.height
    for strip in strips:
        canvas.paste(strip, (0, top))
        top += strip.height
    return canvas


def tile_labels(outputs: dict, image: torch.Tensor, mask: torch.Tensor) -> list[str]:
    """'hole 13% | 21.4 dB' per tile: hole ratio and PSNR of the composite (PSNR only for RGB outputs)."""
    ratios = hole_ratio(mask).tolist()
    pred = outputs["pred"]
    if pred.shape != image.shape:
        return [f"hole {100 * r:.0f}%" for r in ratios]
    psnr = inpainting_scores(pred.clamp(0, 1), image, mask)["psnr"].tolist()
    return [f"hole {100 * r:.0f}% | {p:.1f} dB" for r, p in zip(ratios, psnr)]
