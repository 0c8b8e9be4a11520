"""Edge intent: public entry point, TLS, WAF and rate limits."""

from __future__ import annotations

from pydantic import Field

from config.base import Model


class EdgeConfig(Model):
    domain: str | None = Field(default=None, description="Public DNS name the services are served under.")
    idle_timeout_seconds: int = Field(default=300, ge=1, le=4000, description="Long enough for slow LLM calls.")
