"""The one evaluation engine: per-bin scores of inpainting outputs, used by every entry point.

* training-time testing and ``inpaint-eval ckpt_path=...``: the :class:`~inpainting.callbacks.report.TestReport`
  callback feeds it each test batch's prediction;
* ``inpaint-eval predictions=<dir> images=<dir> masks=<dir>``: :func:`score_folders` feeds it
  outputs already on disk (LaMa's ``evaluate_predicts``), e.g. the authors' released results or a
  run's own ``test_outputs/`` (written with ``save_predictions=true``).

Both produce the same :class:`EvalResults`, written by the same report code, so the tables of a run
and of scoring its saved outputs are equal. Rows are ``"Input"`` (holes left empty, the floor every
method must beat) and the method. Scores follow the papers' protocol (``inpainting.eval.metrics``).
"""
from __future__ import annotations

import dataclasses
import pathlib
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from inpainting.data.bins import bin_index, bin_names, check_edges
from inpainting.eval.fid import DEFAULT_MIN_IMAGES, INCEPTION_FEATURE_DIM, try_binned_fid
from inpainting.eval.metrics import BinnedInpaintingMetrics
from inpainting.eval.perceptual import try_lpips_scorer
from inpainting.eval.tables import OVERALL
from inpainting.utils.atomic import atomic_path
from inpainting.utils.devices import resolve_device

INPUT_ROW = "Input"
METRICS = ("psnr", "ssim", "l1", "lpips", "fid")
PREDICTION_SUFFIX = ".tiff"  # float32 composites: scoring them again reproduces the run's numbers exactly
Value = float | str | None


@dataclasses.dataclass(frozen=True)
class MetricOptions:
    """Test metrics beyond PSNR/SSIM/L1 (the ``metrics`` config group).

    LPIPS (VGG) needs the VGG16 trunk file and FID the FID Inception file (null: the torch hub
    checkpoint folder); without them the tables say "n/a (weights missing: <file>)". FID is given
    for a bin only when it has at least ``fid_min_images`` images.
    """

    lpips: bool = False
    lpips_weights: str | None = None
    fid: bool = False
    fid_weights: str | None = None
    fid_min_images: int = DEFAULT_MIN_IMAGES
    fid_features: int = INCEPTION_FEATURE_DIM  # 64/192/768: torchmetrics' faster taps, not comparable with papers
    protocol: str = "misf"  # misf | jpgnet: L1 and LPIPS on the clamped or unclamped composite (eval.metrics)


@dataclasses.dataclass
class EvalResults:
    """Scores of one evaluation: ``table[row]["<metric>/<bin>"]`` is a number or the n/a text."""

    bins: list[str]  # bin names, without "overall"
    counts: dict[str, int]  # images per bin and "overall"
    table: dict[str, dict[str, Value]]
    per_image: list[dict[str, object]]  # the method's per-image scores, then ``<row>/<metric>`` of the other rows

    @property
    def metrics(self) -> list[str]:
        found = {key.split("/", 1)[0] for values in self.table.values() for key in values}
        return [m for m in METRICS if m in found]

    def table_rows(self) -> dict[str, dict[str, Value]]:
        """Flat rows for ``eval.tables`` (counts included, which the markdown prints once)."""
        counts = {f"count/{name}": count for name, count in self.counts.items()}
        return {row: {**values, **counts} for row, values in self.table.items()}

    def notes(self) -> dict[str, str]:
        """``{metric: why some values are missing}`` for metrics with a textual cell."""
        notes: dict[str, list[str]] = {}
        for values in self.table.values():
            for key, value in values.items():
                if isinstance(value, str):
                    texts = notes.setdefault(key.split("/", 1)[0], [])
                    if value not in texts:
                        texts.append(value)
        return {metric: "; ".join(texts) for metric, texts in notes.items()}

    def to_json(self, run_name: str, checkpoint: str | None, excluded: Sequence[Sequence] = ()) -> dict:
        """The ``results.json`` document (schema 1): numbers or null, the reason for a null in ``notes``;
        ``excluded``: the ``(mask, hole ratio)`` pairs that fell in no bin."""
        bins = [*self.bins, OVERALL]
        methods = {
            row: {m: {b: (v if isinstance(v := values.get(f"{m}/{b}"), float) else None) for b in bins} for m in self.metrics}
            for row, values in self.table.items()
        }
        return {"schema": 1, "run_name": run_name, "checkpoint": checkpoint, "bins": bins,
                "counts": dict(self.counts), "methods": methods, "notes": self.notes(),
                "excluded": [[str(name), float(ratio)] for name, ratio in excluded]}


