"""Data tier intent: PostgreSQL, Redis, buckets and application secrets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.base import Model

LlmProvider = Literal["openai", "anthropic", "openrouter", "google", "cohere"]


class PostgresConfig(Model):
    engine_version: Literal["15", "16", "17"] = "16"
    instance_class: str = Field(default="db.t4g.medium", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$")
    allocated_storage_gib: int = Field(default=20, ge=20, le=65536)
    max_allocated_storage_gib: int = Field(default=100, ge=20, le=65536)
    multi_az: bool = False
    backup_retention_days: int = Field(default=7, ge=1, le=35)


class RedisConfig(Model):
    engine: Literal["redis", "valkey"] = "redis"
    engine_version: str = "7.1"
    node_type: str = Field(default="cache.t4g.small", pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$")
    num_cache_clusters: int = Field(default=1, ge=1, le=6)
    automatic_failover: bool = False
    snapshot_retention_days: int = Field(default=1, ge=0, le=35)


class SecretsConfig(Model):
    llm_providers: list[LlmProvider] = Field(
        default_factory=list,
        description="Each provider's key is the secret config value '<provider>ApiKey' (pulumi config set --secret).",
    )
    recovery_window_days: int = Field(default=7, ge=0, le=30)


class DataTierConfig(Model):
    postgres: PostgresConfig = PostgresConfig()
    redis: RedisConfig = RedisConfig()
    secrets: SecretsConfig = SecretsConfig()
