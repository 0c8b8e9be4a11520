"""Stacks that import Pulumi ESC environments: plan them offline without the values the environments provide.

A stack file may list ESC environments under ``environment:`` (Pulumi's stack settings); the environments' own
``pulumiConfig`` then supplies settings such as the LLM provider keys, so the stack file no longer holds them. The
offline planner has no Pulumi Cloud access and cannot open an environment, so for such a stack it stands in a mock
secret for each provider key the config needs but the file lacks, and says so: the keys must exist in one of the
imported environments before `pulumi up`. A stack without ``environment:`` is unchanged: a missing key still fails
config validation with its `pulumi config set --secret` hint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROJECT = "agent-platform"
LLM_KEY_SUFFIX = "ApiKey"  # config/loader.py: each provider's key is the secret '<provider>ApiKey'


@dataclass(frozen=True)
class EnvironmentStandIn:
    """A config key the planner filled with a mock secret because an imported ESC environment provides it."""

    key: str
    environments: tuple[str, ...]

    def note(self) -> str:
        return (f"{self.key}: not in the stack file; planned with a mock secret because the stack imports ESC "
                f"environment(s) {', '.join(self.environments)}, which must provide it (pulumiConfig) before "
                f"`pulumi up`")


def imported_environments(stack_document: Mapping[str, Any]) -> tuple[str, ...]:
    """The ESC environments a stack file imports (``environment: [a, b]`` or ``environment: {imports: [...]}``)."""
    value = stack_document.get("environment")
    if isinstance(value, Mapping):
        value = value.get("imports")
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value or ())


def _providers(raw: Mapping[str, Any]) -> list[str]:
    data_tier = raw.get(f"{PROJECT}:dataTier")
    if isinstance(data_tier, str):
        try:
            data_tier = json.loads(data_tier)
        except json.JSONDecodeError:
            return []
    secrets = data_tier.get("secrets", {}) if isinstance(data_tier, Mapping) else {}
    providers = secrets.get("llmProviders", []) if isinstance(secrets, Mapping) else []
    return [p for p in providers if isinstance(p, str)] if isinstance(providers, list) else []


def stand_ins(stack_document: Mapping[str, Any], raw: Mapping[str, Any]) -> list[EnvironmentStandIn]:
    """The provider keys ``raw`` (the stack's config after overrides) lacks that its environments must provide."""
    environments = imported_environments(stack_document)
    if not environments:
        return []
    keys = [f"{PROJECT}:{provider}{LLM_KEY_SUFFIX}" for provider in _providers(raw)]
    return [EnvironmentStandIn(key, environments) for key in keys if key not in raw]
