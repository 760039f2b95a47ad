"""The one generic DataModule: image sources + mask source + preprocessing."""
from __future__ import annotations

import csv
import json
import logging
import pathlib
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import lightning as L
import torch
from torch.utils.data import DataLoader, DistributedSampler

from inpainting.data.augment import JointAugment
from inpainting.data.bins import PAPER_BIN_EDGES, bin_names, check_edges
from inpainting.data.datasets import (
    EpochSampler,
    EvalDataset,
    PaddingIndex,
    ProceduralEvalMasks,
    TrainDataset,
    TrainMaskSource,
    build_eval_pairs,
    build_paired_eval_pairs,
)
from inpainting.data.derived import DerivedCollate, DerivedInputs
from inpainting.data.io import DataError, set_max_image_pixels
from inpainting.data.kpn_pipeline import TRAIN_PIPELINES, KPNTrainDataset
from inpainting.data.mask_files import MaskFiles
from inpainting.data.masks import STREAM_TEST, STREAM_VAL, FreeFormMaskGenerator
from inpainting.data.sources import ImageList
from inpainting.data.transforms import Preprocess
from inpainting.utils.atomic import atomic_path, write_text

MANIFEST_FIELDS = ("name", "image", "mask", "ratio", "bin")
EvalMasks = Union[FreeFormMaskGenerator, MaskFiles]
log = logging.getLogger(__name__)


def _worker_init(_worker_id: int) -> None:
    # one torch thread per worker: workers already run in parallel (LaMa/mmagic habit). cv2 is left
    # alone: cv2.setNumThreads in a forked worker deadlocks once the parent has used cv2's thread pool
    # (e.g. a warpAffine of an augmentation), while cv2 itself runs fine after the fork.
    torch.set_num_threads(1)


class ShardedEvalSampler(DistributedSampler):
    """Rank ``r`` of ``W`` takes items ``r, r + W, ...``: every eval pair exactly once over all ranks.

    Lightning's own ``DistributedSampler`` pads the last round with repeated items so that all ranks
    get the same count; repeated pairs would bias the binned val/test means. Being a
    ``DistributedSampler``, Lightning leaves this one in place.

    A rank left without pairs (fewer pairs than ranks) gets one ``PaddingIndex``, a sample nobody scores:
    Lightning skips the epoch, hooks included, of a rank with no batch, and the others would then wait
    for it in the metrics' collectives forever (NCCL has no timeout worth waiting for).
    """

    def __init__(self, dataset, num_replicas: int, rank: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False, drop_last=False)

    def _own(self) -> range:
        return range(self.rank, len(self.dataset), self.num_replicas)

    def __iter__(self):
        return iter(self._own() or [PaddingIndex(0)])

    def __len__(self) -> int:
        return max(1, len(self._own()))


