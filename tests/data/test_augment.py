"""Optional albumentations augmentations of training samples (``InpaintingDataModule(augment=...)``)."""

import albumentations as A
import cv2
import hydra
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from inpainting.data import DataError, InpaintingDataModule, sample_rng
from inpainting.data.augment import JointAugment
from inpainting.data.masks import STREAM_TRAIN
from inpainting.data.transforms import joint_hflip
from inpainting.utils.resources import CONFIG_DIR
from tests.cli.helpers import data_config

KEYS = [(0, 0), (0, 5), (1, 3), (2, 7)]


def make_demo(drop=(), **overrides) -> InpaintingDataModule:
    cfg = data_config("demo")
    for key in drop:
        del cfg[key]
    cfg.merge_with(OmegaConf.create({"images_per_bin": 2, "samples_per_epoch": 8, "batch_size": 4,
                                     "eval_batch_size": 6}))
    datamodule = hydra.utils.instantiate(cfg, **overrides)
    datamodule.setup()
    return datamodule


@pytest.fixture(scope="module")
def plain():
    return make_demo()


def sample(datamodule, key, split="train"):
    return datamodule.datasets[split][key]


def test_default_is_todays_pipeline(plain):
    """No ``augment`` key, ``augment: null`` and the official steps by hand give the same samples."""
    assert plain.augment is None
    without_key = make_demo(drop=("augment",))
    train = plain.datasets["train"]
    for key in KEYS:
        epoch, index = key
        rng = sample_rng(plain.seed, STREAM_TRAIN, epoch, index)
        image = train.images.sample(index % len(train.images), rng)
        mask = train.masks(image.shape[0], image.shape[1], rng)
        image, mask = joint_hflip(image, mask, rng)
        for got in (sample(plain, key), sample(without_key, key)):
            assert torch.equal(got["image"], torch.from_numpy(image.transpose(2, 0, 1).copy()).float() / 255)
            assert torch.equal(got["mask"][0], torch.from_numpy(mask.copy()).float())


@pytest.mark.parametrize("transform, expected", [
    (A.HorizontalFlip(p=1.0), lambda a: a[:, ::-1]),
    (A.Rotate(limit=(90, 90), p=1.0), lambda a: np.rot90(a, 1)),
])
def test_geometric_transform_moves_the_hole_with_the_image(plain, transform, expected):
    augmented = make_demo(augment=transform)
    for key in KEYS:
        base, got = sample(plain, key), sample(augmented, key)
        base_image = base["image"].permute(1, 2, 0).numpy()
        assert np.array_equal(got["image"].permute(1, 2, 0).numpy(), expected(base_image))
        assert np.array_equal(got["mask"][0].numpy(), expected(base["mask"][0].numpy()))
        assert not torch.equal(got["mask"], base["mask"]) or base["mask"].sum() == 0


@pytest.mark.parametrize("transform", [A.RandomBrightnessContrast(p=1.0),
                                       A.ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, p=1.0)])
def test_pixel_transform_leaves_the_mask_alone(plain, transform):
    augmented = make_demo(augment=transform)
    for key in KEYS:
        base, got = sample(plain, key), sample(augmented, key)
        assert torch.equal(got["mask"], base["mask"])
        assert not torch.equal(got["image"], base["image"])


def test_interpolated_mask_is_binarised():
    """A 30 degree rotation with a linear mask interpolation still gives a {0,1} mask, holes kept."""
    augment = JointAugment(A.Rotate(limit=(30, 30), mask_interpolation=cv2.INTER_LINEAR, p=1.0))
    image = np.full((32, 32, 3), 128, np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:24, 8:24] = 1
    new_image, new_mask = augment(image, mask, sample_rng(0, 0))
    assert new_image.shape == image.shape and new_mask.dtype == np.uint8
    assert set(np.unique(new_mask)) == {0, 1}
    assert abs(int(new_mask.sum()) - 256) < 40


