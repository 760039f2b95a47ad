"""Compose the project's Hydra configs in tests, with run folders under ``tmp_path``."""
from __future__ import annotations

import pathlib

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from inpainting.cli.common import CONFIG_DIR

# small enough for a 2-core CI machine: a 32x32 PFUNet at 1/8 width, two batches per epoch
TINY = [
    "scale=demo",  # demo data, CPU, per-epoch validation, whatever the experiment's paper recipe says
    "extras.print_config=false",
    "data.image_size=32",
    "data.samples_per_epoch=16",
    "data.batch_size=8",
    "data.images_per_bin=2",
    "data.eval_batch_size=6",
    "callbacks.progress_bar.refresh_rate=0",
]
# the demo (JPGNet over Telea, PFUNet and UAFNet trained together) at 1/8 width
TINY_DEMO = ["model.pfunet.kpn.width=0.125", "model.fusion.width=0.125"]


def compose_config(name: str, overrides: list[str], output_dir: pathlib.Path) -> DictConfig:
    """Compose ``conf/<name>.yaml`` as Hydra would, with ``paths.output_dir`` set to ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name=name, overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.log_dir = str(output_dir.parent)
        del cfg["hydra"]
    return cfg
