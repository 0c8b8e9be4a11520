"""The one tag set every taggable AWS resource receives, set explicitly in its inputs.

Tags are set per resource (not by a stack transform) so policy checks and cost reports see them
in the resource inputs exactly as AWS will.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Tag keys the pack and the cost estimate read too: defined once in the contract, re-exported here.
from agent_contract.tags import BACKUP_PLAN_TAG as BACKUP_PLAN_TAG
from agent_contract.tags import CAPACITY_TAG as CAPACITY_TAG
from agent_contract.tags import CUSTOM_METRICS_TAG as CUSTOM_METRICS_TAG
from agent_contract.tags import ROLE_TAG as ROLE_TAG
from agent_contract.tags import RUN_ONCE as RUN_ONCE


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
