"""Inpaint images with any model: ``inpaint-predict images=<file|dir> masks=<file|dir> output_dir=<dir> model.source=<...>``.

``model.source`` is one of: a run folder or ``.ckpt`` of ours (the model is rebuilt from the run's
``config_resolved.yaml``, as ``inpaint-eval`` does); the authors' weights with ``model.official=<family>``
(``inpainting.api.OFFICIAL_FAMILIES``: a file, or a folder of a family's files); or a classical method ``telea``, ``ns``,
``biharmonic``. Images of any size are padded to the network's size multiple (reflection or zeros,
padding counted as known pixels) and cropped back; a mask of another size is resized (nearest) with a
warning. Each result is the composite (known pixels kept) saved as ``<output_dir>/<stem>.png``.
See ``conf/predict.yaml`` for every option.
"""
from __future__ import annotations

import logging
import pathlib

import hydra
import torch
from omegaconf import DictConfig

from inpainting.api import Inpainter, build_predictor, to_pil, to_tensors
from inpainting.cli.common import CONFIG_DIR
from inpainting.cli.options import exit_if_missing, one_line_errors
from inpainting.data.io import MASK_SUFFIX, DataError, load_image, load_mask_file, set_max_image_pixels
from inpainting.data.sources import IMAGE_EXTENSIONS
from inpainting.utils.atomic import atomic_path

log = logging.getLogger(__name__)

# -- inputs --------------------------------------------------------------------------------------
def _image_files(folder: pathlib.Path) -> dict[str, pathlib.Path]:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            if path.stem in files:
                raise DataError(f"{folder}: two files with stem {path.stem!r} ({files[path.stem].name}, {path.name})")
            files[path.stem] = path
    return files


def pair_inputs(images: str | pathlib.Path, masks: str | pathlib.Path) -> list[tuple[pathlib.Path, pathlib.Path]]:
    """(image, mask) pairs: file + file, folder + folder, or folder + one mask for all.

    Folders pair by file stem: ``photo.jpg`` with ``photo.png`` or ``photo_mask.png``. When images and
    masks share one folder, files named ``<stem>_mask.*`` are the masks and the others the images.
    """
    images, masks = pathlib.Path(images), pathlib.Path(masks)
    for path, what in ((images, "images"), (masks, "masks")):
        if not path.exists():
            raise FileNotFoundError(f"{what}={path}: no such file or folder")
    if images.is_file():
        if masks.is_dir():
            raise DataError(f"images={images} is one file but masks={masks} is a folder; give the mask file")
        return [(images, masks)]
    image_files = _image_files(images)
    same_folder = masks.is_dir() and masks.resolve() == images.resolve()
    if same_folder:
        image_files = {stem: path for stem, path in image_files.items() if not stem.endswith(MASK_SUFFIX)}
    if not image_files:
        raise DataError(f"images={images}: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    if masks.is_file():
        return [(path, masks) for path in image_files.values()]
    mask_files = _image_files(masks)
    pairs, unpaired = [], []
    for stem, path in image_files.items():
        mask = mask_files.get(stem + MASK_SUFFIX) or (None if same_folder else mask_files.get(stem))
        if mask is not None:
            pairs.append((path, mask))
        else:
            unpaired.append(stem)
    if unpaired:
        raise DataError(f"no mask in {masks} for {len(unpaired)} image(s) (paired by file stem, <stem> or "
                        f"<stem>{MASK_SUFFIX}): {unpaired[:5]}")
    return pairs


def read_pair(image_path: pathlib.Path, mask_path: pathlib.Path, hole_is_white: bool, threshold: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image (1,3,H,W) in [0,1] and mask (1,1,H,W) with 1 = hole at the image's size."""
    return to_tensors(load_image(image_path), load_mask_file(mask_path), hole_is_white, threshold,
                      what=f"mask {mask_path} of {image_path.name}")


def warn_degenerate_mask(mask: torch.Tensor, image_path: pathlib.Path, mask_path: pathlib.Path) -> None:
    """Warn when a mask (1 = hole) leaves nothing to fill, or nothing known to fill from."""
    holes = int(mask.sum())
    if holes == 0:
        log.warning("%s (mask of %s) has no hole pixels: the output is the input (check mask.hole_is_white "
                    "and mask.threshold)", mask_path, image_path.name)
    elif holes == mask.numel():
        log.warning("%s (mask of %s) is all hole: nothing is known to fill it from (check mask.hole_is_white "
                    "and mask.threshold)", mask_path, image_path.name)


# -- entry point ---------------------------------------------------------------------------------
def predict(cfg: DictConfig) -> list[pathlib.Path]:
    """Inpaint every (image, mask) pair; returns the written PNG paths."""
    set_max_image_pixels(cfg.get("max_image_pixels"))
    pairs = pair_inputs(cfg.images, cfg.masks)
    output_dir = pathlib.Path(cfg.output_dir)
    outputs = [output_dir / f"{image.stem}.png" for image, _ in pairs]
    existing = [p for p in outputs if p.exists()]
    if existing and not cfg.overwrite:
        raise FileExistsError(f"{len(existing)} output(s) already exist, e.g. {existing[0]}; pass overwrite=true to replace them")
    inpainter = Inpainter(build_predictor(str(cfg.model.source), cfg.model.get("official"), cfg.device), cfg.device,
                          str(cfg.pad.mode), cfg.pad.multiple)
    log.info("%s; padding to a multiple of %d (%s)", inpainter.description, inpainter.multiple, cfg.pad.mode)
    output_dir.mkdir(parents=True, exist_ok=True)
    from rich.progress import track

    steps = zip(pairs, outputs)
    if cfg.progress:
        steps = track(list(steps), description="inpainting")
    for (image_path, mask_path), out_path in steps:
        image, mask = read_pair(image_path, mask_path, bool(cfg.mask.hole_is_white), int(cfg.mask.threshold))
        warn_degenerate_mask(mask, image_path, mask_path)
        try:
            result = inpainter.inpaint_tensor(image, mask)
        except ValueError as error:  # e.g. too small to pad: name the image
            raise DataError(f"{image_path}: {error}") from error
        with atomic_path(out_path) as tmp:
            to_pil(result).save(tmp)
    log.info("wrote %d image(s) to %s", len(outputs), output_dir)
    return outputs


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def main(cfg: DictConfig) -> None:
    exit_if_missing(cfg, "inpaint-predict")
    with one_line_errors("inpaint-predict"):
        predict(cfg)


if __name__ == "__main__":
    main()
