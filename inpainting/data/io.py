"""Decoding images and mask files into uint8 arrays, with one documented rule per unusual input.

Rules (anything else raises :class:`DataError` naming the file and the problem; nothing is ever
replaced by another sample):

* grayscale (``L``, ``1``) and palette images become RGB by repeating the channel, as the official
  loaders do (``gray2rgb``); CMYK and YCbCr are converted to RGB by Pillow;
* 16-bit grayscale images (``I;16*``, and 16-bit PNGs that Pillow opens as ``I``) are scaled to
  8 bits with ``round(v / 257)``; 16-bit RGB PNGs are reduced by Pillow itself (it keeps the high byte);
* images with an alpha channel are accepted only when the alpha is fully opaque (the channel is
  then dropped); any transparent pixel is an error, because there is no faithful colour to use;
* EXIF orientation (tags 2-8, e.g. a portrait photo stored landscape) is applied: every image and
  mask is read as a viewer shows it (``upright``), in training, evaluation, predict and the web demo;
* animated or multi-frame files (GIF, WebP, APNG, multi-page TIFF) are errors: which frame is the
  photo is not ours to guess;
* truncated or undecodable files, missing files and 32-bit float images are errors;
* an image with more pixels than the decoding limit (Pillow's decompression-bomb guard, 89.5 Mpx by
  default; ``set_max_image_pixels``, the data config's ``max_image_pixels``) is an error naming its size.

Masks are read as one channel: an RGB(A) mask is accepted only when its colour channels are
identical (a grey mask saved as RGB); a coloured mask is an error.
"""
from __future__ import annotations

import pathlib
import re
import warnings
from typing import Optional, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

PathLike = Union[str, pathlib.Path]
MASK_SUFFIX = "_mask"  # MISF release / Dunhuang naming: 10.jpg <-> 10_mask.png

_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


PILLOW_MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS  # Pillow's own default


class DataError(ValueError):
    """A data file that cannot be used as it is; the message names the file and the problem."""


def set_max_image_pixels(limit: Optional[int]) -> None:
    """Set the decoding limit (pixels per image) for this process; None: Pillow's default.

    It is Pillow's process-wide ``Image.MAX_IMAGE_PIXELS``, so DataLoader workers forked afterwards
    and the DDP ranks (which build their own DataModule) use it too.
    """
    if limit is not None and int(limit) <= 0:
        raise ValueError(f"max_image_pixels must be a positive number of pixels or null, got {limit}")
    Image.MAX_IMAGE_PIXELS = PILLOW_MAX_IMAGE_PIXELS if limit is None else int(limit)


def _open(path: PathLike) -> Image.Image:
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its limit: the configured limit is the limit
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
        image.load()  # decode now so truncated files fail here, not later
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DataError(f"{path}: image too large to decode ({_bomb_size(error)} pixels, the limit is "
                        f"{Image.MAX_IMAGE_PIXELS}); if you trust the file, raise the limit: data.max_image_pixels=<pixels> "
                        f"(inpaint-predict: max_image_pixels=<pixels>)") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: cannot decode image ({error})") from error
    return image


EXIF_ORIENTATION = 0x0112


def upright(image: Image.Image) -> Image.Image:
    """``image`` as a viewer shows it: its EXIF orientation (2-8) applied to the pixels and the tag dropped;
    an image without one (or with 1) is returned as it is."""
    if image.getexif().get(EXIF_ORIENTATION, 1) in (None, 1):
        return image
    return ImageOps.exif_transpose(image)


def _single_frame(image: Image.Image, path: PathLike) -> Image.Image:
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        raise DataError(f"{path}: animated or multi-frame image ({frames} frames, {image.format}); save the frame "
                        "you mean as a still image (PNG or JPEG)")
    return image


def _bomb_size(error: Exception) -> str:
    found = re.search(r"\((\d+) pixels\)", str(error))  # "Image size (N pixels) exceeds limit of M pixels"
    return found.group(1) if found else "?"


def _sixteen_to_eight(array: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(array.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)


def _drop_opaque_alpha(image: Image.Image, path: PathLike) -> Image.Image:
    alpha = np.asarray(image.getchannel("A"))
    if alpha.min() < 255:
        raise DataError(f"{path}: image has transparent pixels (mode {image.mode}); "
                        "flatten it onto a background first")
    return image.convert("RGB" if image.mode in ("RGBA", "RGBa", "PA") else "L")


def _to_single_or_rgb(image: Image.Image, path: PathLike) -> np.ndarray:
    """Decode to uint8 HxW or HxWx3, applying the module's rules."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        image = _drop_opaque_alpha(image, path)
    if image.mode in _SIXTEEN_BIT_MODES:
        array = np.asarray(image)
        if array.max(initial=0) > 65535 or array.min(initial=0) < 0:
            raise DataError(f"{path}: {image.mode} image with values outside 16 bits")
        return _sixteen_to_eight(array)
    if image.mode == "1":
        image = image.convert("L")
    if image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        image = image.convert("RGB")
    if image.mode not in ("L", "RGB"):
        raise DataError(f"{path}: unsupported image mode {image.mode}")
    return np.asarray(image)


def _decoded(source: PathLike | Image.Image) -> Image.Image:
    """A file opened (and decoded), or an in-memory PIL image (the Python API's and web demo's input):
    one frame, upright."""
    image = source if isinstance(source, Image.Image) else _open(source)
    return upright(_single_frame(image, source))


def load_image(path: PathLike | Image.Image) -> np.ndarray:
    """Read an image file (or a PIL image) as an RGB uint8 array (H, W, 3), following the module rules."""
    array = _to_single_or_rgb(_decoded(path), path)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array)


def load_mask_file(path: PathLike | Image.Image) -> np.ndarray:
    """Read a mask file (or a PIL image) as a raw single-channel uint8 array (H, W); polarity is NOT applied here."""
    array = _to_single_or_rgb(_decoded(path), path)
    if array.ndim == 3:
        if not (np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2])):
            raise DataError(f"{path}: mask is a colour image (RGB channels differ); masks must be grayscale")
        array = array[..., 0]
    return np.ascontiguousarray(array)
