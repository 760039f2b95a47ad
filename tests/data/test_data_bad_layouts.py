"""Bad dataset layouts through `inpaint-check-data` and the DataModule: pairing by name, symlinks,
decompression limits, tiny or degenerate images, grey masks, file lists with spaces, bad sizes."""
from __future__ import annotations

import os
import pathlib

import hydra
import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from inpainting.cli.check_data import check
from inpainting.data import DataError, image_folder, read_file_list
from inpainting.data.transforms import Preprocess
from inpainting.utils.resources import compose
from tests.cli.helpers import data_config


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # keep long tmp paths on one line
    # data.max_image_pixels sets Pillow's process-wide limit: restore it after each test
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


def _image(path: pathlib.Path, height: int = 20, width: int = 20, seed: int = 0) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


def _mask(path: pathlib.Path, rows: int, size: int = 20) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = np.zeros((size, size), np.uint8)
    mask[:rows] = 255
    Image.fromarray(mask).save(path)
    return path


def _folder(root: pathlib.Path, splits=("train", "val", "test"), stems=("a", "b")) -> None:
    for split in splits:
        for i, stem in enumerate(stems):
            _image(root / "folder" / split / f"{stem}.png", seed=i)


def _check(root: pathlib.Path, capsys, *overrides: str) -> tuple[int, str]:
    status = check(compose("check_data", [f"paths.data_dir={root}", "data=folder", "data.image_size=20",
                                          "data.num_workers=0", *overrides]))
    return status, capsys.readouterr().out


def _mask_files(root: pathlib.Path) -> str:
    return f"data.eval_masks={{_target_:inpainting.data.MaskFiles,root:'{root}'}}"


# -- case 2: paired evaluation pairs by name ---------------------------------------------------------
def test_paired_masks_are_matched_by_stem_and_unmatched_files_are_named(tmp_path, capsys):
    _folder(tmp_path, stems=("a", "b", "c"))
    masks = tmp_path / "masks"
    _mask(masks / "a_mask.png", 2)
    _mask(masks / "b.png", 6)
    _mask(masks / "d.png", 10)  # c has no mask; d has no image: same count, shifted by position before
    status, out = _check(tmp_path, capsys, "data.pairing=paired", _mask_files(masks))
    assert status == 1
    assert "no problems found" not in out
    assert "image(s) without a mask" in out and "'c'" in out
    assert "mask(s) without an image" in out and "d.png" in out

    _mask(masks / "c.png", 4)
    (masks / "d.png").unlink()
    status, out = _check(tmp_path, capsys, "data.pairing=paired", _mask_files(masks))
    assert status == 0, out
    cfg = data_config("folder")
    cfg.merge_with({"eval_masks": {"_target_": "inpainting.data.MaskFiles", "root": str(masks)},
                    "pairing": "paired", "image_size": 20, "num_workers": 0})
    dm = hydra.utils.instantiate(OmegaConf.create({"paths": {"data_dir": str(tmp_path)}, "data": cfg}).data)
    dm.setup("test")
    paired = {dm.test_images.names[p.image_index]: pathlib.Path(p.mask_path).name for p in dm.datasets["test"].pairs}
    assert paired == {"a": "a_mask.png", "b": "b.png", "c": "c.png"}


def test_paired_masks_with_two_files_for_one_image_are_an_error(tmp_path):
    from inpainting.data.datasets import build_paired_eval_pairs
    from inpainting.data.sources import ImageList

    images = ImageList([tmp_path / "a.png"])
    paths = [str(tmp_path / "m" / "a.png"), str(tmp_path / "m" / "a_mask.png")]
    with pytest.raises(DataError, match="two masks for image 'a'"):
        build_paired_eval_pairs(images, paths, dict.fromkeys(paths, 0.1), [0.0, 0.2])


