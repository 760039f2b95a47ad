"""Configs and experiment data are found in a checkout and ship inside the wheel (``inpainting/conf``)."""
import subprocess
import sys
import zipfile

import pytest

from inpainting.utils import resources


def test_config_root_resolves_through_the_resource_helper():
    assert (resources.CONFIG_DIR / "train.yaml").is_file() and (resources.CONFIG_DIR / "experiment/demo.yaml").is_file()
    assert (resources.EXPERIMENTS_DIR / "tables/misf_table3.yaml").is_file()
    from inpainting.cli.common import CONFIG_DIR

    assert CONFIG_DIR == resources.CONFIG_DIR


def test_outside_a_checkout_the_package_copy_is_used_or_the_error_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "_SOURCE_ROOT", tmp_path)  # no pyproject.toml, no conf/: like site-packages
    try:
        found = resources.resource_dir("conf")
    except FileNotFoundError as error:  # running from a checkout: inpainting.conf is not importable
        assert "inpainting.conf is not installed" in str(error)
    else:
        # the installed package's conf (an editable install maps inpainting.conf onto the checkout's conf/)
        assert (found / "train.yaml").is_file() and found.name == "conf"


def test_the_torchvision_hook_runs_once_with_both_copies_installed():
    """``make install``'s .pth copy and the package's own hook meet in the dev venv: one of them acts, silently."""
    done = subprocess.run([sys.executable, "-c", "import inpainting, torchvision"], capture_output=True, text=True)
    assert done.returncode == 0 and "tvshim" not in done.stderr, done.stderr


@pytest.mark.slow
def test_the_wheel_holds_the_configs_and_experiments(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(resources._SOURCE_ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path)], check=True)
    (wheel,) = tmp_path.glob("pfinpaint-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("inpainting/conf/train.yaml", "inpainting/conf/eval.yaml", "inpainting/conf/experiment/demo.yaml",
                 "inpainting/conf/metrics/default.yaml", "inpainting/experiments/tables/misf_table3.yaml",
                 "inpainting/experiments/paper_tables/misf_table2.yaml", "inpainting/nets/misf/adapter.py",
                 "hydra_plugins/inpainting_launchers/device_pool_launcher.py"):
        assert name in names, name
    # exactly the tree's configs: none of conf/local/ (machine-specific, untracked), no stale copy of a deleted
    # file (setuptools reuses an existing build/ folder: delete it when this fails)
    root = resources._SOURCE_ROOT / "conf"
    tree = {f"inpainting/conf/{p.relative_to(root)}" for p in root.rglob("*.yaml") if p.relative_to(root).parts[0] != "local"}
    assert {n for n in names if n.startswith("inpainting/conf/") and n.endswith(".yaml")} == tree


@pytest.mark.slow
def test_an_installed_wheel_runs_from_an_empty_folder(tmp_path):
    """The wheel alone, in a fresh venv with the CPU pins: train the demo, predict and score from a folder
    that is not the checkout (the torchvision hook and the configs must come with the wheel)."""
    import os

    import numpy as np
    from PIL import Image

    source = resources._SOURCE_ROOT
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist")], check=True)
    (wheel,) = (tmp_path / "dist").glob("pfinpaint-*.whl")
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    subprocess.run([str(env_dir / "bin/python"), "-m", "pip", "install", "-q", "-c", str(source / "constraints-cpu.txt"),
                    str(wheel)], check=True)
    work = tmp_path / "empty"
    (work / "photos").mkdir(parents=True)
    (work / "masks").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 72, 3), dtype=np.uint8)).save(work / "photos/a.png")
    hole = np.zeros((48, 72), np.uint8)
    hole[10:30, 20:50] = 255
    Image.fromarray(hole).save(work / "masks/a.png")
    # the child must not find the checkout: no PYTHONPATH, run from a folder outside it
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(NO_ALBUMENTATIONS_UPDATE="1", WANDB_MODE="offline", OMP_NUM_THREADS="1")

    def run(*args):
        done = subprocess.run([str(env_dir / "bin" / args[0]), *args[1:]], cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    run("python", "-c", "import inpainting, sys; assert 'site-packages' in inpainting.__file__, inpainting.__file__")
    run("inpaint-train", "experiment=demo", "trainer.max_epochs=1", "data.samples_per_epoch=16", "data.images_per_bin=1",
        "hydra.run.dir=run")
    assert (work / "run/tables/test_metrics.md").is_file()
    run("inpaint-predict", "images=photos", "masks=masks", "output_dir=out", "model.source=run")
    assert Image.open(work / "out/a.png").size == (72, 48)
    run("inpaint-eval", "ckpt_path=run", "data.images_per_bin=1", "hydra.run.dir=eval_ckpt")
    assert (work / "eval_ckpt/tables/test_metrics.md").is_file()
    run("inpaint-eval", "predictions=out", "images=photos", "masks=masks", "hydra.run.dir=eval_saved")
    assert "| out" in (work / "eval_saved/tables/test_metrics.md").read_text()
