"""Budget intent: the monthly spend an environment is allowed."""

from __future__ import annotations

from pydantic import Field

from config.base import Model


class CostConfig(Model):
    monthly_budget_usd: float = Field(default=500, gt=0)
