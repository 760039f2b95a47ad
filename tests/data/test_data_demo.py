"""The embedded demo DataModule, built from conf/data/demo.yaml as Hydra does."""

import hydra
import pytest
import torch
from lightning.fabric.utilities.distributed import DistributedSamplerWrapper
from omegaconf import OmegaConf

from inpainting.data import InpaintingDataModule, bin_index
from inpainting.data.datasets import EpochSampler
from inpainting.data.sources import embedded_photos
from tests.cli.helpers import data_config


def make_demo(**overrides) -> InpaintingDataModule:
    cfg = data_config("demo")
    cfg.merge_with(OmegaConf.create(overrides))
    return hydra.utils.instantiate(cfg)


@pytest.fixture(scope="module")
def demo():
    datamodule = make_demo(images_per_bin=3, samples_per_epoch=16, batch_size=4, eval_batch_size=9)
    datamodule.setup("fit")
    return datamodule


def test_embedded_splits_are_disjoint_and_complete():
    names = [n for split in ("train", "val", "test") for n in embedded_photos(split).names]
    assert len(names) == len(set(names)) == 12
    assert embedded_photos("test").names == ["grace_hopper", "china"]
    with pytest.raises(ValueError, match="unknown embedded split"):
        embedded_photos("holdout")


def test_train_batches(demo):
    batches = list(demo.train_dataloader())
    assert len(batches) == 4
    batch = batches[0]
    assert set(batch) == {"image", "mask"}
    assert batch["image"].shape == (4, 3, 64, 64) and batch["image"].dtype == torch.float32
    assert batch["mask"].shape == (4, 1, 64, 64)
    assert 0.0 <= batch["image"].min() and batch["image"].max() <= 1.0
    assert set(torch.unique(batch["mask"]).tolist()) <= {0.0, 1.0}
    ratios = batch["mask"].mean(dim=(1, 2, 3))
    assert bool(((ratios > 0) & (ratios <= 0.6)).all())


def test_train_samples_reproducible_per_epoch_and_index(demo):
    dataset = demo.datasets["train"]
    fresh = make_demo(samples_per_epoch=16)
    fresh.setup("fit")
    for key in [(0, 3), (1, 3), (5, 15)]:
        a, b = dataset[key], fresh.datasets["train"][key]
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
    assert not torch.equal(dataset[(0, 3)]["mask"], dataset[(1, 3)]["mask"])


def test_eval_sets_fixed_binned_and_identical_across_runs(demo):
    assert demo.bin_names == ["0-20%", "20-40%", "40-60%"] and demo.bin_edges == [0.0, 0.2, 0.4, 0.6]
    batch = next(iter(demo.test_dataloader()))
    assert batch["image"].shape == (9, 3, 64, 64) and batch["mask"].shape == (9, 1, 64, 64)
    assert batch["bin"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert batch["name"][:2] == ["grace_hopper_bin0_00000", "china_bin0_00001"]
    measured = batch["mask"].mean(dim=(1, 2, 3)).double()
    assert torch.allclose(measured, batch["ratio"])
    assert [bin_index(float(r), demo.bin_edges) for r in batch["ratio"]] == batch["bin"].tolist()
    other = make_demo(images_per_bin=3, eval_batch_size=9)
    again = next(iter(other.test_dataloader()))
    assert torch.equal(batch["image"], again["image"]) and torch.equal(batch["mask"], again["mask"])
    assert demo.manifest("test") == other.manifest("test")
    val = next(iter(demo.val_dataloader()))
    # validation: three held-out photos, each in every bin, none of them trained on or tested
    assert val["name"][:3] == ["astronaut_bin0_00000", "chelsea_bin0_00001", "coffee_bin0_00002"]
    from inpainting.data.sources import EMBEDDED_SPLITS

    splits = [set(EMBEDDED_SPLITS[s]) for s in ("train", "val", "test")]
    assert not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2]) and len(set.union(*splits)) == 12
    assert not torch.equal(val["mask"], batch["mask"])  # separate val/test random streams


def test_manifest_files(demo, tmp_path):
    rows = demo.manifest("val")
    assert [r["bin"] for r in rows] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    csv_path = demo.write_manifest("val", tmp_path / "val.csv")
    assert csv_path.read_text().splitlines()[0] == "name,image,mask,ratio,bin"
    json_path = demo.write_manifest("val", tmp_path / "val.json")
    assert "coffee_bin2_00002" in json_path.read_text()


class _FakeTrainer:
    def __init__(self, world_size):
        self.world_size = world_size


def test_global_batch_size_divided_by_world_size():
    datamodule = make_demo(batch_size=8, eval_batch_size=4)
    datamodule.trainer = _FakeTrainer(4)
    datamodule.setup("fit")
    assert datamodule.batch_size_per_device == 2 and datamodule.eval_batch_size_per_device == 1
    bad = make_demo(batch_size=6)
    bad.trainer = _FakeTrainer(4)
    with pytest.raises(ValueError, match="batch_size=6 is a GLOBAL batch size.*world size \\(4\\)"):
        bad.setup("fit")


def test_two_ranks_get_disjoint_training_keys():
    sampler = EpochSampler(32, seed=0)
    shards = []
    for rank in range(2):
        sampler.set_epoch(1)
        wrapper = DistributedSamplerWrapper(sampler, num_replicas=2, rank=rank, shuffle=True, seed=0)
        wrapper.set_epoch(1)
        shards.append(list(wrapper))
    assert len(shards[0]) == len(shards[1]) == 16
    assert not set(shards[0]) & set(shards[1])
    assert set(shards[0]) | set(shards[1]) == {(1, i) for i in range(32)}


def test_epoch_sampler_counts_epochs_without_set_epoch():
    sampler = EpochSampler(5, seed=1)
    first, second = list(sampler), list(sampler)
    assert {e for e, _ in first} == {0} and {e for e, _ in second} == {1}
    assert sorted(i for _, i in first) == list(range(5))
    sampler.set_epoch(0)
    assert list(sampler) == first


def test_workers_give_the_same_batches_as_the_main_process():
    loaders = []
    for workers in (0, 2):
        datamodule = make_demo(samples_per_epoch=8, batch_size=4, num_workers=workers)
        loader = datamodule.train_dataloader()
        loader.sampler.set_epoch(2)
        loaders.append([b["mask"] for b in loader])
    assert all(torch.equal(a, b) for a, b in zip(*loaders))
