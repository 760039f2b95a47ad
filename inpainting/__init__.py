"""Predictive-filtering image inpainting (JPGNet, MISF) with PyTorch Lightning and Hydra."""
import os

# albumentations (data.augment) asks PyPI for a newer version on every import unless this is set;
# set before any albumentations import, a user's own value kept
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
from omegaconf import OmegaConf

from inpainting import _tvshim

# the torchvision wheel on PyPI is CUDA-built: on CPU torch it cannot be imported without this hook (see
# _tvshim); installed here, before any submodule imports torchvision, so an installed wheel runs as is
_tvshim.install()

# `${inpainting_cwd:}`: the launch directory. `${hydra:runtime.cwd}` cannot serve as the default of
# paths.root_dir: a sweeper resolves hydra.sweep.dir before HydraConfig exists ("HydraConfig was not set").
OmegaConf.register_new_resolver("inpainting_cwd", os.getcwd, replace=True)


def __getattr__(name: str):
    # `from inpainting import load_model`: the API module is imported on first use, so that
    # `import inpainting` (done by every submodule) stays light
    if name in ("load_model", "Inpainter"):
        from inpainting import api

        return getattr(api, name)
    raise AttributeError(f"module 'inpainting' has no attribute {name!r}")
