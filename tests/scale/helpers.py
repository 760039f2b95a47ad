"""Run the real entry point in a subprocess (DDP child ranks re-run it), with tiny settings."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
# the demo (JPGNet over Telea) at 32x32, 1/8 width, 2 training steps per epoch; val: 1 image x 3 bins = 3 pairs
# (odd: a padding sampler would repeat one under 2 ranks); test: 2 images x 3 bins
TINY_RUN = [
    "experiment=demo", "extras.print_config=false", "data.image_size=32", "data.samples_per_epoch=16",
    "data.batch_size=8", "data.images_per_bin=1", "data.eval_batch_size=2", "model.pfunet.kpn.width=0.125", "model.fusion.width=0.125",
    "callbacks.progress_bar.refresh_rate=0", "callbacks.image_panel=null", "trainer.max_epochs=1",
]


def run_cli(args: list[str], timeout: int = 240, script: list[str] | None = None) -> subprocess.CompletedProcess:
    """``python -m inpainting.cli.train <args>`` (or ``script``) from the repo root; output captured."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "offline", "PYTHONPATH": str(REPO),
           "OMP_NUM_THREADS": "1", "HYDRA_FULL_ERROR": "1"}
    command = [sys.executable] + (script or ["-m", "inpainting.cli.train"]) + args
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def single_folder(root: pathlib.Path) -> pathlib.Path:
    """The one run folder under ``<log_dir>/<run_name>/runs``."""
    folders = sorted(root.glob("*/runs/*"))
    assert len(folders) == 1, folders
    return folders[0]
