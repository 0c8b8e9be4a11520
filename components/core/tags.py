"""The one tag set every taggable AWS resource receives, set explicitly in its inputs.

Tags are set per resource (not by a stack transform) so policy checks and cost reports see them
in the resource inputs exactly as AWS will.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

BACKUP_PLAN_TAG = "backup-plan"
ROLE_TAG = "agent-platform/role"
# Declared on Auto Scaling groups for the cost estimate, which cannot see either from the plan otherwise:
# a group that runs once per change and scales itself to 0, and the custom metrics its instances publish.
CAPACITY_TAG = "agent-platform/capacity"
RUN_ONCE = "run-once"
CUSTOM_METRICS_TAG = "agent-platform/custom-metrics"


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
