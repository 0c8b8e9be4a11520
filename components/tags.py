"""The one tag set every taggable AWS resource receives, set explicitly in its inputs.

Tags are set per resource (not by a stack transform) so policy checks and cost reports see them
in the resource inputs exactly as AWS will.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agent_contract.tags import BACKUP_PLAN_TAG, CAPACITY_TAG, CUSTOM_METRICS_TAG, ROLE_TAG, RUN_ONCE

__all__ = ["BACKUP_PLAN_TAG", "CAPACITY_TAG", "CUSTOM_METRICS_TAG", "ROLE_TAG", "RUN_ONCE", "Tagger"]


@dataclass(frozen=True)
class Tagger:
    project: str
    stack: str
    environment: str
    owner: str
    cost_center: str
    extra: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, component: str, *, backup_plan: str | None = None, role: str | None = None,
                 **more: str) -> dict[str, str]:
        """Tags for one resource of ``component``; ``backup_plan`` opts it into AWS Backup selections."""
        tags = {
            "project": self.project,
            "stack": self.stack,
            "environment": self.environment,
            "component": component,
            "owner": self.owner,
            "cost-center": self.cost_center,
            **self.extra,
            **more,
        }
        if backup_plan:
            tags[BACKUP_PLAN_TAG] = backup_plan
        if role:
            tags[ROLE_TAG] = role
        return tags
