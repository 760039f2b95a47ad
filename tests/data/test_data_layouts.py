"""Official dataset layouts, built as tiny trees, loaded through the thin configs in conf/data."""
import json

import hydra
import numpy as np
import pytest
import torch
from hydra.errors import InstantiationException
from omegaconf import OmegaConf
from PIL import Image

from inpainting.data import DataError, MaskFiles, image_list, read_file_list
from tests.cli.helpers import data_config


def save_image(path, height, width, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)


def save_mask(path, size, hole_box, hole_value=255):
    """A square mask with a hole box (top, left, bottom, right) painted ``hole_value``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = np.full((size, size), 255 - hole_value, np.uint8)
    top, left, bottom, right = hole_box
    mask[top:bottom, left:right] = hole_value
    Image.fromarray(mask).save(path)


def nvidia_like_masks(root, size=32):
    """Three masks, one per paper bin (ratios 0.125, 0.25, 0.5 at any resize of a 32 px square)."""
    save_mask(root / "00000.png", size, (0, 0, 8, 16))
    save_mask(root / "00001.png", size, (0, 0, 8, 32))
    save_mask(root / "00002.png", size, (0, 0, 16, 32))


def instantiate(name, data_dir, **overrides):
    paths = {"data_dir": str(data_dir), "train_masks_dir": str(data_dir / "masks/train")}
    cfg = OmegaConf.create({"paths": paths, "data": data_config(name)})
    cfg.data.merge_with(OmegaConf.create(overrides))
    return hydra.utils.instantiate(cfg.data)


SMALL = dict(image_size=16, num_workers=0, pin_memory=False, mask_ratio_cache=None, batch_size=2, eval_batch_size=64)


def test_places2_layout(tmp_path):
    root = tmp_path / "places2"
    (root).mkdir()
    (root / "places365_train_standard.txt").write_text("/a/airfield/00000001.jpg 0\n/b/bar/00000002.jpg 1\n")
    (root / "places365_val.txt").write_text("Places365_val_00000001.jpg 165\nPlaces365_val_00000002.jpg 3\n")
    (root / "places365_test.txt").write_text("".join(f"Places365_test_{i:08d}.jpg\n" for i in range(1, 6)))
    save_image(root / "data_256/a/airfield/00000001.jpg", 24, 24)
    save_image(root / "data_256/b/bar/00000002.jpg", 24, 30)
    for i in (1, 2):
        save_image(root / f"val_256/Places365_val_{i:08d}.jpg", 24, 24)
    for i in range(1, 6):
        save_image(root / f"test_256/Places365_test_{i:08d}.jpg", 24, 24, seed=i)
    nvidia_like_masks(tmp_path / "masks/testing_mask_dataset")
    nvidia_like_masks(tmp_path / "masks/train")
    dm = instantiate("places2", tmp_path, **SMALL, test_images={"num_images": 3, "subset_seed": 5},
                     val_images={"num_images": None})
    dm.setup("fit")
    assert dm.train_images.names == ["a/airfield/00000001", "b/bar/00000002"]
    assert len(dm.val_images) == 2 and len(dm.test_images) == 3
    again = instantiate("places2", tmp_path, **SMALL, test_images={"num_images": 3, "subset_seed": 5})
    assert again.test_images.names == dm.test_images.names  # fixed, seeded test subset
    train = next(iter(dm.train_dataloader()))
    assert train["image"].shape == (2, 3, 16, 16)
    test = next(iter(dm.test_dataloader()))
    assert test["bin"].tolist() == [0] * 3 + [1] * 3 + [2] * 3
    assert test["ratio"].tolist() == pytest.approx([0.125] * 3 + [0.25] * 3 + [0.5] * 3)
    assert test["name"][0] == f"{dm.test_images.names[0]}__00000"


def test_celeba_layout(tmp_path):
    root = tmp_path / "celeba"
    rows = [("000001.jpg", 0), ("000002.jpg", 0), ("000003.jpg", 1), ("000004.jpg", 2), ("000005.jpg", 2)]
    root.mkdir()
    (root / "list_eval_partition.txt").write_text("".join(f"{f} {p}\n" for f, p in rows))
    for name, _ in rows:
        save_image(root / "img_align_celeba" / name, 218, 178)
    nvidia_like_masks(tmp_path / "masks/testing_mask_dataset")
    nvidia_like_masks(tmp_path / "masks/train")
    dm = instantiate("celeba", tmp_path, **SMALL)
    dm.setup("fit")
    assert [len(dm.train_images), len(dm.val_images), len(dm.test_images)] == [2, 1, 2]
    assert dm.test_images.names == ["000004", "000005"]
    assert next(iter(dm.test_dataloader()))["image"].shape == (6, 3, 16, 16)
    (root / "list_eval_partition.txt").write_text("000001.jpg 7\n")
    with pytest.raises(InstantiationException, match="list_eval_partition.txt:1: expected"):
        instantiate("celeba", tmp_path, **SMALL)


def test_dunhuang_layout_reverses_and_thresholds_at_100(tmp_path):
    root = tmp_path / "dunhuang"
    for split in ("train", "test"):
        for i, rows in enumerate((4, 8, 16)):
            save_image(root / f"{split}_gt/{i:03d}.jpg", 40, 32, seed=i)
            mask = np.full((32, 32), 255, np.uint8)  # white = known
            mask[:rows] = 0  # black = damaged
            mask[rows:rows + 2] = 90  # JPEG-like soft edge below 100: still damaged
            (root / split).mkdir(parents=True, exist_ok=True)
            Image.fromarray(mask).save(root / f"{split}/{i:03d}_mask.png")
    dm = instantiate("dunhuang", tmp_path, **SMALL, eval_masks={"suffix": "_mask.png"}, train_images={"count": 1})
    batch = next(iter(dm.test_dataloader()))
    assert batch["name"] == ["000", "001", "002"]
    assert batch["ratio"].tolist() == pytest.approx([6 / 32, 10 / 32, 18 / 32])
    assert batch["bin"].tolist() == [0, 1, 2]
    assert batch["mask"][0, 0, :3].eq(1).all() and batch["mask"][0, 0, 3:].eq(0).all()  # 6 of 32 rows at 16 px
    train = next(iter(dm.train_dataloader()))
    assert train["mask"].shape == (2, 1, 16, 16)
    # validation: a fixed held-out part of train (never the test split, never trained on)
    assert dm.val_images.paths == [root / "train_gt/002.jpg"]
    assert dm.train_images.paths == [root / "train_gt/000.jpg", root / "train_gt/001.jpg"]
    val = next(iter(dm.val_dataloader()))
    assert val["name"] == ["002"] and val["ratio"].tolist() == pytest.approx([18 / 32])
    again = instantiate("dunhuang", tmp_path, **SMALL, eval_masks={"suffix": "_mask.png"}, train_images={"count": 1})
    assert again.val_images.paths == dm.val_images.paths
    (root / "test/001_mask.png").unlink()
    with pytest.raises(InstantiationException, match="paired mask file.*missing.*001_mask.png"):
        instantiate("dunhuang", tmp_path, **SMALL, eval_masks={"suffix": "_mask.png"}, train_images={"count": 1})


def test_paper_datasets_train_on_random_mask_files_with_procedural_as_the_switch(tmp_path):
    root = tmp_path / "celeba"
    root.mkdir()
    (root / "list_eval_partition.txt").write_text("a.jpg 0\nb.jpg 0\nc.jpg 1\nd.jpg 2\n")
    for name in "abcd":
        save_image(root / "img_align_celeba" / f"{name}.jpg", 40, 32)
    nvidia_like_masks(tmp_path / "masks/testing_mask_dataset")
    dm = instantiate("celeba", tmp_path, **SMALL, samples_per_epoch=8, hflip=False)
    dm.setup("test")  # testing needs no training masks
    with pytest.raises(DataError, match=r"training masks: .*masks/train: mask folder not found.*data.train_masks=null"):
        dm.setup("fit")
    save_mask(tmp_path / "masks/train/only.png", 32, (0, 0, 8, 32))  # the one training mask: ratio 0.25
    dm = instantiate("celeba", tmp_path, **SMALL, samples_per_epoch=8, hflip=False)
    masks = torch.cat([batch["mask"] for batch in dm.train_dataloader()])
    assert masks.shape == (8, 1, 16, 16) and masks.mean(dim=(1, 2, 3)).tolist() == [0.25] * 8
    assert masks[:, :, :4].eq(1).all()
    procedural = instantiate("celeba", tmp_path, **SMALL, samples_per_epoch=8, train_masks=None)
    ratios = torch.cat([batch["mask"] for batch in procedural.train_dataloader()]).mean(dim=(1, 2, 3))
    assert len(set(ratios.tolist())) > 1 and (ratios <= 0.6).all()


def test_folder_and_file_lists(tmp_path):
    for split, count in (("train", 3), ("val", 1), ("test", 2)):
        for i in range(count):
            save_image(tmp_path / f"folder/{split}/sub/{i}.png", 20, 20, seed=i)
    dm = instantiate("folder", tmp_path, **SMALL, images_per_bin=2)
    dm.setup("fit")
    assert dm.train_images.names == ["sub/0", "sub/1", "sub/2"]
    assert len(dm.datasets["test"]) == 6
    paths = [str(p) for p in dm.train_images.paths]
    (tmp_path / "train.flist").write_text(json.dumps(paths))  # official: JSON array despite the name
    (tmp_path / "train.txt").write_text("\n".join(paths) + "\n")
    assert image_list(tmp_path / "train.flist").paths == image_list(tmp_path / "train.txt").paths
    (tmp_path / "rel.txt").write_text("folder/train/sub/0.png\n")
    assert read_file_list(tmp_path / "rel.txt") == [tmp_path / "folder/train/sub/0.png"]
    (tmp_path / "bad.flist").write_text("[\"a.png\",")
    with pytest.raises(ValueError, match="bad.flist: looks like a JSON array"):
        read_file_list(tmp_path / "bad.flist")


def test_nvidia_raw_training_masks_are_inverted_and_augmented(tmp_path):
    save_mask(tmp_path / "raw/0.png", 64, (16, 16, 48, 48), hole_value=0)  # raw NVIDIA train: black = hole
    masks = MaskFiles(root=tmp_path / "raw", reverse=True, augment=True, max_rotation=30, max_dilation=5)
    plain = MaskFiles(root=tmp_path / "raw", reverse=True)
    assert plain(32, 32, np.random.default_rng(0)).mean() == pytest.approx(0.25)
    drawn = [masks(32, 32, np.random.default_rng(i)) for i in range(8)]
    assert all(m.shape == (32, 32) and 0 < m.mean() < 1 for m in drawn)
    assert len({m.tobytes() for m in drawn}) == 8
    assert np.array_equal(masks(32, 32, np.random.default_rng(3)), drawn[3])
