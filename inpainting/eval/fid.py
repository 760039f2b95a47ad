"""FID per hole-ratio bin, on the composited outputs against their ground truth, loaded offline only.

Features are the 2048-d pool features of the standard FID Inception (torch-fidelity's
``FeatureExtractorInceptionV3``, TF-ported weights ``weights-inception-2015-12-05-6726825d.pth``),
read from an explicit path or the torch hub checkpoint folder and never downloaded. When the file is
absent the metric is reported as ``"n/a (weights missing: <file>)"``, never as a number from random
weights. Images enter the extractor as uint8 made by ``clamp(0,1)*255`` and truncation (the same
quantisation as the PSNR/SSIM protocol, and torchmetrics' ``normalize=True``).

FID is biased upward when a set has fewer images than feature dimensions (the 2048x2048 sample
covariance is then rank-deficient), so a bin with fewer than ``min_images`` images (default 2048)
is reported as ``"n/a (only N images; FID needs >= M)"`` instead of a noisy number.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Mapping, Sequence

import torch
from torchmetrics import Metric

from inpainting.eval.metrics import checked_bin_ids, composite, concatenated_state, to_uint8_truncated
from inpainting.eval.perceptual import WeightsMissingError, weights_unavailable_note
from inpainting.eval.tables import OVERALL, Value
from inpainting.utils.weights import hub_checkpoint_path

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_FEATURE_DIM = 2048
DEFAULT_MIN_IMAGES = INCEPTION_FEATURE_DIM  # below this the feature covariance cannot be full rank
FID_NOT_INSTALLED_NOTE = "n/a (torch-fidelity not installed)"
INCEPTION_FID_NOTE = (
    "FID: Fréchet distance of the 2048-d pool features of torch-fidelity's FID InceptionV3 (TF-ported weights; "
    "inputs uint8-truncated, resized to 299x299 inside), composites vs their ground truth, per bin over that bin's images."
)

# float [0,1] images (B,3,H,W) -> features (B,D)
FeatureExtractor = Callable[[torch.Tensor], torch.Tensor]


def too_few_images_note(count: int, min_images: int) -> str:
    """The table text for a bin whose FID is not reported because it has too few images."""
    return f"n/a (only {count} images; FID needs >= {min_images})"


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Fréchet distance (float64 scalar) between Gaussians fitted to two feature sets (N1,D) and (N2,D).

    ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))`` with sample covariances (N-1). The
    cross term is the nuclear norm of ``S1^(1/2) S2^(1/2)``; it is taken from the centred features'
    cross product ``A B^T`` (N1 x N2) when the sets are not larger than D, else from D x D matrices.
    Both are exact (symmetric eigen/singular values only, no general matrix square root).
    """
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"frechet_distance expects (N1,D) and (N2,D) features, got {tuple(real.shape)} and {tuple(fake.shape)}")
    if min(real.shape[0], fake.shape[0]) < 2:
        raise ValueError(f"frechet_distance needs at least 2 samples per set, got {real.shape[0]} and {fake.shape[0]}")
    x, y = real.to(torch.float64), fake.to(torch.float64)
    a, b = x - x.mean(0), y - y.mean(0)
    dof_x, dof_y = x.shape[0] - 1, y.shape[0] - 1
    if max(x.shape[0], y.shape[0]) <= x.shape[1]:
        cross = torch.linalg.svdvals(a @ b.T).sum() / math.sqrt(dof_x * dof_y)
    else:
        cov_x, cov_y = a.T @ a / dof_x, b.T @ b / dof_y
        values, vectors = torch.linalg.eigh(cov_x)
        root_x = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
        cross = torch.linalg.eigvalsh(root_x @ cov_y @ root_x).clamp(min=0).sqrt().sum()
    distance = (x.mean(0) - y.mean(0)).square().sum() + a.square().sum() / dof_x + b.square().sum() / dof_y - 2 * cross
    return distance.clamp(min=0)  # rounding can leave -1e-12 for identical sets


