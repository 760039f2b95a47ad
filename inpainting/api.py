"""Python API: load any model once, inpaint tensors or PIL images (``inpaint-predict`` uses the same code).

    from inpainting import load_model
    model = load_model("outputs/demo/runs/<stamp>")          # a run folder or .ckpt of ours
    model = load_model("misf_places2.pth", official="misf")  # an authors' file (see OFFICIAL_FAMILIES)
    model = load_model("edgeconnect/places2", official="edgeconnect")  # a folder of a family's released files
    model = load_model("telea")                              # classical: telea | ns | biharmonic
    result = model(photo, mask)   # PIL in, PIL out (mask: white = hole, as the CLI's default)
    result = model(image, mask)   # tensors: image (B,3,H,W) or (3,H,W) in [0,1], mask 1 = hole

Results are composites (known pixels kept) at the input's size: inputs are padded to the network's
size multiple (reflection, padding counted as known) and cropped back, as the CLI does.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Callable

import hydra
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from inpainting.data.io import load_image, load_mask_file
from inpainting.data.masks import MaskPolarity, fit_mask_to_image
from inpainting.data.transforms import image_to_tensor, mask_to_tensor
from inpainting.eval.classical import CLASSICAL_SOURCES, classical_inpainter
from inpainting.utils.devices import resolve_device
from inpainting.utils.released import load_released, released_families

OFFICIAL_FAMILIES = released_families()  # the entries of conf/released/: every family with released weights

InpaintFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (image, mask) -> composited result


@dataclass
class Predictor:
    """A model as a function on framework tensors, with the size multiple its network needs.

    ``net``: the network adapter behind ``inpaint`` (``forward(image, mask) -> {"pred": ...}``); None for
    classical methods."""

    inpaint: InpaintFn
    multiple: int
    description: str
    net: torch.nn.Module | None = None


# -- models --------------------------------------------------------------------------------------
def size_multiple(net: torch.nn.Module) -> int:
    """The input side multiple a network needs: the largest ``meta.size_multiple`` of its adapters (the modules
    with a ``meta``, :class:`inpainting.nets.adapter.Adapter`)."""
    multiples = [m.meta.size_multiple for m in net.modules() if hasattr(getattr(m, "meta", None), "size_multiple")]
    if not multiples:
        raise TypeError(f"{type(net).__name__} holds no inpainting.nets.adapter.Adapter (no meta.size_multiple), "
                        f"so its input size is unknown")
    return max(multiples)


def _composited(net: torch.nn.Module) -> InpaintFn:
    from inpainting.utils.composite import composite

    @torch.no_grad()
    def run(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return composite(net(image, mask)["pred"], image, mask)

    return run


def load_run_module(source: str | pathlib.Path, device: torch.device | str = "auto"):
    """The LightningModule of a run folder or ``.ckpt`` of ours, rebuilt from the run's
    ``config_resolved.yaml`` (best checkpoint first), with its weights, in eval mode; and the file."""
    from inpainting.utils.run_folder import RunFolder
    from inpainting.utils.runs import resolve_checkpoint
    from inpainting.utils.weights import CheckpointError

    ckpt = resolve_checkpoint(str(source), source, prefer_best=True)
    run = RunFolder.of(ckpt)
    model_cfg = run.model_config() if run is not None else None  # allow-listed targets only: it may come from anyone
    if model_cfg is None:
        raise FileNotFoundError(f"{ckpt}: no config_resolved.yaml in its run folder (or the one above), so the model cannot be rebuilt")
    model = hydra.utils.instantiate(model_cfg)
    try:
        model.load_weights(ckpt)
    except CheckpointError as error:
        raise CheckpointError(f"the run's config and checkpoint disagree: the model built from its "
                              f"config_resolved.yaml does not fit {ckpt}: {error}") from error
    return model.eval().to(resolve_device(device)), ckpt


def _run_model(source: pathlib.Path, device: torch.device) -> Predictor:
    model, ckpt = load_run_module(source, device)
    return Predictor(model.inpaint, size_multiple(model.net), f"run checkpoint {ckpt}", model.net)


def _official_model(source: pathlib.Path, family: str, device: torch.device) -> Predictor:
    net = load_released(family, source).eval().to(device)
    return Predictor(_composited(net), size_multiple(net), f"official {family} weights {source}", net)


def build_predictor(source: str | pathlib.Path, official: str | None = None,
                    device: torch.device | str = "auto") -> Predictor:
    """A run folder / ``.ckpt`` of ours, the authors' file or folder of files (``official``: one of
    ``OFFICIAL_FAMILIES``), or a classical method."""
    device = resolve_device(device)
    source = str(source)
    if source.lower() in CLASSICAL_SOURCES:
        from inpainting.utils.composite import composite

        method = classical_inpainter(CLASSICAL_SOURCES[source.lower()])
        return Predictor(lambda image, mask: composite(method(image, mask), image, mask), 1, f"classical {source}")
    path = pathlib.Path(source)
    if not path.exists():
        raise FileNotFoundError(f"model source {source}: no such file or folder, and not one of {sorted(CLASSICAL_SOURCES)}")
    if official:
        return _official_model(path, str(official), device)
    return _run_model(path, device)


# -- inputs --------------------------------------------------------------------------------------
def to_tensors(image: np.ndarray, raw_mask: np.ndarray, hole_is_white: bool = True,
               threshold: int = 127, what: str = "mask") -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 image (H,W,3) and raw mask (h,w) -> image (1,3,H,W) in [0,1] and mask (1,1,H,W), 1 = hole.

    A mask of another size is resized to the image (nearest neighbour) with a warning naming ``what``."""
    raw_mask = fit_mask_to_image(raw_mask, image.shape, what)
    hole = MaskPolarity(threshold=threshold, reverse=not hole_is_white).holes(raw_mask)
    return image_to_tensor(image)[None], mask_to_tensor(hole)[None]


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


