"""LightningModules (how each family trains) and their callbacks; networks and adapters live in ``inpainting.nets``."""
