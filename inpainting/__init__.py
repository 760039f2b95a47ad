"""Predictive-filtering image inpainting (JPGNet, MISF) with PyTorch Lightning and Hydra."""
import os

# albumentations (data.augment) asks PyPI for a newer version on every import unless this is set;
# set before any albumentations import, a user's own value kept
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
