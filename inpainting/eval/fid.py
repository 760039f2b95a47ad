"""FID per hole-ratio bin through ``torchmetrics.image.fid.FrechetInceptionDistance``, weights from disk only.

Features are the 2048-d pool features of the standard FID Inception (torch-fidelity's network, as
torchmetrics builds it: ``NoTrainInceptionV3``, TF-ported weights ``weights-inception-2015-12-05-6726825d.pth``),
read from an explicit path or the torch hub checkpoint folder and never downloaded. When the file is
absent the metric is reported as ``"n/a (weights missing: <file>)"``, never as a number from random
weights. Images enter the network as uint8 made by ``clamp(0,1)*255`` and truncation (the PSNR/SSIM
quantisation, and torchmetrics' own ``normalize=True``).

One torchmetrics FID per bin and one for the whole set share a single Inception. FID is biased upward
when a set has fewer images than feature dimensions (the 2048x2048 covariance is then rank-deficient),
so a set with fewer than ``min_images`` images (default 2048) is reported as
``"n/a (only N images; FID needs >= M)"`` instead of a noisy number.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from inpainting.eval.metrics import checked_bin_ids, to_uint8_truncated
from inpainting.eval.perceptual import weights_unavailable_note
from inpainting.eval.tables import OVERALL
from inpainting.utils.composite import composite
from inpainting.utils.weights import WeightsMissingError, hub_checkpoint_path

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_FEATURE_DIM = 2048
DEFAULT_MIN_IMAGES = INCEPTION_FEATURE_DIM  # below this the feature covariance cannot be full rank
FID_NOT_INSTALLED_NOTE = "n/a (torch-fidelity not installed)"


def too_few_images_note(count: int, min_images: int) -> str:
    """The table text for a set whose FID is not reported because it has too few images."""
    return f"n/a (only {count} images; FID needs >= {min_images})"


def build_fid_inception(weights_path: str | Path | None = None, features: int = INCEPTION_FEATURE_DIM) -> nn.Module:
    """torchmetrics' FID InceptionV3 (uint8 input, always in eval mode), weights from disk only.

    ``features``: 2048 (the pool features every FID in the literature uses), or torchmetrics' smaller
    taps 64, 192, 768 (faster, for tests and quick looks; not comparable with published FIDs).

    Raises ``WeightsMissingError`` naming the file and the expected place when it is absent, and
    ``ValueError`` when the file is not a state dict of that network.
    """
    from torchmetrics.image.fid import NoTrainInceptionV3  # needs torch-fidelity

    path = Path(weights_path) if weights_path is not None else hub_checkpoint_path(INCEPTION_WEIGHTS_FILE)
    if not path.is_file():
        raise WeightsMissingError(path, "FID (InceptionV3)")
    # torch-fidelity unpickles the file with weights_only=False; a weights_only load first guarantees it holds only tensors
    torch.load(path, map_location="cpu", weights_only=True)
    try:
        model = NoTrainInceptionV3("inception-v3-compat", [str(features)], feature_extractor_weights_path=str(path))
    except RuntimeError as error:  # load_state_dict: missing / unexpected keys or wrong shapes
        raise ValueError(f"{path}: not a torch-fidelity InceptionV3 state dict ({str(error).splitlines()[0]})") from error
    model.num_features = features  # torchmetrics would otherwise probe it with a dummy image
    return model.requires_grad_(False)


class _Features(nn.Module):
    """Identity on features already computed: torchmetrics' FID takes any feature module, and this one
    lets every bin's FID (and every row's) reuse one Inception pass per image."""

    num_features = INCEPTION_FEATURE_DIM

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


class BinnedFID(nn.Module):
    """FID of composited outputs vs their ground truth, per bin and overall: one torchmetrics FID each.

    torchmetrics keeps feature sums and cross products with ``dist_reduce_fx="sum"``, so under DDP
    ``compute()`` covers every rank's images (every rank must call it).

    Args:
        bin_names: display names of the bins, indexed by the ``bins`` ids given to ``update``.
        inception: the feature network, normally ``build_fid_inception(...)``; any module taking uint8
            (B,3,H,W) images to (B, ``num_features``) features works. Several BinnedFIDs (one per row)
            can share it.
        min_images: smallest set whose FID is reported; smaller ones get the n/a text.
    """

    def __init__(self, bin_names: Sequence[str], inception: nn.Module, min_images: int = DEFAULT_MIN_IMAGES):
        super().__init__()
        from torchmetrics.image.fid import FrechetInceptionDistance

        if not bin_names:
            raise ValueError("BinnedFID needs at least one bin name")
        if min_images < 2:
            raise ValueError(f"min_images must be >= 2 (a covariance needs two samples), got {min_images}")
        self.bin_names, self.min_images = list(bin_names), min_images
        self.inception = inception
        features = _Features()
        features.num_features = getattr(inception, "num_features", INCEPTION_FEATURE_DIM)
        # one set per bin, then overall, by position: bin names such as '0-12.5%' cannot be module names
        self.sets = nn.ModuleList([FrechetInceptionDistance(feature=features) for _ in [*self.bin_names, OVERALL]])

    @torch.no_grad()
    def real_features(self, image: torch.Tensor) -> torch.Tensor:
        """Features of the ground truth, to pass to several rows' ``update``."""
        return self.inception(to_uint8_truncated(image))

    @torch.no_grad()
    def update(self, pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor, bins,
               real_features: torch.Tensor | None = None) -> None:
        """Add a batch: ``pred``/``image`` (B,3,H,W) in [0,1], ``mask`` (B,1,H,W) 1 = hole, ``bins`` (B,) ids."""
        if pred.shape != image.shape:
            raise ValueError(f"pred and image must have the same shape, got {tuple(pred.shape)} and {tuple(image.shape)}")
        bins = checked_bin_ids(bins, self.bin_names, image.shape[0], image.device)
        real = self.real_features(image) if real_features is None else real_features
        fake = self.inception(to_uint8_truncated(composite(pred, image, mask)))
        for index, name in enumerate([*self.bin_names, OVERALL]):
            selected = bins == index if name != OVERALL else torch.ones_like(bins, dtype=torch.bool)
            if selected.any():
                self.sets[index].update(real[selected], real=True)
                self.sets[index].update(fake[selected], real=False)

    def compute(self) -> dict[str, float | str]:
        """``{"<bin>": FID or the n/a text}`` for every bin and ``"overall"`` (a collective call under DDP)."""
        values: dict[str, float | str] = {}
        for name, metric in zip([*self.bin_names, OVERALL], self.sets):
            count = metric.real_features_num_samples.clone()
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.all_reduce(count)
            count = int(count)
            values[name] = float(metric.compute()) if count >= self.min_images else too_few_images_note(count, self.min_images)
        return values

    def reset(self) -> None:
        for metric in self.sets:
            metric.reset()


def try_binned_fid(bin_names: Sequence[str], weights_path: str | Path | None, min_images: int, rows: int,
                   features: int = INCEPTION_FEATURE_DIM) -> tuple[list[BinnedFID] | None, str | None]:
    """``rows`` BinnedFIDs sharing one Inception, or ``(None, "n/a (...)")`` when it cannot be built here."""
    try:
        inception = build_fid_inception(weights_path, features)
    except WeightsMissingError as error:
        return None, weights_unavailable_note(error.path.name)
    except ImportError:
        return None, FID_NOT_INSTALLED_NOTE
    return [BinnedFID(bin_names, inception, min_images) for _ in range(rows)], None
