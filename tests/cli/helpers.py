"""Compose the project's Hydra configs in tests, with run folders under ``tmp_path``."""
from __future__ import annotations

import pathlib

from omegaconf import DictConfig, OmegaConf, open_dict

from inpainting.utils.resources import compose

# small enough for a 2-core CI machine: a 32x32 PFUNet at 1/8 width, two batches per epoch
TINY = [
    "scale=demo",  # demo data, CPU, per-epoch validation, whatever the experiment's paper recipe says
    "~scale_model",  # but not scale=demo's network narrowing (conf/scale_model/): each test picks its sizes
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
    cfg = compose(name, overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.log_dir = str(output_dir.parent)
        del cfg["hydra"]
    return cfg


def data_config(name: str) -> DictConfig:
    """``conf/data/<name>.yaml`` with its shared parts merged, as a stand-alone node (``${paths.*}`` unresolved)."""
    return OmegaConf.create(OmegaConf.to_container(compose("train", [f"data={name}"]).data))
