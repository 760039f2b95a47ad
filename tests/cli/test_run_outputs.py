"""What a run leaves without W&B: TensorBoard event files, the curve PNG, one labelled panel per
validation (mid-epoch ones included), and val/psnr on the progress bar."""
import csv

import numpy as np
import pytest
import torch
from PIL import Image

from inpainting.callbacks.curves import CurvePlot, plot_curves
from inpainting.callbacks.drawing import labelled_panel, tile_labels
from inpainting.callbacks.progress import ValueProgressBar
from inpainting.cli.train import train
from tests.cli.helpers import TINY, TINY_DEMO, compose_config


@pytest.fixture(scope="module")
def tb_run(tmp_path_factory):
    pytest.importorskip("tensorboard", reason="the tensorboard package is not installed")
    out = tmp_path_factory.mktemp("tb") / "run"
    # 2 steps per epoch, validation after each step: two validations inside epoch 0
    cfg = compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, "logger=tensorboard",
                                   "trainer.max_epochs=1", "+trainer.val_check_interval=1"], out)
    summary = train(cfg)
    return out, summary


def test_tensorboard_writes_event_files(tb_run):
    out, _ = tb_run
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert events and all(e.stat().st_size > 0 for e in events)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = EventAccumulator(str(events[0].parent)).Reload().Tags()
    assert "val/psnr" in tags["scalars"] and "val/panel" in tags["images"]
    # the test tables: every row (the classical ones too) as scalars and as text; hyper-parameters for HPARAMS
    for row in ("JPGNet-Telea", "Input", "Telea", "Navier-Stokes", "Biharmonic"):
        assert f"test_rows/{row}/psnr/overall" in tags["scalars"], row
    assert "test/metrics/text_summary" in tags["tensors"]
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import plugin_data_pb2

    hparams = {}
    for event in (e for path in events for e in EventFileLoader(str(path)).Load()):
        for value in event.summary.value:
            if value.tag == "_hparams_/session_start_info":
                content = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                hparams.update(content.session_start_info.hparams)
    assert hparams["model/optimizer/lr"].number_value == pytest.approx(1e-3) and "seed" in hparams, sorted(hparams)[:20]


def test_mid_epoch_validations_keep_their_panels(tb_run):
    out, _ = tb_run
    panels = sorted(p.name for p in (out / "images").glob("val_*.png"))
    assert panels == ["val_epoch000_step0000001.png", "val_epoch000_step0000002.png"]


def test_curve_png_after_training(tb_run):
    out, _ = tb_run
    png = Image.open(out / "curves.png")
    assert 1 <= png.width / png.height <= 2.5  # a grid of at most 3 axes per row, not one long strip
    assert np.asarray(png.convert("L")).std() > 10  # drawn, not blank


def test_curves_put_each_kind_of_value_on_its_own_axis():
    from inpainting.callbacks.curves import curve_groups

    keys = ["train/loss_step", "train/loss_epoch", "train/pfunet_loss", "train/ssim", "train/l1", "train/iteration",
            "val/psnr", "val/psnr_0-20%", "val/ssim", "val/ssim_0-20%"]
    assert curve_groups(keys) == {"train losses": ["train/loss_epoch", "train/loss_step", "train/pfunet_loss"],
                                  "train/l1": ["train/l1"], "train/ssim": ["train/ssim"],
                                  "val/psnr": ["val/psnr", "val/psnr_0-20%"], "val/ssim": ["val/ssim", "val/ssim_0-20%"]}


def test_plot_curves_groups_train_and_val(tmp_path):
    path = tmp_path / "metrics.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["epoch", "step", "train/loss_step", "val/psnr", "val/psnr_0-20%"])
        writer.writeheader()
        writer.writerows([{"epoch": 0, "step": 1, "train/loss_step": 0.5}, {"epoch": 0, "step": 1, "val/psnr": 12,
                          "val/psnr_0-20%": 15}, {"epoch": 1, "step": 3, "val/psnr": 13, "val/psnr_0-20%": 16}])
    assert plot_curves(path, tmp_path / "c.png").is_file()
    empty = tmp_path / "empty.csv"
    empty.write_text("epoch,step\n")
    assert plot_curves(empty, tmp_path / "none.png") is None


