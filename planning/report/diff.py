"""What a change does to a stack: the current plan against a base plan saved with ``--json``.

Resources are matched the way the engine matches them: by identity (URN with the full parent type chain),
and through ``aliases`` for a renamed resource. A base resource no current resource answers to is deleted;
if a current resource of the same name appears under another identity, the engine deletes and creates it,
which is a replacement (data loss for anything stateful). Input changes the provider itself turns into a
replacement (its force-new properties) are not known offline: ``pulumi preview`` has the final word there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from planning.identity import previous_urns
from planning.model import MASK, UNKNOWN, Plan, PlannedResource, is_secret

KNOWN_AFTER_APPLY = "(known after apply)"
KINDS = ("replaced", "removed", "added", "renamed", "changed")


@dataclass(frozen=True)
class InputChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceChange:
    kind: str  # one of KINDS
    name: str
    type: str
    component: str
    urn: str
    before_urn: str = ""
    inputs: tuple[InputChange, ...] = ()
    options: tuple[InputChange, ...] = ()


@dataclass
class PlanDiff:
    base_stack: str
    changes: list[ResourceChange] = field(default_factory=list)
    cost_before: float | None = None
    cost_after: float | None = None
    component_cost: dict[str, tuple[float, float]] = field(default_factory=dict)
    new_findings: list[Mapping[str, Any]] = field(default_factory=list)
    resolved_findings: list[Mapping[str, Any]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.kind == kind]

    def counts(self) -> dict[str, int]:
        return {kind: len(self.of_kind(kind)) for kind in KINDS}


def _display(value: Any) -> Any:
    if is_secret(value):
        return MASK
    if value == UNKNOWN:
        return KNOWN_AFTER_APPLY
    return value


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted paths to leaves; lists of scalars stay whole so a reordered list is one change, not many."""
    value = _display(value)
    if isinstance(value, dict) and value:
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{i}]")
    else:
        yield prefix, value


def input_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[InputChange]:
    old, new = dict(_flatten(dict(before))), dict(_flatten(dict(after)))
    return [InputChange(path, old.get(path), new.get(path))
            for path in sorted(old.keys() | new.keys()) if old.get(path) != new.get(path)]


def _option_changes(before: PlannedResource, after: PlannedResource) -> list[InputChange]:
    pairs = {"protect": (before.protect, after.protect),
             "retainOnDelete": (before.retain_on_delete, after.retain_on_delete),
             "ignoreChanges": (sorted(before.ignore_changes), sorted(after.ignore_changes))}
    return [InputChange(k, a, b) for k, (a, b) in pairs.items() if a != b]


def _engine_urns(plan: Plan) -> list[tuple[PlannedResource, str, set[str]]]:
    """Each resource with the URN the real engine gives it and every URN it answers to (aliases)."""
    answers = previous_urns(plan)
    if len(answers) != len(plan.resources):
        raise ValueError(f"stack {plan.stack}: two resources share one URN")
    return [(res, now, found) for res, (now, found) in zip(plan.resources, answers.items(), strict=True)]


def diff_plans(base: Plan, current: Plan, base_document: Mapping[str, Any] | None = None,
               document: Mapping[str, Any] | None = None) -> PlanDiff:
    """Resource, cost and finding changes from ``base`` to ``current`` (documents add cost and review)."""
    result = PlanDiff(base_stack=base.stack)
    base_by_urn = {now: res for res, now, _ in _engine_urns(base) if res.custom}
    matched: set[str] = set()
    unmatched_now: list[tuple[PlannedResource, str]] = []
    for res, now, found in _engine_urns(current):
        if not res.custom:
            continue
        match = now if now in base_by_urn else next((u for u in sorted(found) if u in base_by_urn), None)
        if match is None:
            unmatched_now.append((res, now))
            continue
        matched.add(match)
        old = base_by_urn[match]
        inputs = input_changes(old.inputs, res.inputs)
        options = _option_changes(old, res)
        kind = "renamed" if match != now else "changed"
        if kind == "renamed" or inputs or options or old.type != res.type:
            result.changes.append(ResourceChange(kind, res.name, res.type, current.component_label(res), res.urn,
                                                 old.urn, tuple(inputs), tuple(options)))
    gone = {urn: res for urn, res in base_by_urn.items() if urn not in matched}
    gone_by_name: dict[str, list[str]] = {}
    for urn, res in gone.items():
        gone_by_name.setdefault(res.name, []).append(urn)
    for res, _now in unmatched_now:
        candidates = gone_by_name.get(res.name) or []
        if candidates:
            old = gone.pop(candidates.pop(0))
            result.changes.append(ResourceChange("replaced", res.name, res.type, current.component_label(res),
                                                 res.urn, old.urn, tuple(input_changes(old.inputs, res.inputs))))
        else:
            result.changes.append(ResourceChange("added", res.name, res.type, current.component_label(res), res.urn))
    for res in gone.values():
        result.changes.append(ResourceChange("removed", res.name, res.type, base.component_label(res), "", res.urn))
    rank = {k: i for i, k in enumerate(KINDS)}
    result.changes.sort(key=lambda c: (rank[c.kind], c.component, c.name, c.type))

    base_cost = (base_document or {}).get("cost") or {}
    cost = (document or {}).get("cost") or {}
    if base_cost and cost:
        result.cost_before = float(base_cost.get("totalMonthlyUsd", 0.0))
        result.cost_after = float(cost.get("totalMonthlyUsd", 0.0))
        before, after = base_cost.get("components") or {}, cost.get("components") or {}
        result.component_cost = {name: (float(before.get(name, 0.0)), float(after.get(name, 0.0)))
                                 for name in sorted(before.keys() | after.keys())
                                 if before.get(name, 0.0) != after.get(name, 0.0)}

    def keyed(doc: Mapping[str, Any] | None) -> dict[tuple[str, str, str], Mapping[str, Any]]:
        violations = ((doc or {}).get("review") or {}).get("violations") or []
        return {(v["policy"], v["resourceName"], v["message"]): v for v in violations}

    if (base_document or {}).get("review") and (document or {}).get("review"):
        old_findings, new_findings = keyed(base_document), keyed(document)
        result.new_findings = [v for k, v in new_findings.items() if k not in old_findings]
        result.resolved_findings = [v for k, v in old_findings.items() if k not in new_findings]
    return result
