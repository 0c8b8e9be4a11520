"""Observability intent: metrics retention, alert routing and log retention."""

from __future__ import annotations

from pydantic import Field

from config.base import Model


class ObservabilityConfig(Model):
    log_retention_days: int = Field(default=30, ge=1, le=3653)
    alert_emails: list[str] = Field(default_factory=list)
