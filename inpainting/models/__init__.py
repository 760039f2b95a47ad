"""LightningModules, per-network adapters and callbacks."""
