"""Launch glue: DDP child ranks under Hydra, a local device-pool sweep launcher."""
