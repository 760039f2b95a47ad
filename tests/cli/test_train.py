"""End to end on the embedded photos: fast_dev_run, the demo's outputs, resume, evaluation."""
import csv
import json
import pathlib

import pytest
import torch

from inpainting.cli.evaluate import evaluate
from inpainting.cli.train import train
from tests.cli.helpers import TINY, TINY_DEMO, compose_config

DEMO = ["experiment=demo", *TINY, *TINY_DEMO]
MODEL = "JPGNet-Telea"
CLASSICAL = ["Telea", "Navier-Stokes", "Biharmonic"]


def test_fast_dev_run(tmp_path):
    cfg = compose_config("train", [*DEMO, "debug=fdr"], tmp_path / "run")
    summary = train(cfg)
    assert summary["global_step"] == 1
    assert (tmp_path / "run" / "config_resolved.yaml").is_file()
    assert not (tmp_path / "run" / "tables").exists(), "fast_dev_run skips the test phase"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One short demo run (1 epoch = 2 steps) shared by the output and resume tests."""
    out = tmp_path_factory.mktemp("demo") / "run"
    cfg = compose_config("train", [*DEMO, "trainer.max_epochs=1"], out)
    with pytest.MonkeyPatch.context() as patch:  # no LPIPS backbone on disk, whatever this machine has
        patch.setattr(torch.hub, "_hub_dir", str(out.parent / "empty_hub"))
        return out, train(cfg)


def test_demo_writes_run_folder(demo_run):
    out, summary = demo_run
    for rel in ["config_resolved.yaml", "checkpoints/last.ckpt", "csv/metrics.csv", "results.json",
                "tables/test_metrics.md", "tables/test_metrics.csv", "tables/test_per_image.csv",
                "images/test.png", "images/val_epoch000_step0000002.png", "curves.png"]:
        assert (out / rel).is_file(), f"missing {rel}"
    table = (out / "tables/test_metrics.md").read_text()
    for row in ("Input", MODEL, *CLASSICAL):
        assert f"| {row}" in table
    for bin_name in ("0-20%", "20-40%", "40-60%"):
        assert bin_name in table
    # LPIPS is part of the protocol; without the VGG16 trunk it is reported, never faked
    assert "LPIPS" in table and "n/a (weights missing: vgg16-397923af.pth)" in table
    with open(out / "tables/test_metrics.csv") as handle:
        rows = list(csv.reader(handle))
    assert [r[0] for r in rows[1:]] == ["Input", MODEL, *CLASSICAL]
    with open(out / "tables/test_per_image.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 6  # 2 images x 3 bins
    assert summary["global_step"] == 2


def test_filter_beats_input_row(demo_run):
    out, _ = demo_run
    with open(out / "tables/test_metrics.csv") as handle:
        rows = {r[0]: r for r in csv.reader(handle)}
    header = list(rows["method"]) if "method" in rows else None
    assert header is not None
    psnr = header.index(next(h for h in header if h.startswith("psnr")))
    assert float(rows[MODEL][psnr]) > float(rows["Input"][psnr])


def test_resume_continues_step_count(demo_run, tmp_path):
    first, _ = demo_run
    cfg = compose_config("train", [*DEMO, "trainer.max_epochs=2", f"ckpt_path={first}", "test=false"], tmp_path / "resumed")
    summary = train(cfg)
    assert summary["global_step"] == 4, "resumed from step 2, one more epoch of 2 steps"
    state = torch.load(tmp_path / "resumed/checkpoints/last.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] == 4 and state["epoch"] == 1


def test_last_checkpoint_follows_every_epoch(tmp_path):
    # the monitored metric need not improve for last.ckpt to move on (3 epochs of 2 steps)
    cfg = compose_config("train", [*DEMO, "trainer.max_epochs=3", "test=false", "model.optimizer.lr=0"], tmp_path / "run")
    train(cfg)
    state = torch.load(tmp_path / "run/checkpoints/last.ckpt", map_location="cpu", weights_only=True)
    assert state["global_step"] == 6 and state["epoch"] == 2


def test_resume_from_missing_checkpoint_is_clear(tmp_path):
    cfg = compose_config("train", [*DEMO, f"ckpt_path={tmp_path / 'nope.ckpt'}"], tmp_path / "run")
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        train(cfg)


def test_evaluate_run_folder(demo_run, tmp_path):
    first, summary = demo_run
    cfg = compose_config("eval", [*TINY, f"ckpt_path={first}"], tmp_path / "eval")
    result = evaluate(cfg)
    assert pathlib.Path(tmp_path / "eval/tables/test_metrics.md").is_file()
    assert result["metrics"]["test/psnr"] == pytest.approx(summary["metrics"]["test/psnr"], abs=1e-6)
    # results.json is the one result file: the test's tables and the last logged values, of the run and of this
    final = {d: json.loads((d / "results.json").read_text())["final_metrics"] for d in (first, tmp_path / "eval")}
    assert final[first] == pytest.approx(summary["metrics"]) and "val/psnr" in final[first]
    assert final[tmp_path / "eval"] == pytest.approx(result["metrics"]) and "test/psnr" in final[tmp_path / "eval"]
    assert not (first / "metrics.json").exists() and not (tmp_path / "eval/metrics.json").exists()
    # the training-time table, comparison rows included (the demo's Telea, Navier-Stokes, biharmonic)
    ours, theirs = ((d / "tables/test_metrics.md").read_text().split("\n", 1)[1] for d in (tmp_path / "eval", first))
    assert "| Telea" in theirs and ours == theirs


def test_checkpoint_hyperparameters_are_plain_values(demo_run):
    # Hydra hands mappings over as DictConfig; weights_only=True loading must still accept the file
    from omegaconf import OmegaConf

    from inpainting.models.base import _plain

    assert _plain({"a": OmegaConf.create({"b": [1, 2]})}) == {"a": {"b": [1, 2]}}
    out, _ = demo_run
    torch.load(out / "checkpoints/last.ckpt", map_location="cpu", weights_only=True)


def test_panel_columns_show_filter_maps():
    from inpainting.callbacks.drawing import panel_columns

    image, mask = torch.rand(2, 3, 16, 16), torch.zeros(2, 1, 16, 16)
    kernels = torch.zeros(2, 27, 16, 16)
    kernels[:, 4::9] = 1.0  # identity filters: all weight on the centre tap
    columns = panel_columns({"pred": image, "kernels": kernels, "uncertainty": torch.rand(2, 1, 16, 16)}, image, mask)
    assert list(columns)[:4] == ["masked input", "output", "composite", "ground truth"]
    assert torch.allclose(columns["off-centre weight"], torch.zeros(2, 1, 16, 16))
    kernels[:, 0::9] = 1.0  # half the weight moves to the top-left tap
    columns = panel_columns({"pred": image, "kernels": kernels}, image, mask)
    assert torch.allclose(columns["off-centre weight"], torch.full((2, 1, 16, 16), 0.5))
    wide = torch.zeros(2, 75, 16, 16)
    wide[:, 12::25] = 1.0  # 5x5 identity filters: the taps per channel come from the kernels' shape
    columns = panel_columns({"pred": image, "kernels": wide}, image, mask)
    assert torch.allclose(columns["off-centre weight"], torch.zeros(2, 1, 16, 16))


def test_lpips_is_scored_when_the_backbone_is_on_disk(standin_vgg16, tmp_path):
    cfg = compose_config("train", [*DEMO, "trainer.max_epochs=1", "test=true"], tmp_path / "run")
    summary = train(cfg)
    lpips = {k: v for k, v in summary["metrics"].items() if k.startswith("test/lpips")}
    assert set(lpips) == {"test/lpips", "test/lpips_0-20%", "test/lpips_20-40%", "test/lpips_40-60%"}
    assert all(v > 0 for v in lpips.values())
    assert "n/a" not in (tmp_path / "run/tables/test_metrics.md").read_text()


def test_fid_per_bin_in_the_test_tables(standin_inception_weights, tmp_path):
    cfg = compose_config("train", [*DEMO, "trainer.max_epochs=1", "metrics.fid=true", "metrics.fid_min_images=2", "metrics.fid_features=64",
                                   "metrics.lpips=false"], tmp_path / "run")
    train(cfg)
    with open(tmp_path / "run/tables/test_metrics.csv") as handle:
        rows = {r["method"]: r for r in csv.DictReader(handle)}
    for method in ("Input", MODEL):
        values = [float(rows[method][f"fid/{b}"]) for b in ("0-20%", "20-40%", "40-60%", "overall")]
        assert all(v > 0 for v in values), (method, values)
    # holes left black are further from the real images than the filter's output
    assert float(rows["Input"]["fid/overall"]) > float(rows[MODEL]["fid/overall"])
    assert float(rows["Telea"]["fid/overall"]) > 0  # the classical rows are scored like every row


def test_wandb_offline_run_logs_panels_and_table(tmp_path):
    import numpy as np
    from PIL import Image

    cfg = compose_config("train", [*DEMO, "trainer.max_epochs=1", "logger=wandb", "metrics.lpips=false"], tmp_path / "run")
    train(cfg)
    runs = list((tmp_path / "run/wandb").glob("offline-run-*"))
    assert len(runs) == 1, "offline by default: the run stays on disk"
    media = runs[0] / "files" / "media"
    panels = sorted((media / "images").rglob("panel_*.png"))
    assert {p.parent.name for p in panels} == {"val", "test"}
    # wandb casts float arrays with a bare uint8 cast (all black); ours are converted first
    assert all(np.asarray(Image.open(p)).mean() > 20 for p in panels)
    assert list((media / "table").rglob("*.json")), "per-bin test table"
    assert (tmp_path / "run/wandb_id.txt").read_text().strip() in runs[0].name


def test_fid_without_inception_weights_is_reported_not_faked(hub_dir, tmp_path):
    cfg = compose_config("train", [*DEMO, "trainer.max_epochs=1", "metrics.fid=true", "metrics.lpips=false"],
                         tmp_path / "run")
    train(cfg)
    table = (tmp_path / "run/tables/test_metrics.md").read_text()
    assert "FID" in table and "n/a (weights missing: weights-inception-2015-12-05-6726825d.pth)" in table


def test_python_trainer_test_writes_the_cli_tables(standin_vgg16, tmp_path):
    # the report is a callback: trainer.test() from Python writes what inpaint-train writes. Its backbones
    # (LPIPS VGG16, FID Inception) are hundreds of MB: built only when testing starts, never for training
    from inpainting.cli.common import build_run, find_test_report

    cfg = compose_config("train", [*DEMO, "trainer.max_epochs=1", "logger=none"], tmp_path / "run")
    run = build_run(cfg)
    run.trainer.fit(run.model, datamodule=run.datamodule)
    report = find_test_report(run.trainer)
    assert report.scorer is None and not (tmp_path / "run/tables").exists()
    run.trainer.test(run.model, datamodule=run.datamodule)
    assert "lpips" in report.scorer.scores[report.scorer.rows.index(MODEL)].extra_scorers
    for rel in ("tables/test_metrics.md", "tables/test_metrics.csv", "tables/test_per_image.csv", "results.json"):
        assert (tmp_path / "run" / rel).is_file(), rel
    saved = json.loads((tmp_path / "run/results.json").read_text())
    assert set(saved["methods"]) == {"Input", MODEL, "Telea", "Navier-Stokes", "Biharmonic"} and saved["counts"]["overall"] == 6
    # the row the callback was configured with (model.method_name) is the one it logs
    assert saved["method"] == MODEL == report.method_name
    assert saved["methods"][MODEL]["psnr"]["overall"] == pytest.approx(float(run.trainer.callback_metrics["test/psnr"]))


def test_test_masks_in_no_bin_are_named_in_the_report(tmp_path):
    # a mask file whose hole ratio no bin holds is left out of the test pairs: the counts alone would hide
    # it, so the table says so and results.json lists it
    import numpy as np
    from PIL import Image

    from inpainting.cli.common import build_run

    masks = tmp_path / "masks"
    masks.mkdir()
    for name, rows in {"a_10": 3, "b_30": 10, "c_50": 16, "d_90": 29}.items():  # of 32 rows: ~10, ~30, 50, ~90 % holes
        pixels = np.zeros((32, 32), np.uint8)
        pixels[:rows] = 255
        Image.fromarray(pixels).save(masks / f"{name}.png")
    cfg = compose_config("train", [*DEMO, "logger=none", "metrics.lpips=false", "callbacks.test_report.classical_rows=[]",
                                   f"+data.test_masks={{_target_: inpainting.data.MaskFiles, root: {masks}}}"],
                         tmp_path / "run")
    run = build_run(cfg)
    run.trainer.test(run.model, datamodule=run.datamodule)
    saved = json.loads((tmp_path / "run/results.json").read_text())
    assert [name for name, _ in saved["excluded"]] == [str(masks / "d_90.png")]
    assert saved["excluded"][0][1] == pytest.approx(29 / 32)
    assert all(saved["counts"][b] > 0 for b in ("0-20%", "20-40%", "40-60%"))
    table = (tmp_path / "run/tables/test_metrics.md").read_text()
    assert f"Left out: 1 test mask(s) whose hole ratio falls in no bin of 0-20%, 20-40%, 40-60% (first: {masks / 'd_90.png'}, 90.62%)" in table


def test_saved_test_outputs_score_to_the_run_tables(tmp_path):
    # one engine: scoring a run's saved composites with inpaint-eval gives that run's tables
    run_dir = tmp_path / "run"
    train(compose_config("train", [*DEMO, "trainer.max_epochs=1", "save_predictions=true", "metrics.lpips=false",
                                   "callbacks.test_report.classical_rows=[]"], run_dir))  # saved outputs hold the model's only
    outputs = run_dir / "test_outputs"
    assert len(list((outputs / "predictions").rglob("*.tiff"))) == 6
    cfg = compose_config("eval", [*TINY, f"predictions={outputs / 'predictions'}", f"images={outputs / 'images'}",
                                  f"masks={outputs / 'masks'}", f"method_name={MODEL}", "metrics.lpips=false"],
                         tmp_path / "eval")
    evaluate(cfg)
    ours, theirs = ((d / "tables/test_metrics.md").read_text().split("\n", 1)[1] for d in (tmp_path / "eval", run_dir))
    assert ours == theirs  # all but the title line, which names the run
    ours, theirs = (list(csv.reader((d / "tables/test_metrics.csv").open())) for d in (tmp_path / "eval", run_dir))
    assert [r[0] for r in ours] == [r[0] for r in theirs] and ours[0] == theirs[0]
    # float64 means over the same images, summed in another order (sorted file names): equal to rounding
    assert [[float(c) for c in r[1:]] for r in ours[1:]] == [pytest.approx([float(c) for c in r[1:]], rel=1e-12)
                                                             for r in theirs[1:]]
    run_json, eval_json = (json.loads((d / "results.json").read_text()) for d in (run_dir, tmp_path / "eval"))
    assert eval_json["counts"] == run_json["counts"] and eval_json["methods"].keys() == run_json["methods"].keys()
    for row, metrics in run_json["methods"].items():
        for metric, values in metrics.items():
            assert eval_json["methods"][row][metric] == pytest.approx(values, rel=1e-12), (row, metric)
    assert json.loads((tmp_path / "eval/status.json").read_text())["status"] == "ok"
    assert eval_json["predictions"] == {MODEL: str(outputs / "predictions")} and "final_metrics" not in eval_json
