"""Launch glue: DDP child ranks under Hydra, a local device-pool sweep launcher, a CSV logger that resumes."""
