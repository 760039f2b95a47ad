"""Custom operators: per-pixel predictive filtering (JPGNet/MISF) and StructureFlow's Gaussian sampler."""
from inpainting.ops.filtering import IMPLEMENTATIONS, PADDINGS, predictive_filter
from inpainting.ops.resample2d import Resample2d, resample2d, resample2d_reference

__all__ = ["IMPLEMENTATIONS", "PADDINGS", "predictive_filter", "Resample2d", "resample2d",
           "resample2d_reference"]