class Scorer(nn.Module):
    """Accumulates per-bin scores for named rows (``update``), then ``compute`` gives :class:`EvalResults`.

    Backbones (LPIPS VGG16, FID Inception) are built here, once for all rows. An ``nn.Module`` so that
    ``.to(device)`` moves every state; it lives in the report callback, never in a checkpoint.
    """

    def __init__(self, bin_edges: Sequence[float], rows: Sequence[str], options: MetricOptions | Mapping | None = None):
        super().__init__()
        options = options if isinstance(options, MetricOptions) else MetricOptions(**dict(options or {}))
        self.bin_names = bin_names(check_edges(bin_edges))
        self.rows = list(rows)
        if len(set(self.rows)) != len(self.rows):
            raise ValueError(f"row names must be distinct, got {self.rows}")
        # rows are free text (dots included): modules are kept by position, never keyed by the name
        self._index = {row: i for i, row in enumerate(self.rows)}
        self.unavailable: dict[str, str] = {}
        extra = {}
        if options.lpips:
            scorer, note = try_lpips_scorer(options.lpips_weights)
            extra, self.unavailable = ({"lpips": scorer}, {}) if scorer is not None else ({}, {"lpips": note})
        self.scores = nn.ModuleList([BinnedInpaintingMetrics(self.bin_names, extra_scorers=extra, protocol=options.protocol)
                                     for _ in self.rows])
        self.fid: nn.ModuleList | None = None
        if options.fid:
            fids, note = try_binned_fid(self.bin_names, options.fid_weights, options.fid_min_images, len(self.rows),
                                        options.fid_features)
            if fids is None:
                self.unavailable["fid"] = note
            else:
                self.fid = nn.ModuleList(fids)

    def update(self, preds: Mapping[str, torch.Tensor], image: torch.Tensor, mask: torch.Tensor, bins: torch.Tensor,
               names: Sequence[str] | None = None) -> None:
        """Score one batch for each row in ``preds`` (``row -> (B,3,H,W)`` in [0,1]) against ``image``, mask 1 = hole."""
        real = None
        for row, pred in preds.items():
            i = self._index[row]
            self.scores[i].update(pred, image, mask, bins, names=names)
            if self.fid is not None:
                real = self.fid[i].real_features(image) if real is None else real  # one ground-truth pass
                self.fid[i].update(pred, image, mask, bins, real_features=real)

    def join_without_images(self) -> None:
        """A rank without evaluation pairs of its own (a padding batch) still takes part in ``compute``."""
        for metric in self.scores:
            metric.join_without_images()

    def compute(self) -> EvalResults:
        """Every rank's images (a collective call under DDP: every rank must call it)."""
        table, counts = {}, {}
        for i, row in enumerate(self.rows):
            computed = self.scores[i].compute()
            values: dict[str, Value] = {k: v.item() for k, v in computed.items() if not k.startswith("count/")}
            counts = {k.split("/", 1)[1]: int(v.item()) for k, v in computed.items() if k.startswith("count/")}
            for metric, note in self.unavailable.items():
                values.update({f"{metric}/{b}": note for b in [*self.bin_names, OVERALL]})
            if self.fid is not None:
                values.update({f"fid/{b}": v for b, v in self.fid[i].compute().items()})
            table[row] = values
        return EvalResults(self.bin_names, counts, table, self._per_image())

    def _per_image(self) -> list[dict[str, object]]:
        """The method's per-image rows (rows are Input, the method, then any others), with every other row's
        scores on the same pairs as ``<row>/<metric>`` columns: what paired statistics (eval.claims) read."""
        method = min(1, len(self.rows) - 1)
        per_image = self.scores[method].per_image()
        for i, row in enumerate(self.rows):
            theirs = self.scores[i].per_image() if i != method else []
            if theirs:  # a row never updated (not scored on these pairs) has no columns
                for mine, other in zip(per_image, theirs, strict=True):
                    mine.update({f"{row}/{m}": other[m] for m in self.scores[i].metric_names})
        return per_image

    def reset(self) -> None:
        for metric in self.scores:
            metric.reset()
        for fid in self.fid or []:
            fid.reset()


