"""Datasets: random training samples and fixed, binned evaluation pairs; plus an epoch-aware sampler."""
from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from torch.utils.data import Dataset, Sampler

from inpainting.data.augment import JointAugment
from inpainting.data.bins import bin_index, bin_names
from inpainting.data.io import DataError
from inpainting.data.masks import STREAM_TRAIN, hole_ratio, sample_rng
from inpainting.data.sources import ImageList
from inpainting.data.transforms import Preprocess, image_to_tensor, joint_hflip, mask_to_tensor

# (height, width, rng) -> uint8 {0,1} mask, 1 = hole
TrainMaskSource = Callable[[int, int, np.random.Generator], np.ndarray]
SampleKey = Union[int, Tuple[int, int]]


def _image_entries(image: np.ndarray) -> Dict[str, object]:
    """``image``, plus ``structure`` when the source stacks one behind the RGB channels (6 channels)."""
    tensor = image_to_tensor(image)
    if tensor.shape[0] == 6:
        return {"image": tensor[:3], "structure": tensor[3:]}
    return {"image": tensor}


class EpochSampler(Sampler):
    """Yields ``(epoch, index)`` keys, shuffled from (seed, epoch).

    Samplers run in the main process, so the epoch reaches every DataLoader worker (persistent or
    not) through the key itself. Lightning calls ``set_epoch`` at each epoch start (also after a
    resume); without it the sampler counts its own passes. Under DDP Lightning wraps this sampler
    in its ``DistributedSamplerWrapper``, which shards the keys across ranks.
    """

    def __init__(self, length: int, seed: int = 0, shuffle: bool = True) -> None:
        self.length, self.seed, self.shuffle = int(length), int(seed), shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and sample randomness the next pass uses."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[Tuple[int, int]]:
        epoch = self.epoch
        order = (sample_rng(self.seed, STREAM_TRAIN, epoch).permutation(self.length) if self.shuffle
                 else np.arange(self.length))
        self.epoch += 1
        return iter([(epoch, int(i)) for i in order])


class PreparedImages:
    """Decoded images after the deterministic part of ``Preprocess``, optionally kept in memory.

    ``cache=True`` keeps every prepared image in each worker's memory: for small sets only (the
    embedded photos), where decoding multi-megapixel files would dominate the sample time.
    """

    def __init__(self, images: ImageList, preprocess: Preprocess, cache: bool = False) -> None:
        self.source, self.preprocess = images, preprocess
        self._cache: Optional[Dict[int, np.ndarray]] = {} if cache else None

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> np.ndarray:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        image = self.preprocess.prepare(self.source.load(index), str(self.source.paths[index]))
        if self._cache is not None:
            self._cache[index] = image
        return image

    def sample(self, index: int, rng: np.random.Generator) -> np.ndarray:
        """Prepared image ``index`` with the random crop drawn from ``rng``."""
        return self.preprocess.crop(self[index], rng)


class TrainDataset(Dataset):
    """``length`` random samples per epoch: image ``index % len(images)``, random geometry, flip and mask,
    then the optional extra ``augment`` (drawn last, so without it samples are exactly the official ones).

    All randomness of a sample comes from ``sample_rng(seed, STREAM_TRAIN, epoch, index)``.
    """

    def __init__(self, images: ImageList, masks: TrainMaskSource, preprocess: Preprocess, seed: int = 0,
                 length: Optional[int] = None, hflip: bool = True, cache_images: bool = False,
                 augment: Optional[JointAugment] = None) -> None:
        self.images, self.masks = PreparedImages(images, preprocess, cache_images), masks
        self.seed, self.hflip, self.augment = int(seed), hflip, augment
        self.length = int(length) if length is not None else len(images)

    def __len__(self) -> int:
        return self.length

    def image_and_rng(self, key: SampleKey) -> Tuple[np.ndarray, np.random.Generator]:
        """Sample ``key``'s (prepared) image ``index % len(images)`` and the generator of everything else it draws."""
        epoch, index = (0, int(key)) if isinstance(key, (int, np.integer)) else (int(key[0]), int(key[1]))
        if not 0 <= index < self.length:
            raise IndexError(f"sample index {index} out of range for {self.length} samples")
        rng = sample_rng(self.seed, STREAM_TRAIN, epoch, index)
        return self.images.sample(index % len(self.images), rng), rng

    def __getitem__(self, key: SampleKey) -> Dict[str, object]:
        image, rng = self.image_and_rng(key)
        mask = self.masks(image.shape[0], image.shape[1], rng)
        if self.hflip:
            image, mask = joint_hflip(image, mask, rng)
        if self.augment is not None:
            image, mask = self.augment(image, mask, rng)
        return {**_image_entries(image), "mask": mask_to_tensor(mask)}


@dataclass(frozen=True)
class EvalPair:
    """One fixed evaluation sample: which image, which bin, which slot in the bin, which mask file (if any)."""

    name: str
    image_index: int
    bin: int
    slot: int
    mask_path: Optional[str] = None


def build_eval_pairs(images: ImageList, per_bin: int, num_bins: int,
                     binned_masks: Optional[Sequence[Sequence[str]]] = None) -> List[EvalPair]:
    """Deterministic pairs: in every bin, slot j uses image ``j % len(images)`` and, with mask files,
    the bin's mask ``j % len(bin masks)`` (sorted order), as the official test loaders pair them."""
    pairs = []
    for b in range(num_bins):
        masks = None if binned_masks is None else binned_masks[b]
        if masks is not None and not masks:
            raise DataError(f"no mask file falls in bin {b}; cannot build evaluation pairs")
        for j in range(per_bin):
            k = j % len(images)
            if masks is None:
                pairs.append(EvalPair(f"{images.names[k]}_bin{b}_{j:05d}", k, b, j))
            else:
                mask_path = masks[j % len(masks)]
                stem = mask_path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                pairs.append(EvalPair(f"{images.names[k]}__{stem}", k, b, j, mask_path))
    return pairs


