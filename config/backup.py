"""Backup intent: schedules, retention, immutability and off-region copies."""

from __future__ import annotations

from pydantic import Field

from config.base import Model


class BackupConfig(Model):
    daily_retention_days: int = Field(default=7, ge=1, le=36500)
    dr_region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
