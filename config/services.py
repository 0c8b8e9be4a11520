"""Agent services: one entry per API or worker, each deployed by AgentService."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import Model


class ServiceConfig(Model):
    kind: Literal["api", "worker"]
    image: str | None = Field(
        default=None, description="Registry image reference; protected tiers need @sha256 digests."
    )
    port: int = Field(default=8000, ge=1024, le=65535)
    replicas: int = Field(default=2, ge=1, le=100)
    min_replicas: int = Field(default=2, ge=1, le=100)
    max_replicas: int = Field(default=6, ge=1, le=500)

    @model_validator(mode="after")
    def _scale(self) -> ServiceConfig:
        if not self.min_replicas <= self.replicas <= self.max_replicas:
            raise ValueError(
                f"replicas must satisfy minReplicas <= replicas <= maxReplicas "
                f"(got {self.min_replicas} <= {self.replicas} <= {self.max_replicas})"
            )
        return self
