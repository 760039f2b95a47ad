"""Command-line entry points (Hydra apps)."""
