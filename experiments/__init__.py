"""Shipped inside the package as ``inpainting.experiments`` (see setup.py); data only."""