def to_pil(result: torch.Tensor) -> Image.Image:
    """(1,3,H,W) or (3,H,W) in [0,1] -> RGB PIL image (rounded to uint8)."""
    result = result[0] if result.dim() == 4 else result
    array = (result.clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(array)


# -- the user-facing object ----------------------------------------------------------------------
class Inpainter:
    """A loaded model: ``inpainter(image, mask)`` with PIL images or tensors (see the module doc)."""

    def __init__(self, predictor: Predictor, device: torch.device | str = "auto", pad_mode: str = "reflect",
                 multiple: int | None = None):
        self.predictor = predictor
        self.device = resolve_device(device)
        self.pad_mode = pad_mode
        self.multiple = int(multiple or predictor.multiple)

    @property
    def description(self) -> str:
        return self.predictor.description

    @property
    def net(self) -> torch.nn.Module | None:
        """The network (None for classical methods), e.g. for ``inpaint-export``."""
        return self.predictor.net

    def __repr__(self) -> str:
        return f"Inpainter({self.description}, size multiple {self.multiple}, {self.device})"

    def inpaint_tensor(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Image (B,3,H,W) in [0,1], mask (B,1,H,W) with 1 = hole -> composited result (B,3,H,W) in [0,1], on CPU."""
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be (B,3,H,W) in [0,1], got {tuple(image.shape)}")
        if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[0] != image.shape[0] or mask.shape[-2:] != image.shape[-2:]:
            raise ValueError(f"mask must be (B,1,H,W) matching the image {tuple(image.shape)}, got {tuple(mask.shape)}")
        padded, padded_mask, (height, width) = pad_to_multiple(image.float(), (mask > 0.5).float(), self.multiple,
                                                               self.pad_mode)
        result = self.predictor.inpaint(padded.to(self.device), padded_mask.to(self.device))
        # clamped as the metrics and the saved PNGs are (raw outputs may leave [0, 1] slightly)
        return result[..., :height, :width].clamp(0, 1).cpu()

    def inpaint_pil(self, image: Image.Image, mask: Image.Image, hole_is_white: bool = True,
                    threshold: int = 127) -> Image.Image:
        """RGB image and a grey mask (white = hole unless ``hole_is_white=False``) -> RGB result."""
        image_t, mask_t = to_tensors(load_image(image), load_mask_file(mask), hole_is_white, threshold)
        return to_pil(self.inpaint_tensor(image_t, mask_t))

    def __call__(self, image, mask, **mask_options):
        if isinstance(image, Image.Image):
            return self.inpaint_pil(image, mask, **mask_options)
        if isinstance(image, torch.Tensor):
            if image.dim() == 3:
                return self.inpaint_tensor(image[None], mask.reshape(1, 1, *mask.shape[-2:]))[0]
            return self.inpaint_tensor(image, mask)
        raise TypeError(f"image must be a PIL image or a torch tensor, got {type(image).__name__}")


def load_model(source: str | pathlib.Path, official: str | None = None, device: str | torch.device = "auto",
               pad_mode: str = "reflect") -> Inpainter:
    """Load a run folder or ``.ckpt`` of ours, the authors' weights (``official=<family>``, one of
    ``OFFICIAL_FAMILIES``: a file, or the folder holding a family's files under their released names)
    or a classical method (``"telea"``, ``"ns"``, ``"biharmonic"``) as an :class:`Inpainter`."""
    return Inpainter(build_predictor(source, official, device), device, pad_mode)
