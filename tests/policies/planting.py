"""Plant one misconfiguration into a real stack plan and ask the pack which policy names it.

A planted plan is the planned stack (the real program under the mock engine) with one resource's inputs or
dependencies changed, a resource dropped, or one added, in wire form, exactly as the engine would register it.
The review runs one policy at a time (every other one disabled, the stack's own settings for that one), so
each planting costs a fraction of a full review while going through the same analyzer server.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from planning.model import Plan, PlannedResource
from planning.review import Violation, load_policy_config, review

Change = Callable[[Plan], Plan]


def find(plan: Plan, type_: str, name: str) -> PlannedResource:
    found = [r for r in plan.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"expected one {type_} {name} in {plan.stack}, found {len(found)}"
    return found[0]


def _replace(plan: Plan, old: PlannedResource, new: PlannedResource | None) -> Plan:
    resources = [r for r in plan.resources if r is not old] if new is None else \
        [new if r is old else r for r in plan.resources]
    return Plan(plan.stack, resources, plan.outputs)


def edit(type_: str, name: str, change: Callable[[dict[str, Any]], None]) -> Change:
    """Change a resource's inputs in place (on a deep copy)."""
    def apply(plan: Plan) -> Plan:
        res = find(plan, type_, name)
        inputs = copy.deepcopy(res.inputs)
        change(inputs)
        return _replace(plan, res, dataclasses.replace(res, inputs=inputs))
    return apply


def edit_first(type_: str, change: Callable[[dict[str, Any]], None]) -> Change:
    """Change the first resource of a type (for plantings that must not depend on one component's names)."""
    def apply(plan: Plan) -> Plan:
        first = next(r for r in plan.resources if r.type == type_)
        return edit(type_, first.name, change)(plan)
    return apply


def edit_document(type_: str, name: str, field: str, change: Callable[[dict[str, Any]], None]) -> Change:
    """Change a JSON policy document held as a string input (IAM, resource and trust policies)."""
    def inputs_change(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs[field])
        change(document)
        inputs[field] = json.dumps(document)
    return edit(type_, name, inputs_change)


def edit_user_data(type_: str, name: str, change: Callable[[str], str], field: str = "userData") -> Change:
    def inputs_change(inputs: dict[str, Any]) -> None:
        text = base64.b64decode(inputs[field]).decode()
        inputs[field] = base64.b64encode(change(text).encode()).decode()
    return edit(type_, name, inputs_change)


def rewire(type_: str, name: str, prop: str, targets: Iterable[tuple[str, str]]) -> Change:
    """Point a resource's property at other resources, as if its input were their outputs."""
    def apply(plan: Plan) -> Plan:
        res = find(plan, type_, name)
        urns = tuple(find(plan, t, n).urn for t, n in targets)
        by_prop = {**res.property_dependencies, prop: urns}
        deps = tuple(dict.fromkeys(u for us in by_prop.values() for u in us))
        return _replace(plan, res, dataclasses.replace(res, property_dependencies=by_prop, dependencies=deps))
    return apply


def drop(type_: str, *names: str) -> Change:
    def apply(plan: Plan) -> Plan:
        for name in names or [r.name for r in plan.resources if r.type == type_]:
            plan = _replace(plan, find(plan, type_, name), None)
        return plan
    return apply


def add(type_: str, name: str, inputs: Mapping[str, Any], prop_deps: Mapping[str, Iterable[tuple[str, str]]],
        *, parent: tuple[str, str] | None = None) -> Change:
    """Register one more resource, its property dependencies naming existing resources by (type, name)."""
    def apply(plan: Plan) -> Plan:
        by_prop = {k: tuple(find(plan, t, n).urn for t, n in v) for k, v in prop_deps.items()}
        parent_urn = find(plan, *parent).urn if parent else None
        res = PlannedResource(
            urn=f"urn:pulumi:{plan.stack}::agent-platform::{type_}::{name}", type=type_, name=name,
            parent=parent_urn, custom=True, inputs=dict(inputs), protect=False, retain_on_delete=False,
            dependencies=tuple(dict.fromkeys(u for us in by_prop.values() for u in us)),
            property_dependencies=by_prop, provider=None)
        return Plan(plan.stack, [*plan.resources, res], plan.outputs)
    return apply


def chain(*changes: Change) -> Change:
    def apply(plan: Plan) -> Plan:
        for change in changes:
            plan = change(plan)
        return plan
    return apply


def only(policy: str, stack: str) -> dict[str, Any]:
    """The stack's policy config with every policy but ``policy`` disabled (its settings kept, mandatory)."""
    entry = load_policy_config(stack).get(policy)
    settings = dict(entry) if isinstance(entry, dict) else {}
    settings["enforcementLevel"] = "mandatory"
    return {"all": "disabled", policy: settings}


def violations(plan: Plan, policy: str) -> list[Violation]:
    return review(plan, only(policy, plan.stack), only={policy}).violations


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path (keys may contain dots when quoted in [brackets]: a.[b.c].d)."""
    keys: list[str] = []
    for part in path.replace("[", "\0[").split("\0"):
        if part.startswith("["):
            key, _, rest = part[1:].partition("]")
            keys.append(key)
            keys.extend(k for k in rest.split(".") if k)
        else:
            keys.extend(k for k in part.split(".") if k)
    node = target
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