def test_same_key_same_augmentation_any_order_or_worker():
    augment = A.Compose([A.Affine(rotate=(-20, 20), translate_percent=(-0.1, 0.1), p=1.0),
                         A.RandomBrightnessContrast(p=1.0)])
    first, second = make_demo(augment=augment), make_demo(augment=augment)
    # a different history (other samples drawn before) and a separate instance change nothing
    for key in reversed(KEYS):
        sample(second, key)
    for key in KEYS:
        a, b = sample(first, key), sample(second, key)
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
    # two workers give the batches of the main process
    first.num_workers = 2
    batch = next(iter(first.train_dataloader()))
    first.num_workers = 0
    direct = next(iter(first.train_dataloader()))
    assert torch.equal(batch["image"], direct["image"]) and torch.equal(batch["mask"], direct["mask"])


def test_different_sample_different_augmentation():
    """Same image and mask, generators of two indices: different draws of the same transform."""
    augment = JointAugment(A.Compose([A.Affine(rotate=(-45, 45), p=1.0), A.RandomBrightnessContrast(p=1.0)]))
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mask = np.zeros((32, 32), np.uint8)
    mask[4:12, 4:20] = 1
    outs = [augment(image, mask, sample_rng(0, STREAM_TRAIN, 0, index)) for index in (0, 0, 1)]
    assert np.array_equal(outs[0][0], outs[1][0]) and np.array_equal(outs[0][1], outs[1][1])
    assert not np.array_equal(outs[0][0], outs[2][0]) and not np.array_equal(outs[0][1], outs[2][1])


def test_val_and_test_are_never_augmented(plain):
    augmented = make_demo(augment=A.Compose([A.VerticalFlip(p=1.0), A.ColorJitter(p=1.0)]))
    for split in ("val", "test"):
        assert len(augmented.datasets[split]) == len(plain.datasets[split])
        for index in range(len(plain.datasets[split])):
            a, b = sample(augmented, index, split), sample(plain, index, split)
            assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
            assert a["name"] == b["name"] and a["ratio"] == b["ratio"]


def test_size_change_is_a_clear_error():
    datamodule = make_demo(augment=A.Compose([A.ColorJitter(p=1.0), A.RandomCrop(32, 32)]))
    with pytest.raises(DataError, match=r"Compose\[ColorJitter, RandomCrop\] changed the sample size from "
                                        r"64x64 to image 32x32, mask 32x32"):
        sample(datamodule, (0, 0))
    with pytest.raises(DataError, match=r"Compose\[Normalize\] returned a float32 image"):
        sample(make_demo(augment=A.Normalize()), (0, 0))
    with pytest.raises(TypeError, match="albumentations transform or Compose, got function"):
        JointAugment(lambda image, mask: (image, mask))


def test_hydra_config_snippet():
    snippet = OmegaConf.create({"augment": {"_target_": "albumentations.Compose", "transforms": [
        {"_target_": "albumentations.HorizontalFlip", "p": 1.0},
        {"_target_": "albumentations.RandomBrightnessContrast", "p": 1.0}]}})
    datamodule = make_demo(**snippet)
    assert [type(t).__name__ for t in datamodule.augment.compose.transforms] == [
        "HorizontalFlip", "RandomBrightnessContrast"]
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["image"].shape == (4, 3, 64, 64) and batch["mask"].shape == (4, 1, 64, 64)
    assert set(batch["mask"].unique().tolist()) <= {0.0, 1.0}


def test_commented_config_example_instantiates():
    """The example in the comments of conf/data/shared/photos.yaml (demo and folder), uncommented, is a valid
    ``augment``."""
    lines = (CONFIG_DIR / "data" / "shared" / "photos.yaml").read_text().splitlines()
    start = lines.index("# augment:")
    block = [lines[start][2:]]
    for line in lines[start + 1:]:
        if not line.startswith("#   "):
            break
        block.append(line[2:])
    augment = hydra.utils.instantiate(OmegaConf.create("\n".join(block)).augment)
    wrapped = JointAugment(augment)
    image = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    new_image, new_mask = wrapped(image, np.zeros((64, 64), np.uint8), sample_rng(0, 0))
    assert new_image.shape == (64, 64, 3) and new_mask.shape == (64, 64)
