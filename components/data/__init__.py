"""Layer 2: PostgreSQL, Redis, buckets, secrets and the database bootstrap (Kubernetes Job or one-shot VM)."""