def test_curves_draw_the_reference_rows_scored_on_the_validation_pairs(tmp_path):
    from types import SimpleNamespace

    from inpainting.data.bins import bin_names
    from inpainting.eval.classical import telea
    from inpainting.eval.metrics import BinnedInpaintingMetrics
    from tests.models.helpers import images_and_masks, loader

    image, mask = images_and_masks(count=3)
    trainer = SimpleNamespace(val_dataloaders=loader(image, mask, batches=2))
    edges = [0.0, 0.3, 0.6]  # the validation bins are the callback's own (the config's data.bin_edges)
    refs = CurvePlot(reference_rows=["telea"], bin_edges=edges, protocol="misf").references(trainer)
    expected = BinnedInpaintingMetrics(bin_names(edges))
    expected.update(telea(image, mask).repeat(2, 1, 1, 1), image.repeat(2, 1, 1, 1), mask.repeat(2, 1, 1, 1),
                    torch.zeros(6, dtype=torch.long))
    assert refs["Telea"]["val/psnr"] == pytest.approx(float(expected.compute()["psnr/overall"]), abs=1e-9)
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,step,val/psnr\n0,1,12\n1,3,13\n")
    plain = np.asarray(Image.open(plot_curves(path, tmp_path / "plain.png")))
    drawn = np.asarray(Image.open(plot_curves(path, tmp_path / "ref.png", {"Telea": {"val/psnr": 12.5}})))
    assert drawn.shape[1] == 2 * plain.shape[1]  # the reference line, plus a zoomed val/psnr panel
    assert (drawn[:, : plain.shape[1]] != plain).any()
    with pytest.raises(ValueError, match="unknown reference_rows"):
        CurvePlot(reference_rows=["photoshop"])


def test_panel_labels_and_colour_scale():
    image = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    mask = torch.zeros(2, 1, 16, 16)
    mask[0, :, :4] = 1  # 25% hole
    pred = image.clone()
    pred[0] = 0.5
    labels = tile_labels({"pred": pred}, image, mask)
    assert labels[0].startswith("hole 25% | ") and labels[0].endswith(" dB")
    assert labels[1] == "hole 0% | 100.0 dB"  # no hole: the capped PSNR
    columns = {"ground truth": image, "uncertainty": torch.linspace(0, 1, 16).expand(2, 1, 16, 16)}
    plain = labelled_panel({"ground truth": image}, "val | epoch 0 | step 2", labels, 6, 32)
    mapped = labelled_panel(columns, "val | epoch 0 | step 2", labels, 6, 32)
    assert mapped.height > plain.height  # the colour scale strip
    tile = np.asarray(mapped)[40:60, 32 + 4 * 2 + 4:32 * 2 + 4 * 2]  # inside the uncertainty column
    assert (tile[..., 0] != tile[..., 2]).any(), "single-channel maps are colourised"


def test_flat_maps_are_left_out_and_each_map_has_its_legend():
    image = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    labels = ["a", "b"]
    plain = labelled_panel({"ground truth": image}, "val", labels, 6, 32)
    flat = labelled_panel({"ground truth": image, "off-centre weight": torch.full((2, 1, 16, 16), 0.9)}, "val", labels, 6, 32)
    assert flat.width == plain.width and flat.height > plain.height  # no column, a line saying why
    both = labelled_panel({"ground truth": image, "uncertainty": torch.rand(2, 1, 16, 16),
                           "off-centre weight": torch.rand(2, 1, 16, 16)}, "val", labels, 6, 32)
    one = labelled_panel({"ground truth": image, "uncertainty": torch.rand(2, 1, 16, 16)}, "val", labels, 6, 32)
    assert both.height > one.height > plain.height  # a colour bar (with what its ends mean) per map


def test_panel_samples_cover_every_bin(tb_run):
    out, _ = tb_run
    from torch.utils.data import DataLoader

    from inpainting.callbacks.panel import _spread_items

    class Pairs:
        bins = [0] * 8 + [1] * 8 + [2] * 8  # eval sets list their pairs bin after bin

        def __len__(self):
            return len(self.bins)

        def __getitem__(self, i):
            return {"bin": self.bins[i]}

    picked = _spread_items(DataLoader(Pairs()), 6)["bin"].tolist()
    assert sorted(set(picked)) == [0, 1, 2] and len(picked) == 6
    assert (out / "images/test.png").is_file()


def test_progress_bar_shows_val_psnr():
    class Trainer:
        callback_metrics = {"val/psnr": torch.tensor(12.3456)}
        progress_bar_metrics = {}
        loggers = []

    items = ValueProgressBar(show=["val/psnr", "val/ssim"]).get_metrics(Trainer(), None)
    assert items["val/psnr"] == "12.346" and "val/ssim" not in items