def score_batch(scorer: Scorer, method: str, pred: torch.Tensor, batch: Mapping, names=None) -> None:
    """One evaluation batch for the ``Input`` row and ``method`` (``batch`` holds image, mask, bin)."""
    image, mask = batch["image"], batch["mask"]
    names = names if names is not None else batch.get("name")
    scorer.update({INPUT_ROW: torch.zeros_like(image), method: pred}, image, mask, batch_bins(batch), names)


def batch_bins(batch: Mapping) -> torch.Tensor:
    """The batch's hole-ratio bin indices (sets without bins: all in the first)."""
    image, bins = batch["image"], batch.get("bin")
    bins = torch.zeros(image.shape[0], dtype=torch.long, device=image.device) if bins is None else bins
    return torch.as_tensor(bins, device=image.device)


# -- predictions saved on disk ----------------------------------------------------------------------
def save_outputs(folder: str | pathlib.Path, names: Sequence[str], composite: torch.Tensor, image: torch.Tensor,
                 mask: torch.Tensor) -> None:
    """``<folder>/{predictions,images,masks}/<name>``: float32 TIFF composites, PNG ground truth and masks (255 = hole).

    Ground truth and masks come from uint8 files, so PNG keeps them exactly; the composite is stored as
    float so that :func:`score_folders` reproduces the run's L1 as well as its uint8 PSNR/SSIM.
    """
    import tifffile
    from PIL import Image

    folder = pathlib.Path(folder)
    for name, comp, img, hole in zip(names, composite.float().cpu(), image.cpu(), mask.cpu()):
        paths = {part: folder / part / f"{name}{suffix}" for part, suffix in
                 (("predictions", PREDICTION_SUFFIX), ("images", ".png"), ("masks", ".png"))}
        for path in paths.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(paths["predictions"]) as tmp:
            tifffile.imwrite(tmp, comp.permute(1, 2, 0).numpy())
        with atomic_path(paths["images"]) as tmp:
            Image.fromarray((img.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()).save(tmp)
        with atomic_path(paths["masks"]) as tmp:
            Image.fromarray((hole[0] * 255).round().to(torch.uint8).numpy()).save(tmp)


def _read_prediction(path: pathlib.Path) -> torch.Tensor:
    """(3,H,W) float in [0,1]-convention: float TIFFs as stored, any other image as uint8 / 255."""
    from inpainting.data.io import DataError, load_image
    from inpainting.data.transforms import image_to_tensor

    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        array = tifffile.imread(path)
        if array.dtype.kind == "f":
            if array.ndim != 3 or array.shape[2] != 3:
                raise DataError(f"{path}: a float prediction must be (H, W, 3), got {array.shape}")
            return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float()
    return image_to_tensor(load_image(path))


def _by_stem(folder: pathlib.Path) -> dict[str, pathlib.Path]:
    from inpainting.data.sources import list_image_files

    files = {str(p.relative_to(folder).with_suffix("")): p for p in list_image_files(folder)}
    if not files:
        raise FileNotFoundError(f"{folder}: no image files")
    return files


def score_folders(predictions: str | pathlib.Path | Mapping[str, str | pathlib.Path], images: str | pathlib.Path,
                  masks: str | pathlib.Path, bin_edges: Sequence[float], method: str | None = None,
                  options: MetricOptions | Mapping | None = None, hole_threshold: int = 127, batch_size: int = 8,
                  device: str | torch.device = "auto") -> EvalResults:
    """Score saved outputs: every ``predictions/<name>.*`` with ``images/<name>.*`` and ``masks/<name>.*``
    (or ``masks/<name>_mask.*``, the MISF/Dunhuang naming).

    ``predictions``: one folder, scored as the row ``method`` (None: the folder's name), or ``{row: folder}``,
    several methods in one table, each folder holding the same names (the rows must score the same pairs).
    Names are paths relative to each folder without suffix. Masks are white = hole (pixel > ``hole_threshold``);
    the bin is the measured hole ratio's. A prediction without its image or mask, or of another size than
    its image, is an error; a mask of another size is resized to the image (the rule of inpaint-predict);
    a mask whose ratio lies in no bin is an error too (the tables would silently drop it).
    ``device``: ``auto`` (CUDA when present), ``cpu``, ``cuda:1``, ...
    """
    from inpainting.data.io import MASK_SUFFIX, DataError, load_image, load_mask_file
    from inpainting.data.masks import MaskPolarity, fit_mask_to_image
    from inpainting.data.transforms import image_to_tensor, mask_to_tensor

    if not isinstance(predictions, Mapping):
        predictions = {method or pathlib.Path(predictions).name: predictions}
    pred_files = {row: _by_stem(pathlib.Path(folder)) for row, folder in predictions.items()}
    names = sorted(next(iter(pred_files.values())))
    for row, files_of_row in pred_files.items():
        if sorted(files_of_row) != names:
            other = sorted(set(names) ^ set(files_of_row))
            raise DataError(f"predictions of {row!r} ({predictions[row]}) and of {next(iter(predictions))!r} hold "
                            f"different names, e.g. {other[:3]}: every row must score the same pairs")
    folders = {"images": pathlib.Path(images), "masks": pathlib.Path(masks)}
    files = {part: _by_stem(folder) for part, folder in folders.items()}
    for name, path in list(files["masks"].items()):  # <name>_mask.* pairs too, as inpaint-predict pairs them
        if name.endswith(MASK_SUFFIX):
            files["masks"].setdefault(name[:-len(MASK_SUFFIX)], path)
    for part in ("images", "masks"):
        missing = sorted(set(names) - set(files[part]))
        if missing:
            raise FileNotFoundError(f"{folders[part]}: no file for {len(missing)} predictions, e.g. {missing[:3]}")
    edges = check_edges(bin_edges)
    device = resolve_device(device)
    scorer = Scorer(edges, [INPUT_ROW, *pred_files], options).to(device)
    polarity = MaskPolarity(threshold=hole_threshold)
    for start in range(0, len(names), batch_size):
        chunk = names[start:start + batch_size]
        samples = []
        for name in chunk:
            image = image_to_tensor(load_image(files["images"][name]))
            preds = {row: _read_prediction(files_of_row[name]) for row, files_of_row in pred_files.items()}
            for row, pred in preds.items():
                if pred.shape != image.shape:
                    raise DataError(f"{pred_files[row][name]}: prediction of {pred.shape[2]}x{pred.shape[1]}, its image "
                                    f"{files['images'][name]} {image.shape[2]}x{image.shape[1]}: a prediction has its "
                                    "image's size (docs/evaluation.md, 'Sizes')")
            raw_mask = fit_mask_to_image(load_mask_file(files["masks"][name]), image.shape[1:],
                                         f"mask {files['masks'][name]} of {files['images'][name].name}")
            mask = mask_to_tensor(polarity.holes(raw_mask))
            ratio = float(mask.mean())
            index = bin_index(ratio, edges)
            if index < 0:
                raise DataError(f"{files['masks'][name]}: hole ratio {ratio:.4f} lies in no bin of {edges}")
            samples.append((preds, image, mask, index))
        shapes = {s[1].shape for s in samples}
        groups = [samples] if len(shapes) == 1 else [[s] for s in samples]  # mixed sizes: one image per batch
        offset = 0
        for group in groups:
            image, mask = (torch.stack([s[i] for s in group]).to(device) for i in (1, 2))
            preds = {row: torch.stack([s[0][row] for s in group]).to(device) for row in pred_files}
            bins = torch.tensor([s[3] for s in group], device=device)
            scorer.update({INPUT_ROW: torch.zeros_like(image), **preds}, image, mask, bins,
                          names=chunk[offset:offset + len(group)])
            offset += len(group)
    return scorer.compute()
