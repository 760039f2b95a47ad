"""Inpaint images with any model: ``inpaint-predict images=<file|dir> masks=<file|dir> output_dir=<dir> model.source=<...>``.

``model.source`` is one of: a run folder or ``.ckpt`` of ours (the model is rebuilt from the run's
``config_resolved.yaml``, as ``inpaint-eval`` does); an official weights file with ``model.official=misf``
(MISF generator) or ``model.official=pfunet`` (JPGNet PFUNet); or a classical method ``telea``, ``ns``,
``biharmonic``. Images of any size are padded to the network's size multiple (reflection or zeros,
padding counted as known pixels) and cropped back; a mask of another size is resized (nearest) with a
warning. Each result is the composite (known pixels kept) saved as ``<output_dir>/<stem>.png``.
See ``conf/predict.yaml`` for every option.
"""
from __future__ import annotations

import logging
import pathlib
from dataclasses import dataclass
from typing import Callable

import hydra
import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from inpainting.cli.common import CONFIG_DIR
from inpainting.data.io import DataError, load_image, load_mask_file
from inpainting.data.masks import MaskPolarity

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
CLASSICAL = {"telea": "telea", "ns": "navier_stokes", "navier_stokes": "navier_stokes", "biharmonic": "biharmonic"}
ENCODER_MULTIPLE = 4  # two stride-2 stages in the MISF encoder

Inpaint = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (image, mask) -> composited result


@dataclass
class Predictor:
    """A model as a function on framework tensors, with the size multiple its network needs."""

    inpaint: Inpaint
    multiple: int
    description: str


# -- models --------------------------------------------------------------------------------------
def size_multiple(net: torch.nn.Module) -> int:
    """The input side multiple a network needs: the largest ``meta.size_multiple`` of the adapters inside it."""
    from inpainting.nets.meta import NetMeta
    from inpainting.nets.misf import MISFGenerator

    multiples = [m.meta.size_multiple for m in net.modules() if isinstance(getattr(m, "meta", None), NetMeta)]
    if any(isinstance(m, MISFGenerator) for m in net.modules()):  # MISF's META comes with its family home
        multiples.append(ENCODER_MULTIPLE)
    return max(multiples, default=1)