def match_masks_by_stem(images: ImageList, mask_paths: Sequence) -> List[str]:
    """The mask of every image, matched by file stem: ``<stem>.*`` or ``<stem>_mask.*``.

    Every image without a mask, every mask without an image and every ambiguous match is an error
    that names them all (pairing by position would score an image with another one's mask).
    """
    by_stem = {pathlib.PurePath(p).stem: str(p) for p in mask_paths}
    matched, without_mask, errors = [], [], []
    for path in images.paths:
        found = [by_stem[s] for s in (path.stem, f"{path.stem}_mask") if s in by_stem]
        if len(found) > 1:
            errors.append(f"two masks for image {path.stem!r}: {found}")
        elif not found:
            without_mask.append(path.stem)
        matched.append(found[0] if found else "")
    claimed = [m for m in matched if m]
    errors += [f"mask {m} matches two images" for m in sorted({m for m in claimed if claimed.count(m) > 1})]
    without_image = sorted(set(map(str, mask_paths)) - set(claimed))
    if without_mask:
        errors.append(f"{len(without_mask)} image(s) without a mask: {without_mask}")
    if without_image:
        errors.append(f"{len(without_image)} mask(s) without an image: {without_image}")
    if errors:
        raise DataError("paired masks are matched to images by file stem (<stem>.* or <stem>_mask.*): "
                        + "; ".join(errors))
    return matched


def build_paired_eval_pairs(images: ImageList, mask_paths: Sequence, ratios: Dict[str, float],
                            bin_edges: Sequence[float]) -> Tuple[List[EvalPair], List[Tuple[str, float]]]:
    """Each image with its own mask (``match_masks_by_stem``; datasets that ship one mask per image);
    the bin is the measured one. Returns the pairs and the (mask, ratio) of pairs whose ratio lies
    in no bin (left out)."""
    pairs, outside = [], []
    for i, mask_path in enumerate(match_masks_by_stem(images, mask_paths)):
        b = bin_index(ratios[mask_path], bin_edges)
        if b < 0:
            outside.append((mask_path, ratios[mask_path]))
        else:
            pairs.append(EvalPair(images.names[i], i, b, i, mask_path))
    return pairs, outside


# (pair, height, width, rng) -> uint8 {0,1} mask for that pair
EvalMaskSource = Callable[[EvalPair, int, int, np.random.Generator], np.ndarray]


class PaddingIndex(int):
    """An evaluation index that a rank with no pair of its own loads (see ``ShardedEvalSampler``): its sample
    carries ``padding`` and nobody scores it; it only makes that rank run the epoch and join its collectives."""


def is_padding(batch: Dict[str, object]) -> bool:
    """A batch of padding samples (a rank has either pairs of its own or one padding sample)."""
    return "padding" in batch


class EvalDataset(Dataset):
    """Fixed (image, mask) pairs with their measured hole ratio and bin.

    Crops and procedural masks come from ``sample_rng(seed, stream, bin, slot, ...)``: identical on
    every run and in every worker. A mask whose measured ratio leaves its bin is an error.
    ``excluded``: the ``(mask, hole ratio)`` pairs of the mask set that fall in no bin and were left out
    (the test report lists them).
    """

    def __init__(self, images: ImageList, pairs: Sequence[EvalPair], masks: EvalMaskSource,
                 preprocess: Preprocess, bin_edges: Sequence[float], seed: int, stream: int,
                 cache_images: bool = False, excluded: Sequence[Tuple[str, float]] = ()) -> None:
        self.images, self.pairs, self.masks = PreparedImages(images, preprocess, cache_images), list(pairs), masks
        self.bin_edges, self.seed, self.stream = list(bin_edges), int(seed), int(stream)
        self.excluded = list(excluded)

    def __len__(self) -> int:
        return len(self.pairs)

    def sample_arrays(self, index: int) -> Tuple[np.ndarray, np.ndarray, float, EvalPair]:
        """uint8 image (H, W, 3), uint8 mask (H, W), measured hole ratio and the pair, for ``index``."""
        pair = self.pairs[index]
        crop_rng = sample_rng(self.seed, self.stream, pair.bin, pair.slot, 0)
        image = self.images.sample(pair.image_index, crop_rng)
        mask_rng = sample_rng(self.seed, self.stream, pair.bin, pair.slot, 1)
        mask = self.masks(pair, image.shape[0], image.shape[1], mask_rng)
        ratio = hole_ratio(mask)
        if bin_index(ratio, self.bin_edges) != pair.bin:
            raise DataError(f"{pair.mask_path or pair.name}: measured hole ratio {ratio:.4f} is outside "
                            f"bin {bin_names(self.bin_edges)[pair.bin]}")
        return image, mask, ratio, pair

    def __getitem__(self, index: int) -> Dict[str, object]:
        image, mask, ratio, pair = self.sample_arrays(index)
        sample = {**_image_entries(image), "mask": mask_to_tensor(mask), "ratio": ratio, "bin": pair.bin, "name": pair.name}
        return {**sample, "padding": True} if isinstance(index, PaddingIndex) else sample


class ProceduralEvalMasks:
    """Evaluation masks drawn by a generator inside the pair's bin, so each bin is filled exactly."""

    def __init__(self, generator: Callable[..., np.ndarray], bin_edges: Sequence[float]) -> None:
        self.generator, self.bin_edges = generator, list(bin_edges)

    def __call__(self, pair: EvalPair, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        lo, hi = self.bin_edges[pair.bin], self.bin_edges[pair.bin + 1]
        return self.generator(height, width, rng, (lo, hi))
