"""The JPGNet/MISF evaluation protocol, batched in torch, plus a per-bin torchmetrics accumulator.

Protocol (both papers' test code): every score is computed per image on the *composited* output
``pred * mask + image * (1 - mask)`` (mask 1 = hole) against the ground truth, over the whole image.

* PSNR and SSIM use uint8 images made by ``clamp(0, 1) * 255`` followed by truncation (numpy
  ``astype(uint8)``), exactly like ``skimage.metrics.peak_signal_noise_ratio`` (data range 255,
  capped at 100) and ``structural_similarity`` (7x7 uniform window, K1 0.01, K2 0.03, sample
  covariance, per channel then averaged, mean over the window-valid region).
* L1 is the mean absolute difference of the float images.

The two papers differ in one place, chosen with ``protocol`` (``PROTOCOLS``):

* ``"misf"``: the composite is clamped to [0, 1] before L1 and LPIPS as well (MISF's ``clamp_``);
* ``"jpgnet"``: L1 and LPIPS (the extra scorers) see the UNCLAMPED composite, as JPGNet's
  ``fusion_test`` (``edge_kpn_fusion/src/edge_connect.py``, ``RFR_fusion/model.py``) computes them
  before its uint8 conversion. PFUNet/UAFNet end in a conv without activation, so their outputs
  leave [0, 1] and the clamped L1 would be lower (up to 1.4e-2 per image, measured).

PSNR and SSIM clamp in both (both quantise with a clip).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import torch
from torchmetrics import Metric

from inpainting.utils.composite import composite
from inpainting.utils.shapes import check_image_pair, check_mask

PSNR_CAP = 100.0
PROTOCOLS = ("misf", "jpgnet")
UINT8_RANGE = 255.0

# (composite, ground truth) -> per-image scores, both float (B,3,H,W) in [0,1]
ImageScorer = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class NonFiniteError(ValueError):
    """NaN or infinity where a number is needed; the message says what, and where in the run."""


def check_finite(x: torch.Tensor, what: str) -> None:
    """Raise NonFiniteError naming ``what`` and counting the NaN and infinite values of ``x``."""
    if not bool(torch.isfinite(x).all()):
        raise NonFiniteError(f"{what}: {int(torch.isnan(x).sum())} NaN and {int(torch.isinf(x).sum())} infinite "
                             f"value(s) among {x.numel()}")


def to_uint8_truncated(x: torch.Tensor) -> torch.Tensor:
    """``clamp(0,1)*255`` then truncation toward zero, as numpy ``astype(uint8)`` does (not rounding).

    A NaN would become 0 (black) and get a score: non-finite input is a NonFiniteError instead."""
    check_finite(x, "images to score (a NaN would become 0 in the uint8 conversion and score as black)")
    return (x.clamp(0, 1) * UINT8_RANGE).to(torch.uint8)


def psnr_uint8(pred: torch.Tensor, target: torch.Tensor, cap: float = PSNR_CAP) -> torch.Tensor:
    """Per-image PSNR (float64, shape (B,)) of uint8 (B,C,H,W) images, data range 255, ``min(cap, .)``.

    Identical images give ``cap`` (skimage returns inf, the papers' ``min(100, .)`` turns it into 100).
    """
    check_image_pair(pred, target, "psnr_uint8")
    diff = pred.to(torch.float64) - target.to(torch.float64)
    mse = diff.square().flatten(1).mean(1)
    psnr = 10 * torch.log10(UINT8_RANGE**2 / mse)  # mse == 0 -> inf, then capped
    return psnr.clamp(max=cap)


def ssim_uint8(
    pred: torch.Tensor,
    target: torch.Tensor,
    win_size: int = 7,
    k1: float = 0.01,
    k2: float = 0.03,
    data_range: float = UINT8_RANGE,
) -> torch.Tensor:
    """Per-image SSIM (float64, shape (B,)) matching ``skimage.metrics.structural_similarity``.

    Uniform ``win_size`` window, sample covariance (N/(N-1)), per-channel maps averaged over the
    region where the window fits entirely (skimage filters with reflection and then crops
    ``(win_size-1)//2`` pixels per border, so only window-valid pixels enter the mean), then
    averaged over channels. Float64 throughout: in float32 the cancellation in E[x^2]-E[x]^2 can cost ~1e-4 (estimate).
    """
    check_image_pair(pred, target, "ssim_uint8")
    if win_size % 2 != 1:
        raise ValueError(f"ssim_uint8: win_size must be odd, got {win_size}")
    if min(pred.shape[-2:]) < win_size:
        raise ValueError(f"ssim_uint8: images of size {tuple(pred.shape[-2:])} are smaller than the {win_size}x{win_size} window")
    x = pred.to(torch.float64)
    y = target.to(torch.float64)
    n = win_size * win_size
    cov_norm = n / (n - 1)

    def local_mean(t: torch.Tensor) -> torch.Tensor:
        # separable box mean over the window-valid region only (= skimage's crop); ~4x faster than avg_pool2d on CPU
        return t.unfold(-1, win_size, 1).sum(-1).unfold(-2, win_size, 1).sum(-1) / n

    ux, uy = local_mean(x), local_mean(y)
    vx = cov_norm * (local_mean(x * x) - ux * ux)
    vy = cov_norm * (local_mean(y * y) - uy * uy)
    vxy = cov_norm * (local_mean(x * y) - ux * uy)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    ssim_map = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return ssim_map.mean(dim=(2, 3)).mean(dim=1)


def l1_per_image(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image mean absolute difference over all pixels and channels (float [0,1] inputs)."""
    check_image_pair(pred, target, "l1_per_image")
    return (pred.to(torch.float64) - target.to(torch.float64)).abs().flatten(1).mean(1)


def hole_ratio(mask: torch.Tensor) -> torch.Tensor:
    """Fraction of hole pixels (mask 1) per image, shape (B,)."""
    return mask.to(torch.float64).flatten(1).mean(1)


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f"metric protocol must be one of {PROTOCOLS}, got {protocol!r}")
    return protocol


def scored_composite(pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor, protocol: str = "misf") -> torch.Tensor:
    """The composite that L1 and the extra scorers see: clamped to [0, 1] (``misf``) or not (``jpgnet``)."""
    comp = composite(pred, image, mask)
    return comp.clamp(0, 1) if check_protocol(protocol) == "misf" else comp


def inpainting_scores(pred: torch.Tensor, image: torch.Tensor, mask: torch.Tensor,
                      protocol: str = "misf") -> dict[str, torch.Tensor]:
    """PSNR, SSIM and L1 per image (each (B,), float64) of the composited prediction vs ``image``.

    PSNR/SSIM quantise the clamped composite; L1 uses :func:`scored_composite` of ``protocol``.
    """
    check_image_pair(pred, image, "inpainting_scores", channels=3)
    check_mask(mask, image, "inpainting_scores")
    comp = scored_composite(pred, image, mask, protocol)
    comp_u8, gt_u8 = to_uint8_truncated(comp), to_uint8_truncated(image)
    return {
        "psnr": psnr_uint8(comp_u8, gt_u8),
        "ssim": ssim_uint8(comp_u8, gt_u8),
        "l1": l1_per_image(comp, image),
    }


def checked_bin_ids(bins: torch.Tensor | Sequence[int], bin_names: Sequence[str], batch_size: int,
                    device: torch.device) -> torch.Tensor:
    """``bins`` as a (B,) long tensor; an error unless there is one id per image, each naming a bin."""
    bins = torch.as_tensor(bins, device=device).long().reshape(-1)
    if bins.numel() != batch_size:
        raise ValueError(f"got {bins.numel()} bin ids for a batch of {batch_size} images")
    if bins.numel() and (bins.min() < 0 or bins.max() >= len(bin_names)):
        raise ValueError(f"bin ids must lie in [0, {len(bin_names) - 1}] for bins {list(bin_names)}; got {bins.tolist()}")
    return bins


def concatenated_state(value: torch.Tensor | list, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A ``"cat"`` metric state as one tensor: a list of per-batch tensors before sync, a tensor after."""
    if isinstance(value, list):
        return torch.cat(value) if value else torch.zeros(0, dtype=dtype, device=device)
    return value


class BinnedInpaintingMetrics(Metric):
    """Per-image PSNR/SSIM/L1 (plus optional extra scorers such as LPIPS) averaged per hole-ratio bin.

    States are per-image score vectors with ``dist_reduce_fx="cat"``, so under DDP ``compute()``
    sees every rank's images and the per-bin means are exact (not means of per-rank means).

    Args:
        bin_names: display names of the bins, indexed by the ``bins`` ids given to ``update``
            (e.g. ``["0-20%", "20-40%", "40-60%"]``).
        extra_scorers: optional ``name -> fn(composite, gt) -> (B,)`` evaluated on float images,
            the composite as L1 sees it (e.g. ``{"lpips": LpipsScorer(...)}``).
        protocol: ``"misf"`` (composite clamped to [0, 1] for L1 and the extra scorers) or
            ``"jpgnet"`` (unclamped); see the module docstring.
    """

    full_state_update = False
    higher_is_better = None
    BASE_METRICS = ("psnr", "ssim", "l1")

    def __init__(self, bin_names: Sequence[str], extra_scorers: Mapping[str, ImageScorer] | None = None,
                 protocol: str = "misf", **kwargs):
        super().__init__(**kwargs)
        self.protocol = check_protocol(protocol)
        if not bin_names:
            raise ValueError("BinnedInpaintingMetrics needs at least one bin name")
        self.bin_names = list(bin_names)
        self.extra_scorers = dict(extra_scorers or {})
        clash = set(self.extra_scorers) & (set(self.BASE_METRICS) | {"bin", "ratio"})
        if clash:
            raise ValueError(f"extra scorer names clash with built-in states: {sorted(clash)}")
        self.metric_names = list(self.BASE_METRICS) + list(self.extra_scorers)
        for name in self.metric_names + ["ratio", "bin"]:
            self.add_state(name, default=[], dist_reduce_fx="cat")
        self._names: list[str] = []  # rank-local image ids (strings cannot be synced as states)

    def update(
        self,
        pred: torch.Tensor,
        image: torch.Tensor,
        mask: torch.Tensor,
        bins: torch.Tensor | Sequence[int],
        names: Sequence[str] | None = None,
    ) -> None:
        """Score a batch: ``pred``/``image`` (B,3,H,W) in [0,1], ``mask`` (B,1,H,W) 1 = hole, ``bins`` (B,) ids."""
        bins = checked_bin_ids(bins, self.bin_names, image.shape[0], image.device)
        scores = inpainting_scores(pred, image, mask, self.protocol)
        if self.extra_scorers:
            comp = scored_composite(pred, image, mask, self.protocol)
            for name, scorer in self.extra_scorers.items():
                scores[name] = scorer(comp, image).reshape(-1)
        for name in self.metric_names:
            getattr(self, name).append(scores[name].to(torch.float64))
        self.ratio.append(hole_ratio(mask).to(torch.float64))  # fixed dtypes: see join_without_images
        self.bin.append(bins.long())
        first = len(self._names)
        self._names.extend(names if names is not None else [f"#{first + i}" for i in range(image.shape[0])])

    def join_without_images(self) -> None:
        """For a rank without images of its own (a padding batch): empty entries of the states' dtypes, so that its
        ``compute`` gathers as the other ranks' do (torchmetrics fills a never-updated state with its default
        float32, which no float64 or int64 gather accepts: the ranks would mismatch or hang)."""
        for name in (*self.metric_names, "ratio"):
            getattr(self, name).append(torch.zeros(0, dtype=torch.float64, device=self.device))
        self.bin.append(torch.zeros(0, dtype=torch.long, device=self.device))

    def _gathered(self, name: str) -> torch.Tensor:
        return concatenated_state(getattr(self, name), torch.float64, self.device)

    def compute(self) -> dict[str, torch.Tensor]:
        """Flat dict: ``"<metric>/<bin>"`` and ``"<metric>/overall"`` means, ``"count/<bin>"`` image counts.

        Bins without images get a count of 0 and no metric keys (a NaN would poison checkpoint monitors).
        """
        bins = self._gathered("bin")
        out: dict[str, torch.Tensor] = {}
        for name in self.metric_names:
            values = self._gathered(name)
            for index, bin_name in enumerate(self.bin_names):
                selected = values[bins == index]
                if selected.numel():
                    out[f"{name}/{bin_name}"] = selected.mean()
            if values.numel():
                out[f"{name}/overall"] = values.mean()
        # counts as floats: Lightning's log_dict warns on integer tensors
        for index, bin_name in enumerate(self.bin_names):
            out[f"count/{bin_name}"] = (bins == index).sum().to(torch.float64)
        out["count/overall"] = torch.tensor(float(bins.numel()), dtype=torch.float64, device=bins.device)
        return out

    def per_image(self) -> list[dict[str, object]]:
        """One row per image (name, bin, hole ratio, every metric), for a CSV.

        Under DDP this is a collective call: every rank must call it, and each gets all ranks' rows
        (rank 0's first). Image ids are strings, which cannot be metric states, so the rows are
        gathered as Python objects.
        """
        columns = {name: self._gathered(name).tolist() for name in self.metric_names}
        bins = self._gathered("bin").tolist()
        ratios = self._gathered("ratio").tolist()
        if len(self._names) != len(bins):
            raise RuntimeError("per_image() must be called on unsynced, rank-local state")
        rows = []
        for i, name in enumerate(self._names):
            row: dict[str, object] = {"name": name, "bin": self.bin_names[bins[i]], "hole_ratio": ratios[i]}
            row.update({metric: columns[metric][i] for metric in self.metric_names})
            rows.append(row)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered: list = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(gathered, rows)
            rows = [row for rank_rows in gathered for row in rank_rows]
        return rows

    def forward(self, *args, **kwargs):
        """Batch value as in torchmetrics; keeps the image ids, which the internal ``reset`` would drop."""
        earlier = list(self._names)
        batch_value = super().forward(*args, **kwargs)
        self._names = earlier + self._names
        return batch_value

    def reset(self) -> None:
        """Clear the states and the image ids."""
        super().reset()
        self._names = []


def flat_metrics(stage: str, values: Mapping[str, Any]) -> dict[str, float]:
    """Values of :meth:`BinnedInpaintingMetrics.compute` (or a results table row) under their logged names:
    ``<stage>/<metric>`` (all images) and ``<stage>/<metric>_<bin>``; counts and text (n/a) cells left out."""
    flat = {}
    for key, value in values.items():
        metric, bin_name = key.split("/", 1)
        if metric == "count" or isinstance(value, str):
            continue
        flat[f"{stage}/{metric}" if bin_name == "overall" else f"{stage}/{metric}_{bin_name}"] = float(value)
    return flat
