"""Shipped inside the package as ``inpainting.conf`` (see setup.py); data only."""
