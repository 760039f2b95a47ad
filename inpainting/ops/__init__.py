"""Filtering operators (per-pixel predictive filtering)."""
from inpainting.ops.filtering import IMPLEMENTATIONS, PredictiveFilter, predictive_filter

__all__ = ["IMPLEMENTATIONS", "PredictiveFilter", "predictive_filter"]
