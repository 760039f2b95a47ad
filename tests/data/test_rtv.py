"""RTV structure images: the smoothing itself, the cache (resumable, stale/missing errors), inpaint-rtv,
and structures travelling through the data pipeline with their images."""
import json
import os

import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from inpainting.cli.rtv import fill
from inpainting.data import DataError, InpaintingDataModule
from inpainting.data.rtv import MANIFEST, RTVParams, RTVStructureImages, rtv_smooth, rtv_structures
from inpainting.data.sources import image_folder
from inpainting.utils.resources import compose


def _textured_step(size=48):
    """Dark left half, bright right half, both covered by a 2x2 checkerboard texture of +-0.15."""
    yy, xx = np.mgrid[:size, :size]
    base = np.where(xx < size // 2, 0.2, 0.8)
    texture = 0.15 * np.where((yy // 2 + xx // 2) % 2 == 0, 1, -1)
    return np.repeat(np.clip(base + texture, 0, 1)[..., None], 3, axis=2)


def test_rtv_removes_texture_and_keeps_the_edge():
    image = _textured_step()
    smooth = rtv_smooth(image)
    assert smooth.shape == image.shape
    for half in (slice(4, 20), slice(28, 44)):  # away from the edge
        assert image[:, half].std() == pytest.approx(0.15)
        assert smooth[:, half].std() < 0.01  # measured ~2e-5
    # the 0.6 step survives, within 3 pixels of where it was (a Gaussian blur of sigma 3 would spread it)
    assert smooth[:, 25].mean() - smooth[:, 22].mean() > 0.5
    assert abs(smooth[:, :24].mean() - 0.2) < 0.02 and abs(smooth[:, 24:].mean() - 0.8) < 0.02
    gray = rtv_smooth((image[..., 0] * 255).astype(np.uint8))
    assert gray.shape == (48, 48) and abs(gray[:, 28:44].mean() - 0.8) < 0.02


def _folder(tmp_path, count=3, size=64):
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(root / f"p{i}.png")
    return root


def test_cache_missing_stale_and_resumable(tmp_path):
    root = _folder(tmp_path)
    images = RTVStructureImages(image_folder(root), cache_dir=tmp_path / "cache")
    assert images.cache_dir == tmp_path / "cache" / "photos"
    with pytest.raises(DataError, match="RTV structure cache missing.*inpaint-rtv"):
        images.load(0)
    images.start_cache()
    images.compute(0)
    assert images.load(0).shape == (64, 64, 6)
    with pytest.raises(DataError, match=r"p1.png \(for .*p1.png\).*inpaint-rtv"):
        images.load(1)
    assert not list(images.cache_dir.glob("*.part"))  # atomic writes leave nothing behind
    later = images.structure_path(0).stat().st_mtime + 10
    os.utime(images.paths[0], (later, later))  # the image changed after its structure was computed
    assert not images.is_fresh(0)
    with pytest.raises(DataError, match="older than its image"):
        images.load(0)
    other = RTVStructureImages(image_folder(root), cache_dir=tmp_path / "cache", params={"lam": 0.02})
    with pytest.raises(DataError, match="stale.*lam"):
        other.load(0)
    with pytest.raises(DataError, match="force=true"):
        other.start_cache()


def test_inpaint_rtv_fills_the_experiments_cache_and_resumes(tmp_path, capsys):
    root = _folder(tmp_path)
    folder = ["data=folder", f"paths.data_dir={tmp_path}",
              *(f"data.{split}_images.root={root}" for split in ("train", "val", "test"))]
    overrides = ["experiment=structureflow_structure", *folder]
    GlobalHydra.instance().clear()
    assert fill(compose("rtv", [*overrides, "splits=[train,val]"])) == 0
    out = capsys.readouterr().out
    assert "train: 3 computed, 0 already cached" in out and "val:" not in out  # val = same images
    cache = tmp_path / "rtv_structures" / "photos"
    assert json.loads((cache / MANIFEST).read_text())["params"]["lam"] == RTVParams().lam
    assert sorted(p.name for p in cache.glob("*.png")) == ["p0.png", "p1.png", "p2.png"]
    (cache / "p1.png").unlink()
    GlobalHydra.instance().clear()
    assert fill(compose("rtv", [*overrides, "splits=[train]"])) == 0
    assert "train: 1 computed, 2 already cached" in capsys.readouterr().out
    GlobalHydra.instance().clear()
    assert fill(compose("rtv", [*folder, "splits=[train]"])) == 1  # no data.structures


def test_structures_follow_the_image_geometry(tmp_path):
    # a cache whose "structure" is the image itself: every crop, resize and flip must keep them equal
    root = _folder(tmp_path, count=2, size=80)
    wrap = rtv_structures(cache_dir=str(tmp_path / "cache"))
    images = wrap(image_folder(root))
    images.start_cache()
    for i in range(len(images)):
        images.structure_path(i).parent.mkdir(parents=True, exist_ok=True)
        Image.open(images.paths[i]).save(images.structure_path(i))
    dm = InpaintingDataModule(image_folder(root), image_folder(root), image_size=64, preprocess="crop",
                              resize_short=72, samples_per_epoch=4, images_per_bin=1, batch_size=2,
                              structures=wrap)
    dm.setup("fit")
    for split in ("train", "val"):
        for index in range(2):
            sample = dm.datasets[split][index]
            assert sample["structure"].shape == sample["image"].shape == (3, 64, 64)
            assert (sample["structure"] - sample["image"]).abs().max() == 0
    with pytest.raises(ValueError, match="augment"):
        InpaintingDataModule(image_folder(root), augment=object(), structures=wrap)