class InpaintingDataModule(L.LightningDataModule):
    """Training samples with random masks and fixed, hole-ratio-binned val/test pairs.

    Args:
        train_images / val_images / test_images: image sources (``ImageList``); test falls back to val.
        train_masks: ``(height, width, rng) -> mask`` (default: ``FreeFormMaskGenerator()``, 0-60 %).
        eval_masks: masks of the fixed val/test pairs: a ``FreeFormMaskGenerator`` (each pair's mask is
            drawn inside its bin; default: ``train_masks`` if it is one) or ``MaskFiles`` (binned by
            measured ratio at ``image_size``). ``test_masks`` overrides it for the test split.
        pairing: with ``MaskFiles``: ``"binned"`` (slot j of every bin: image j % n, mask j % bin size)
            or ``"paired"`` (image i with mask i, e.g. Dunhuang; bin = measured bin, pairs in no bin
            are left out and listed in the split dataset's ``excluded``).
        mask_ratio_cache: JSON file caching measured mask ratios between runs (``MaskFiles.ratios``).
        image_size: side of the square samples.
        preprocess: ``"official"`` (centre crop + INTER_LINEAR resize) or ``"crop"`` (random crop for
            training, a fixed seeded crop for val/test); see ``Preprocess``.
        resize_short, small_images: options of the ``"crop"`` mode.
        hflip: joint horizontal flip of image and mask in training (p = 0.5).
        train_pipeline: ``"misf"`` (binarised 1-channel masks, the loader of MISF and JPGNet's fusion
            stage) or ``"kpn"`` (JPGNet's PFUNet loader: soft 3-channel ``1 - mask/255`` multiplier,
            no flip or augmentation; samples carry the network input as ``masked``; see
            ``inpainting.data.kpn_pipeline``). Validation and test pairs are the same for both.
        augment: optional albumentations transform or ``Compose`` applied to TRAINING samples only, after
            the crop and flip, jointly to image and mask (see ``JointAugment``); null: none (official).
        batch_size: GLOBAL training batch size, divided by the world size in ``setup``.
        shuffle: shuffle the training samples each epoch (seeded); false: list order, as JPGNet's
            EdgeConnect-folder fusion trainer (batch 1, no shuffle).
        eval_batch_size: GLOBAL val/test batch size (default: ``batch_size``).
        samples_per_epoch: training samples per epoch (default: number of training images).
        images_per_bin: val/test pairs per bin (default: number of images of that split).
        bin_edges: hole-ratio bin edges; bins are (lo, hi].
        seed: seed of every crop, flip, mask and shuffle.
        cache_images: keep prepared images in memory (small sets such as the embedded photos only).
        max_image_pixels: decoding limit per image file (null: Pillow's 89.5 Mpx); larger files are
            an error naming them (``io.set_max_image_pixels``).
        structures: optional ``ImageList -> ImageList`` applied to every split's images, whose samples
            then carry a ``structure`` (e.g. :func:`inpainting.data.rtv.rtv_structures`, StructureFlow's
            cached RTV images): it travels through the same crop, resize and flip as the image.

    ``derived``: set by the model when a run starts (``InpaintingModule.setup``): the inputs its network derives
    from image and mask (Canny edges, a classical result, ...), computed in the DataLoader workers
    (``inpainting.data.derived``).
    """

    def __init__(
        self,
        train_images: ImageList,
        val_images: Optional[ImageList] = None,
        test_images: Optional[ImageList] = None,
        train_masks: Optional[TrainMaskSource] = None,
        eval_masks: Optional[EvalMasks] = None,
        test_masks: Optional[EvalMasks] = None,
        pairing: str = "binned",
        mask_ratio_cache: Optional[str] = None,
        image_size: int = 256,
        preprocess: str = "official",
        resize_short: Optional[int] = None,
        small_images: str = "upscale",
        hflip: bool = True,
        train_pipeline: str = "misf",
        augment: Optional[Any] = None,
        batch_size: int = 8,
        shuffle: bool = True,
        eval_batch_size: Optional[int] = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        samples_per_epoch: Optional[int] = None,
        images_per_bin: Optional[int] = None,
        bin_edges: Sequence[float] = PAPER_BIN_EDGES,
        seed: int = 0,
        cache_images: bool = False,
        max_image_pixels: Optional[int] = None,
        structures: Optional[Callable[[ImageList], ImageList]] = None,
    ) -> None:
        super().__init__()
        set_max_image_pixels(max_image_pixels)
        if structures is not None:
            if augment is not None:
                raise ValueError("data.augment cannot be combined with data.structures (the augmentations "
                                 "expect 3-channel images)")
            train_images, val_images, test_images = (None if images is None else structures(images)
                                                     for images in (train_images, val_images, test_images))
        self.train_images, self.val_images = train_images, val_images
        self.test_images = test_images if test_images is not None else val_images
        self.train_masks = train_masks if train_masks is not None else FreeFormMaskGenerator()
        if eval_masks is None:
            eval_masks = self.train_masks if isinstance(self.train_masks, FreeFormMaskGenerator) else FreeFormMaskGenerator()
        self.eval_masks = eval_masks
        self.test_masks = test_masks if test_masks is not None else eval_masks
        if pairing not in ("binned", "paired"):
            raise ValueError(f"pairing must be 'binned' or 'paired', got {pairing!r}")
        self.pairing, self.mask_ratio_cache = pairing, mask_ratio_cache
        self.preprocess = Preprocess(image_size, preprocess, resize_short, small_images)
        self.hflip = hflip
        if train_pipeline not in TRAIN_PIPELINES:
            raise ValueError(f"train_pipeline must be one of {TRAIN_PIPELINES}, got {train_pipeline!r}")
        self.train_pipeline = train_pipeline
        self.augment = JointAugment(augment) if augment is not None else None
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.eval_batch_size = int(eval_batch_size) if eval_batch_size is not None else self.batch_size
        self.num_workers, self.pin_memory = int(num_workers), pin_memory
        self.samples_per_epoch = samples_per_epoch
        self.images_per_bin = images_per_bin
        self.bin_edges: List[float] = check_edges(bin_edges)
        self.bin_names: List[str] = bin_names(self.bin_edges)
        self.seed = int(seed)
        self.cache_images = cache_images
        self.batch_size_per_device = self.batch_size
        self.eval_batch_size_per_device = self.eval_batch_size
        self.datasets: Dict[str, torch.utils.data.Dataset] = {}
        self.derived: Optional[DerivedInputs] = None

    # ----------------------------------------------------------------------------------------- setup
    def setup(self, stage: Optional[str] = None) -> None:
        """Split the global batch sizes over the world size and build the datasets."""
        world_size = self.trainer.world_size if self.trainer is not None else 1
        self.batch_size_per_device = _per_device(self.batch_size, world_size, "batch_size")
        self.eval_batch_size_per_device = _per_device(self.eval_batch_size, world_size, "eval_batch_size")
        if stage in (None, "fit") and "train" not in self.datasets:
            _check_training_masks(self.train_masks)
            if self.train_pipeline == "kpn":  # PFUNet's own loader (inpainting.data.kpn_pipeline)
                self.datasets["train"] = KPNTrainDataset(self.train_images, self.train_masks, self.preprocess,
                                                         self.seed, self.samples_per_epoch, self.cache_images)
            else:
                self.datasets["train"] = TrainDataset(self.train_images, self.train_masks, self.preprocess, self.seed,
                                                      self.samples_per_epoch, self.hflip, self.cache_images,
                                                      self.augment)
        for split, stream in (("val", STREAM_VAL), ("test", STREAM_TEST)):
            if split not in self.datasets and self.images(split) is not None:
                self.datasets[split] = self._eval_dataset(split, stream)

    def images(self, split: str) -> Optional[ImageList]:
        """The image list of ``split`` (train, val, test); None when the config has none."""
        return {"train": self.train_images, "val": self.val_images, "test": self.test_images}[split]

    def _eval_dataset(self, split: str, stream: int) -> EvalDataset:
        images = self.images(split)
        masks = self.test_masks if split == "test" else self.eval_masks
        per_bin = self.images_per_bin if self.images_per_bin is not None else len(images)
        size = self.preprocess.size
        if not isinstance(masks, MaskFiles):
            pairs = build_eval_pairs(images, per_bin, len(self.bin_names))
            return EvalDataset(images, pairs, ProceduralEvalMasks(masks, self.bin_edges),
                               self.preprocess, self.bin_edges, self.seed, stream, self.cache_images)
        ratios = masks.ratios(size, size, self.mask_ratio_cache)
        if self.pairing == "paired":
            pairs, excluded = build_paired_eval_pairs(images, masks.paths, ratios, self.bin_edges)
        else:
            binned, excluded = masks.binned(size, size, self.bin_edges, ratios)
            pairs = build_eval_pairs(images, per_bin, len(self.bin_names), binned)
        if excluded:
            log.warning("%s: %d mask(s) fall in no bin of %s and are left out (first: %s, ratio %.4f)", split,
                        len(excluded), self.bin_names, *excluded[0])
        return EvalDataset(images, pairs, masks.eval_mask, self.preprocess, self.bin_edges, self.seed, stream,
                           self.cache_images, excluded)

    # ----------------------------------------------------------------------------------- dataloaders
    def _loader(self, dataset, batch_size: int, **kwargs) -> DataLoader:
        return DataLoader(dataset, batch_size=batch_size, num_workers=self.num_workers,
                          pin_memory=self.pin_memory, persistent_workers=self.num_workers > 0,
                          worker_init_fn=_worker_init,
                          collate_fn=None if self.derived is None else DerivedCollate(self.derived), **kwargs)

    def train_dataloader(self) -> DataLoader:
        dataset = self._dataset("train")
        sampler = EpochSampler(len(dataset), self.seed, shuffle=self.shuffle)
        return self._loader(dataset, self.batch_size_per_device, sampler=sampler, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")

    def _eval_loader(self, split: str) -> DataLoader:
        dataset = self._dataset(split)
        world_size = self.trainer.world_size if self.trainer is not None else 1
        if world_size > 1:  # exact sharding: no padded repeats (see ShardedEvalSampler)
            sampler = ShardedEvalSampler(dataset, world_size, self.trainer.global_rank)
            return self._loader(dataset, self.eval_batch_size_per_device, sampler=sampler)
        return self._loader(dataset, self.eval_batch_size_per_device, shuffle=False)

    def _dataset(self, split: str):
        if split not in self.datasets:
            self.setup("fit" if split == "train" else None)
        if split not in self.datasets:
            raise RuntimeError(f"no {split} images configured for this DataModule")
        return self.datasets[split]

    # -------------------------------------------------------------------------------------- manifest
    def manifest(self, split: str) -> List[Dict[str, object]]:
        """Rows (name, image, mask, ratio, bin) of the fixed ``val`` or ``test`` pairs, in loader order."""
        dataset: EvalDataset = self._dataset(split)
        rows = []
        for index in range(len(dataset)):
            _, _, ratio, pair = dataset.sample_arrays(index)
            rows.append({"name": pair.name, "image": str(dataset.images.source.paths[pair.image_index]),
                         "mask": pair.mask_path or f"procedural:seed={self.seed},stream={dataset.stream},"
                                                   f"bin={pair.bin},slot={pair.slot}",
                         "ratio": round(ratio, 6), "bin": pair.bin})
        return rows

    def write_manifest(self, split: str, path) -> pathlib.Path:
        """Save ``manifest(split)`` as CSV (``.csv``) or a JSON array (any other suffix)."""
        path = pathlib.Path(path)
        rows = self.manifest(split)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".csv":
            with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
                writer.writeheader()
                writer.writerows(rows)
        else:
            write_text(path, json.dumps(rows, indent=1))
        return path


def _check_training_masks(masks) -> None:
    """List training mask files before training starts: a missing folder fails now, with the way out."""
    if isinstance(masks, MaskFiles):
        try:
            len(masks)
        except DataError as error:
            raise DataError(f"training masks: {error}; set paths.train_masks_dir=<folder of training mask "
                            f"files> (or data.train_masks.root), or data.train_masks=null for procedural "
                            f"free-form masks (0-60 %)") from error


def _per_device(global_size: int, world_size: int, key: str) -> int:
    if global_size % world_size != 0:
        raise ValueError(f"data.{key}={global_size} is a GLOBAL batch size and must be divisible by the "
                         f"world size ({world_size})")
    return global_size // world_size