def _composited(net: torch.nn.Module) -> Inpaint:
    from inpainting.eval.metrics import composite

    @torch.no_grad()
    def run(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return composite(net(image, mask)["pred"], image, mask)

    return run


def _run_model(source: pathlib.Path, device: torch.device) -> Predictor:
    from inpainting.utils.runs import resolve_checkpoint, training_run_config

    ckpt = resolve_checkpoint(str(source), source, prefer_best=True)
    trained = training_run_config(ckpt)
    if trained is None or "model" not in trained:
        raise FileNotFoundError(f"{ckpt}: no config_resolved.yaml in its run folder (or the one above), so the model cannot be rebuilt")
    model = hydra.utils.instantiate(trained.model)
    model.load_weights(ckpt)
    model.eval().to(device)
    return Predictor(model.inpaint, size_multiple(model.net), f"run checkpoint {ckpt}")


def _official_model(source: pathlib.Path, kind: str, device: torch.device) -> Predictor:
    from inpainting.models.adapters import MISFInpainter
    from inpainting.nets.jpgnet import PFUNet, load_jpgnet_kpn, pfunet
    from inpainting.nets.misf import MISFGenerator

    if kind == "misf":
        net = MISFInpainter(MISFGenerator(variant="misf"), weights=str(source))
    elif kind == "pfunet":
        net = PFUNet(pfunet())
        load_jpgnet_kpn(net.kpn, source)
    else:
        raise ValueError(f"model.official={kind!r}: choose misf or pfunet")
    net.eval().to(device)
    return Predictor(_composited(net), size_multiple(net), f"official {kind} weights {source}")


def build_predictor(model_cfg: DictConfig, device: torch.device) -> Predictor:
    """The model named by ``model.source`` (see the module doc)."""
    source = str(model_cfg.source)
    if source.lower() in CLASSICAL:
        from inpainting.eval.classical import classical_inpainter
        from inpainting.eval.metrics import composite

        method = classical_inpainter(CLASSICAL[source.lower()])
        return Predictor(lambda image, mask: composite(method(image, mask), image, mask), 1, f"classical {source}")
    path = pathlib.Path(source)
    if not path.exists():
        raise FileNotFoundError(f"model.source={source}: no such file or folder, and not one of {sorted(CLASSICAL)}")
    if model_cfg.get("official"):
        return _official_model(path, str(model_cfg.official), device)
    return _run_model(path, device)


# -- inputs --------------------------------------------------------------------------------------
def _image_files(folder: pathlib.Path) -> dict[str, pathlib.Path]:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in files:
                raise DataError(f"{folder}: two files with stem {path.stem!r} ({files[path.stem].name}, {path.name})")
            files[path.stem] = path
    return files


def pair_inputs(images: str | pathlib.Path, masks: str | pathlib.Path) -> list[tuple[pathlib.Path, pathlib.Path]]:
    """(image, mask) pairs: file + file, folder + folder (by stem), or folder + one mask for all."""
    images, masks = pathlib.Path(images), pathlib.Path(masks)
    for path, what in ((images, "images"), (masks, "masks")):
        if not path.exists():
            raise FileNotFoundError(f"{what}={path}: no such file or folder")
    if images.is_file():
        if masks.is_dir():
            raise DataError(f"images={images} is one file but masks={masks} is a folder; give the mask file")
        return [(images, masks)]
    image_files = _image_files(images)
    if not image_files:
        raise DataError(f"images={images}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    if masks.is_file():
        return [(path, masks) for path in image_files.values()]
    mask_files = _image_files(masks)
    unpaired = sorted(set(image_files) - set(mask_files))
    if unpaired:
        raise DataError(f"no mask in {masks} for {len(unpaired)} image(s) (paired by file stem): {unpaired[:5]}")
    return [(image_files[stem], mask_files[stem]) for stem in image_files]


def read_pair(image_path: pathlib.Path, mask_path: pathlib.Path, hole_is_white: bool, threshold: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image (1,3,H,W) in [0,1] and mask (1,1,H,W) with 1 = hole at the image's size."""
    image = load_image(image_path)
    raw = load_mask_file(mask_path)
    if raw.shape != image.shape[:2]:
        log.warning("%s: mask %s is %dx%d, image is %dx%d: resizing the mask (nearest)", image_path.name, mask_path,
                    raw.shape[1], raw.shape[0], image.shape[1], image.shape[0])
        raw = np.asarray(Image.fromarray(raw).resize((image.shape[1], image.shape[0]), Image.NEAREST))
    hole = MaskPolarity(threshold=threshold, reverse=not hole_is_white).holes(raw)
    image_t = torch.tensor(image).permute(2, 0, 1)[None].float() / 255
    return image_t, torch.tensor(hole)[None, None].float()


def pad_to_multiple(image: torch.Tensor, mask: torch.Tensor, multiple: int, mode: str) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """Pad bottom/right to a multiple of ``multiple``; the padding is known (mask 0). Returns the original (H, W)."""
    height, width = image.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h or pad_w:
        if mode == "reflect" and (pad_h >= height or pad_w >= width):
            raise ValueError(f"image of {width}x{height} is too small to reflect-pad to a multiple of {multiple}; use pad.mode=zero")
        if mode not in ("reflect", "zero"):
            raise ValueError(f"pad.mode={mode!r}: choose reflect or zero")
        image = F.pad(image, (0, pad_w, 0, pad_h), mode="reflect" if mode == "reflect" else "constant")
        mask = F.pad(mask, (0, pad_w, 0, pad_h))
    return image, mask, (height, width)


def save_png(result: torch.Tensor, path: pathlib.Path) -> None:
    array = (result[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    Image.fromarray(array).save(path)


# -- entry point ---------------------------------------------------------------------------------
def predict(cfg: DictConfig) -> list[pathlib.Path]:
    """Inpaint every (image, mask) pair; returns the written PNG paths."""
    pairs = pair_inputs(cfg.images, cfg.masks)
    output_dir = pathlib.Path(cfg.output_dir)
    outputs = [output_dir / f"{image.stem}.png" for image, _ in pairs]
    existing = [p for p in outputs if p.exists()]
    if existing and not cfg.overwrite:
        raise FileExistsError(f"{len(existing)} output(s) already exist, e.g. {existing[0]}; pass overwrite=true to replace them")
    device = torch.device(cfg.device)
    predictor = build_predictor(cfg.model, device)
    multiple = int(cfg.pad.multiple or predictor.multiple)
    log.info("%s; padding to a multiple of %d (%s)", predictor.description, multiple, cfg.pad.mode)
    output_dir.mkdir(parents=True, exist_ok=True)
    from rich.progress import track

    steps = zip(pairs, outputs)
    if cfg.progress:
        steps = track(list(steps), description="inpainting")
    for (image_path, mask_path), out_path in steps:
        image, mask = read_pair(image_path, mask_path, bool(cfg.mask.hole_is_white), int(cfg.mask.threshold))
        padded, padded_mask, (height, width) = pad_to_multiple(image, mask, multiple, str(cfg.pad.mode))
        result = predictor.inpaint(padded.to(device), padded_mask.to(device))[..., :height, :width]
        save_png(result, out_path)
    log.info("wrote %d image(s) to %s", len(outputs), output_dir)
    return outputs


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def main(cfg: DictConfig) -> None:
    predict(cfg)


if __name__ == "__main__":
    main()
