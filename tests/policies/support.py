"""Build hand-made plans and run them through the offline review (the analyzer server the CLI drives).

Inputs are given in wire form, as the engine sends them: ``secret(...)`` wraps a value in the secret
signature and ``UNKNOWN`` is the sentinel for a value unknown during preview. The server itself unwraps
secrets and proxies the properties with ``unknown_checking_proxy``, exactly as under ``pulumi preview``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from planning.model import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, Plan, PlannedResource
from planning.review import Review, Violation, load_policy_config
from tests.harness import review

STACK = "test"
PROJECT = "agent-platform"
TAGS = {
    "project": "agent-platform", "stack": STACK, "environment": "dev", "component": "network",
    "owner": "platform-team", "cost-center": "cc-ai-platform",
}
LB_TAGS = {**TAGS, "component": "edge", "agent-platform/role": "load-balancer"}

__all__ = ["LB_TAGS", "TAGS", "UNKNOWN", "found", "res", "run", "secret", "stack_config", "urn"]


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def secret(value: Any) -> dict[str, Any]:
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def res(
    type_: str,
    name: str,
    inputs: Mapping[str, Any] | None = None,
    *,
    protect: bool = False,
    deps: Iterable[PlannedResource] = (),
    prop_deps: Mapping[str, Iterable[PlannedResource]] | None = None,
    parent: PlannedResource | None = None,
    provider: PlannedResource | None = None,
    custom: bool = True,
) -> PlannedResource:
    """A registered resource; like the engine, ``dependencies`` includes every property dependency."""
    by_prop = {k: tuple(r.urn for r in v) for k, v in (prop_deps or {}).items()}
    all_deps = [r.urn for r in deps]
    for urns in by_prop.values():
        all_deps += [u for u in urns if u not in all_deps]
    return PlannedResource(
        urn=urn(type_, name), type=type_, name=name, parent=parent.urn if parent else None, custom=custom,
        inputs=dict(inputs or {}), protect=protect, retain_on_delete=False, dependencies=tuple(all_deps),
        property_dependencies=by_prop, provider=f"{provider.urn}::{provider.name}-id" if provider else None,
    )


def run(*resources: PlannedResource, config: Mapping[str, Any] | None = None, stack: str = STACK) -> Review:
    """Review the resources as one stack; ``config`` is a policy config mapping (default: none, i.e. defaults)."""
    return review(Plan(stack, list(resources)), {} if config is None else config)


def found(policy: str, *resources: PlannedResource, config: Mapping[str, Any] | None = None) -> list[Violation]:
    """The violations ``policy`` reports for the resources, including any it would raise on unknown values."""
    result = run(*resources, config=config)
    return [v for v in result.violations if v.policy == policy]


def stack_config(stack: str) -> dict[str, Any]:
    return load_policy_config(stack)
