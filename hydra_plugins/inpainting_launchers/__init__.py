"""Hydra launcher plugins of the inpainting framework (``hydra/launcher=device_pool``)."""
