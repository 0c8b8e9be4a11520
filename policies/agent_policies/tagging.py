"""Tagging: every taggable AWS resource carries the tags cost reports and ownership lookups rely on.

Which types are taggable comes from ``data/taggable_aws_types.json``, generated from the pulumi-aws
SDK by ``policies/tools/gen_taggable.py`` (the pack itself does not depend on pulumi-aws).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, ResourceValidationArgs, Severity

from ._common import Report, Settings, get, is_unknown, known, resource_policy, tag_map

DATA = Path(__file__).resolve().parent / "data" / "taggable_aws_types.json"
REQUIRED_TAGS = ["project", "stack", "environment", "component", "owner", "cost-center"]


@cache
def taggable() -> dict[str, Any]:
    return json.loads(DATA.read_text())


def taggable_types() -> frozenset[str]:
    data = taggable()
    return frozenset([*data["mapTags"], *data["listTags"]])


def _provider_default_tags(args: ResourceValidationArgs) -> dict[str, Any]:
    """Tags the resource's explicit provider adds through ``defaultTags`` (providers receive it as JSON)."""
    if args.provider is None:
        return {}

    def read() -> dict[str, Any]:
        raw = get(args.provider.props, "defaultTags")
        if isinstance(raw, str):
            raw = json.loads(raw) if raw else None
        return tag_map(get(raw, "tags")) if isinstance(raw, Mapping) else {}

    return known(read, {}) or {}


def _check_tags(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    tags = {**_provider_default_tags(args), **tag_map(get(args.props, "tags"))}
    required = [str(t) for t in settings["requiredTags"]]
    missing = [t for t in required if t not in tags]
    empty = [t for t in required if t in tags and not is_unknown(tags[t]) and not str(tags[t] or "").strip()]
    if missing:
        report(f"Missing required tag(s): {', '.join(missing)}.")
    if empty:
        report(f"Required tag(s) with an empty value: {', '.join(empty)}.")


POLICIES: list[Policy] = [
    resource_policy(
        "required-tags",
        description="Every taggable AWS resource carries the required tags.",
        resource_types=taggable_types(),
        check=_check_tags,
        severity=Severity.LOW,
        enforcement=EnforcementLevel.ADVISORY,
        remediation="Pass the platform tag set (project, stack, environment, component, owner, cost-center) as "
                    "the resource's tags; an explicit provider's default_tags also count.",
        topic=("governance", "cost"),
        config={"requiredTags": {"type": "array", "items": {"type": "string"}, "default": list(REQUIRED_TAGS),
                                 "description": "Tag keys every taggable resource must carry, with a non-empty "
                                                "value."}},
    ),
]