def build_fid_inception(weights_path: str | Path | None = None) -> torch.nn.Module:
    """torch-fidelity's FID InceptionV3 (2048-d pool output) in eval mode, weights from disk only.

    Raises ``WeightsMissingError`` naming the file and the expected place when it is absent, and
    ``ValueError`` when the file is not a state dict of that network.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3  # pulls torchvision in

    path = Path(weights_path) if weights_path is not None else hub_checkpoint_path(INCEPTION_WEIGHTS_FILE)
    if not path.is_file():
        raise WeightsMissingError(path, "FID (InceptionV3)")
    # torch-fidelity unpickles the file with weights_only=False; a weights_only load first guarantees it holds only tensors
    torch.load(path, map_location="cpu", weights_only=True)
    try:
        model = FeatureExtractorInceptionV3("inception-v3-compat", [str(INCEPTION_FEATURE_DIM)], feature_extractor_weights_path=str(path))
    except RuntimeError as error:  # load_state_dict: missing / unexpected keys or wrong shapes
        raise ValueError(f"{path}: not a torch-fidelity InceptionV3 state dict ({str(error).splitlines()[0]})") from error
    return model.eval().requires_grad_(False)


class InceptionFeatures:
    """2048-d FID Inception features of float [0,1] images (B,3,H,W), quantised to uint8 by truncation.

    A plain object rather than an ``nn.Module`` (as ``LpipsScorer``): attached to a metric inside a
    LightningModule it must not put 95 MB of frozen Inception into every checkpoint. The network
    follows the inputs' device on first use.
    """

    def __init__(self, weights_path: str | Path | None = None):
        self.model = build_fid_inception(weights_path)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Features (B,2048) float32 of ``images`` (B,3,H,W) in [0,1]; any size (resized to 299 inside)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"FID features expect (B,3,H,W) images, got {tuple(images.shape)}")
        self.model.to(images.device)
        (features,) = self.model(to_uint8_truncated(images))
        return features


def try_inception_features(weights_path: str | Path | None = None) -> tuple[InceptionFeatures | None, str | None]:
    """``(extractor, None)`` when torch-fidelity and the Inception weights are there, else ``(None, "n/a (...)")``."""
    try:
        return InceptionFeatures(weights_path), None
    except WeightsMissingError as error:
        return None, weights_unavailable_note(error.path.name)
    except ImportError:
        return None, FID_NOT_INSTALLED_NOTE


class BinnedFID(Metric):
    """FID of composited outputs vs their ground truth, per hole-ratio bin and overall, with image counts.

    States are per-image feature rows with ``dist_reduce_fx="cat"``, so under DDP ``compute()`` sees
    every rank's images (every rank must call it). Real and fake rows are the same images, so one
    count per bin covers both.

    Args:
        bin_names: display names of the bins, indexed by the ``bins`` ids given to ``update``.
        feature_extractor: float [0,1] (B,3,H,W) -> (B,D) features, normally ``InceptionFeatures``;
            any callable works (tests inject a tiny one). Not a module of this metric, so its
            weights stay out of checkpoints.
        min_images: smallest bin (and overall set) whose FID is reported; smaller ones get the
            n/a text. Default 2048, the feature dimension: below it the covariance is rank-deficient.
    """

    full_state_update = False
    higher_is_better = False

    def __init__(
        self, bin_names: Sequence[str], feature_extractor: FeatureExtractor, min_images: int = DEFAULT_MIN_IMAGES, **kwargs
    ):
        super().__init__(**kwargs)
        if not bin_names:
            raise ValueError("BinnedFID needs at least one bin name")
        if min_images < 2:
            raise ValueError(f"min_images must be >= 2 (a covariance needs two samples), got {min_images}")
        self.bin_names = list(bin_names)
        # bypass nn.Module registration: an extractor module would otherwise land in every checkpoint
        object.__setattr__(self, "feature_extractor", feature_extractor)
        self.min_images = min_images
        for name in ("real", "fake", "bin"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(
        self,
        pred: torch.Tensor,
        image: torch.Tensor,
        mask: torch.Tensor,
        bins: torch.Tensor | Sequence[int],
        real_features: torch.Tensor | None = None,
    ) -> None:
        """Add a batch: ``pred``/``image`` (B,3,H,W) in [0,1], ``mask`` (B,1,H,W) 1 = hole, ``bins`` (B,) ids.

        ``real_features`` (B,D): the extractor's features of ``image`` when already computed, so that one
        ground-truth pass can serve several methods' metrics.
        """
        if pred.shape != image.shape:
            raise ValueError(f"pred and image must have the same shape, got {tuple(pred.shape)} and {tuple(image.shape)}")
        real = self.feature_extractor(image) if real_features is None else real_features
        fake = self.feature_extractor(composite(pred, image, mask).clamp(0, 1))
        if real.dim() != 2 or real.shape != fake.shape:
            raise ValueError(
                f"expected real and fake features (B,D) of equal shape and B bin ids; got {tuple(real.shape)} "
                f"and {tuple(fake.shape)}"
            )
        bins = checked_bin_ids(bins, self.bin_names, real.shape[0], fake.device)
        self.real.append(real.float())
        self.fake.append(fake.float())
        self.bin.append(bins)

    def _gathered(self, name: str) -> torch.Tensor:
        return concatenated_state(getattr(self, name), torch.float32, self.device)

    def compute(self) -> dict[str, torch.Tensor]:
        """``"fid/<bin>"``, ``"fid/overall"`` for sets of at least ``min_images`` images; ``"fid_count/<bin|overall>"`` always.

        Sets below ``min_images`` get no FID key (a NaN would poison checkpoint monitors); ``table_values``
        turns them into the n/a text. Counts are floats, as Lightning's ``log_dict`` wants.
        """
        real, fake, bins = self._gathered("real"), self._gathered("fake"), self._gathered("bin")
        selections = {bin_name: bins == index for index, bin_name in enumerate(self.bin_names)}
        selections[OVERALL] = torch.ones_like(bins, dtype=torch.bool)
        out: dict[str, torch.Tensor] = {}
        for name, selected in selections.items():
            count = int(selected.sum())
            if count >= self.min_images:
                out[f"fid/{name}"] = frechet_distance(real[selected], fake[selected])
            out[f"fid_count/{name}"] = torch.tensor(float(count), dtype=torch.float64, device=bins.device)
        return out

    def table_values(self, computed: Mapping[str, torch.Tensor]) -> dict[str, Value]:
        """``{"fid/<bin>": number or "n/a (only N images; FID needs >= M)"}`` for every bin and overall."""
        values: dict[str, Value] = {}
        for name in [*self.bin_names, OVERALL]:
            key = f"fid/{name}"
            count = int(computed[f"fid_count/{name}"].item())
            values[key] = computed[key].item() if key in computed else too_few_images_note(count, self.min_images)
        return values

    def counts_note(self, computed: Mapping[str, torch.Tensor]) -> str:
        """One report line with the FID image count of every bin, e.g. for the markdown notes."""
        counts = ", ".join(f"{name}: {int(computed[f'fid_count/{name}'].item())}" for name in [*self.bin_names, OVERALL])
        return f"FID images per bin ({counts}); FID is reported only for sets of at least {self.min_images} images."
