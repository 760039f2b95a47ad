"""CLI rough edges: each command's own --help, a one-line message for a missing required option, and
inpaint-eval testing on the run's own data config unless data= is given."""
import sys

import pytest
import yaml
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict

from inpainting.cli import check_data as check_data_cli
from inpainting.cli import evaluate as eval_cli
from inpainting.cli import export as export_cli
from inpainting.cli import predict as predict_cli
from inpainting.cli import rtv as rtv_cli
from inpainting.cli import timing as timing_cli
from inpainting.cli import train as train_cli
from inpainting.cli import webdemo as webdemo_cli
from inpainting.utils.run_folder import RunFolder
from tests.cli.helpers import compose_config


def run_cli(main, argv, monkeypatch, cwd):
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", argv)
    GlobalHydra.instance().clear()
    try:
        return main()
    finally:
        GlobalHydra.instance().clear()


@pytest.mark.parametrize("main, name, expected, unexpected", [
    (train_cli.main, "inpaint-train", ["hparams_search: demo_optuna", "experiment=demo logger=tensorboard"], []),
    (eval_cli.main, "inpaint-eval", ["ckpt_path", "data=<name>", "predictions=out images=photos"], ["experiment:"]),
    (predict_cli.main, "inpaint-predict", ["model.source=", "telea | ns | biharmonic", "hole_is_white", "10_mask.png"],
     ["experiment:", "trainer", "???"]),
    (export_cli.main, "inpaint-export", ["model.source=", "output_dir=", "height=256", "third input"],
     ["experiment:", "trainer", "hparams_search"]),
    (check_data_cli.main, "inpaint-check-data", ["data=<name>", "max_images=N", "Exit status 0"],
     ["experiment:", "trainer", "model"]),
    (rtv_cli.main, "inpaint-rtv", ["experiment=<name>", "splits=[train,val,test]", "force=true"],
     ["hparams_search", "trainer:", "powered by Hydra"]),
    (timing_cli.main, "inpaint-timing", ["device=<name>", "dgnets=[telea,ns]", "image_size=256"],
     ["experiment", "trainer", "data="]),
    (webdemo_cli.main, "inpaint-webdemo", ["models={NAME:<source>,...}", "official=", "port=7860"],
     ["experiment", "trainer", "data="]),
])
def test_help_is_the_commands_own(main, name, expected, unexpected, capsys, monkeypatch, tmp_path):
    with pytest.raises(SystemExit) as stop:
        run_cli(main, [name, "--help"], monkeypatch, tmp_path)
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{name}: ") and "powered by Hydra" not in text
    assert all(e in text for e in expected) and not any(u in text for u in unexpected)


def test_missing_required_option_is_one_line(capsys, monkeypatch, tmp_path):
    with pytest.raises(SystemExit) as stop:
        run_cli(predict_cli.main, ["inpaint-predict", "images=a.jpg", "masks=a.png", "model.source=telea"],
                monkeypatch, tmp_path)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["inpaint-predict: missing required option(s): output_dir=...  (see inpaint-predict --help)"]
    assert list(tmp_path.iterdir()) == [], "nothing written into the working directory"


def fake_run(folder, data_dir):
    """A run folder as inpaint-train leaves it: unresolved .hydra/config.yaml and config_resolved.yaml."""
    data = {"_target_": "inpainting.data.InpaintingDataModule", "root": "${paths.data_dir}/places2", "image_size": 256}
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra/config.yaml").write_text(yaml.safe_dump({"data": data}))
    resolved = dict(data, root=f"{data_dir}/places2")
    (folder / "config_resolved.yaml").write_text(yaml.safe_dump({"data": resolved, "model": {}}))
    (folder / "checkpoints").mkdir()
    return str(folder / "checkpoints/best.ckpt")


def test_eval_uses_the_runs_data_config(tmp_path):
    ckpt = fake_run(tmp_path / "run", "/train/machine/data")
    run = RunFolder.of(ckpt)
    assert run.root == (tmp_path / "run").resolve() and RunFolder.of(tmp_path / "run").root == run.root
    cfg = compose_config("eval", ["paths.data_dir=/here", "ckpt_path=x"], tmp_path / "eval")
    data = run.data_config(cfg)
    with open_dict(cfg):
        cfg.data = data  # as inpaint-eval does: interpolations resolve against this command's paths
    assert cfg.data.root == "/here/places2" and cfg.data.image_size == 256  # the run's data, moved by paths.data_dir
    assert run.data_config(cfg, ["data.image_size=64"]).image_size == 64
    (tmp_path / "run/.hydra/config.yaml").unlink()
    assert run.data_config(cfg).root == "/train/machine/data/places2"  # resolved fallback
    assert RunFolder.of(tmp_path / "elsewhere.ckpt") is None  # an authors' file: no run to read


def test_eval_scores_predicts_outputs_and_bad_input_is_one_line(capsys, monkeypatch, tmp_path):
    """predict and eval share the size rule: a 48x32 mask for a 72x48 photo is resized in both; several
    prediction folders make one table; a prediction of another size is one line on stderr, exit status 2."""
    import numpy as np
    from PIL import Image

    for sub in ("photos", "masks"):
        (tmp_path / sub).mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 72, 3), dtype=np.uint8)).save(tmp_path / "photos/a.png")
    hole = np.zeros((32, 48), np.uint8)
    hole[8:20, 10:30] = 255
    Image.fromarray(hole).save(tmp_path / "masks/a.png")
    for source in ("telea", "ns"):
        run_cli(predict_cli.main, ["inpaint-predict", "images=photos", "masks=masks", f"output_dir={source}",
                                   f"model.source={source}", "progress=false"], monkeypatch, tmp_path)
    assert Image.open(tmp_path / "telea/a.png").size == (72, 48)
    run_cli(eval_cli.main, ["inpaint-eval", "predictions=[telea,ns]", "images=photos", "masks=masks",
                            "hydra.run.dir=scored"], monkeypatch, tmp_path)
    table = (tmp_path / "scored/tables/test_metrics.md").read_text()
    assert all(f"| {row} " in table for row in ("Input", "telea", "ns")) and "Images per bin: 0-20%: 1" in table
    Image.fromarray(rng.integers(0, 255, (40, 72, 3), dtype=np.uint8)).save(tmp_path / "ns/a.png")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_cli(eval_cli.main, ["inpaint-eval", "predictions=ns", "images=photos", "masks=masks", "hydra.run.dir=bad"],
                monkeypatch, tmp_path)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("inpaint-eval: error: ns/a.png: prediction of 72x40, its image"), err


def test_train_log_holds_the_runs_log_lines(monkeypatch, tmp_path):
    """Lightning's lines and one line per validation reach <run>/train.log, not only the console."""
    from tests.cli.helpers import TINY, TINY_DEMO

    run_cli(train_cli.main, ["inpaint-train", "experiment=demo", *TINY, *TINY_DEMO, "trainer.max_epochs=1", "test=false",
                             "hydra.run.dir=run"], monkeypatch, tmp_path)
    text = (tmp_path / "run/train.log").read_text()
    assert "[lightning.pytorch" in text and "`Trainer.fit` stopped: `max_epochs=1` reached" in text
    assert "validation at epoch 0, step 2: val/l1=" in text and "val/psnr=" in text