# -- case 4: symbolic links ---------------------------------------------------------------------------
def test_symlinked_folders_are_followed_and_skipped_links_are_reported(tmp_path, capsys):
    _folder(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    _image(elsewhere / "linked.png", seed=5)
    train = tmp_path / "folder" / "train"
    os.symlink(elsewhere, train / "more")  # a symlinked sub-folder: its images count
    os.symlink(tmp_path / "gone.png", train / "broken.png")  # a dangling file link
    os.symlink(train, train / "loop")  # a link back to an ancestor
    images = image_folder(train)
    assert images.names == ["a", "b", "more/linked"]
    reasons = dict((pathlib.Path(p).name, why) for p, why in images.skipped)
    assert reasons["broken.png"].startswith("broken symbolic link")
    assert reasons["loop"].startswith("directory link loop")
    status, out = _check(tmp_path, capsys)
    assert status == 1
    assert "2 file(s) or folder(s) skipped" in out
    assert "broken.png: skipped: broken symbolic link" in out
    assert "loop: skipped: directory link loop" in out


# -- case 5: decompression-bomb limit -----------------------------------------------------------------
def test_images_over_the_pixel_limit_are_named_with_their_size(tmp_path, capsys):
    _folder(tmp_path)
    huge = tmp_path / "folder" / "train" / "huge.png"
    Image.new("1", (20000, 10000)).save(huge)  # 200 Mpx, tiny on disk: over twice Pillow's default limit
    status, out = _check(tmp_path, capsys)
    assert status == 1
    assert "huge.png: image too large to decode (200000000 pixels" in out and "data.max_image_pixels" in out
    huge.unlink()
    # the configured limit is the limit: 400 pixels is over 300 (Pillow itself would only warn below 600)
    status, out = _check(tmp_path, capsys, "data.max_image_pixels=300")
    assert status == 1 and "a.png: image too large to decode (400 pixels" in out
    status, out = _check(tmp_path, capsys, "data.max_image_pixels=400")
    assert status == 0, out


# -- case 7: tiny and degenerate images ---------------------------------------------------------------
def test_tiny_and_degenerate_images_are_flagged(tmp_path, capsys):
    _folder(tmp_path)
    _image(tmp_path / "folder" / "train" / "dot.png", 1, 1)
    _image(tmp_path / "folder" / "train" / "strip.png", 12, 2000)
    status, out = _check(tmp_path, capsys, "data.image_size=64")
    assert status == 1
    assert "dot.png: image 1x1 would be upscaled 64.0x (to 64 px)" in out
    assert "strip.png: image 12x2000 would be upscaled 5.3x (to 64 px) and has an aspect ratio of 166.7:1" in out
    assert "a.png" not in out  # 20 px at 64 is upscaled 3.2x: flagged only beyond 4x (CelebA at 512 is 2.9x)
    status, out = _check(tmp_path, capsys, "data.image_size=64", "data.small_images=error")
    assert "a.png: image 20x20 is smaller than the 64x64 crop" in out  # official mode honours it too


def test_small_images_error_in_every_preprocess_mode():
    image = np.zeros((12, 10, 3), np.uint8)
    for mode in ("official", "crop"):
        with pytest.raises(DataError, match="tiny.png: image 12x10 is smaller than the 16x16 crop"):
            Preprocess(16, mode, small_images="error").prepare(image, "tiny.png")
        assert Preprocess(16, mode).prepare(image, "tiny.png").shape[0] >= 16


# -- case 8: grey-level masks -------------------------------------------------------------------------
def test_grey_level_masks_are_flagged_with_their_grey_share(tmp_path, capsys):
    _folder(tmp_path)
    masks = tmp_path / "masks"
    for rows, name in ((2, "binary.png"), (5, "binary2.png"), (10, "binary3.png")):  # one in every bin
        _mask(masks / name, rows)
    soft = np.zeros((20, 20), np.uint8)
    soft[:6] = 255
    soft[6:8] = 40  # a soft edge: hole at the official threshold 0
    masks.mkdir(exist_ok=True)
    Image.fromarray(soft).save(masks / "soft.png")
    status, out = _check(tmp_path, capsys, _mask_files(masks))
    assert "soft.png: grey-level mask: 10.0 % of its pixels are neither black nor white" in out
    assert "binary.png" not in out
    assert "warning" in out and status == 0  # a warning: official datasets ship JPEG masks


# -- case 10: list entries with spaces, image_size=0 ----------------------------------------------------
def test_newline_list_keeps_paths_with_spaces(tmp_path, capsys):
    _folder(tmp_path)
    _image(tmp_path / "my photos" / "a b.png")
    _image(tmp_path / "labelled.png")
    (tmp_path / "train.txt").write_text("my photos/a b.png\nlabelled.png 12\n")
    as_list = ["data.train_images._target_=inpainting.data.image_list", "~data.train_images.root",
               f"+data.train_images.list_file={tmp_path / 'train.txt'}"]
    assert read_file_list(tmp_path / "train.txt") == [tmp_path / "my photos" / "a b.png", tmp_path / "labelled.png"]
    status, out = _check(tmp_path, capsys, *as_list)
    assert status == 0, out
    (tmp_path / "train.txt").write_text("my photos/missing one.png\n")
    status, out = _check(tmp_path, capsys, *as_list)
    assert status == 1 and "my photos/missing one.png: file not found" in out


@pytest.mark.parametrize("size", ["0", "-4"])
def test_image_size_must_be_positive(tmp_path, capsys, size):
    _folder(tmp_path)
    status, out = _check(tmp_path, capsys, f"data.image_size={size}")
    assert status == 2 and f"image_size must be a positive number of pixels, got {size}" in out
