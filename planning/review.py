"""Offline policy review: the pack's own policy objects, driven through pulumi-policy's own analyzer server.

``pulumi preview --policy-pack policies`` talks gRPC to pulumi-policy's analyzer server: ``Configure`` with the
reconciled policy config, ``Analyze`` once per resource and ``AnalyzeStack`` once. This module makes the same
calls in-process with the same protobuf messages (the server comes from :mod:`planning.analyzer`), so a plan
reviewed here meets exactly the checks (and the same unknown-value handling) it meets in CI against real AWS.
The pack is the installed ``agent_policies`` package (``policies/pyproject.toml``), the one the CLI loads.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import yaml
from agent_policies import _common as pack_common
from agent_policies import pack as _pack
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import Policy, StackValidationPolicy

from planning.analyzer import Analyzer, analyze_stack_once, analyzer, shared_conversion
from planning.engine import STACKS
from planning.model import Plan, PlannedResource
from planning.shared_analysis import Dispatch

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policies"
CONFIG_DIR = POLICY_DIR / "config"

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_TO_PROTO = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
_PROTO_TO_LEVEL = {v: k for k, v in _LEVEL_TO_PROTO.items()}
_PROTO_TO_SEVERITY = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
SEVERITY_ORDER = ("critical", "high", "medium", "low", "")
STACK_LEVEL = "(stack)"


class PolicyConfigError(ValueError):
    """A policy config file the CLI would reject (or that silently would not do what it says)."""


# --- the pack ---------------------------------------------------------------------------------------------------


def pack_module() -> ModuleType:
    """``agent_policies.pack``: the pack's name, description, default enforcement and policy list."""
    return _pack


def policies() -> list[Policy]:
    """The pack's policy objects, the same ones ``policies/__main__.py`` hands to ``PolicyPack``."""
    return pack_module().all_policies()


@cache
def pack_version() -> str:
    """The pack version the CLI reports: ``version`` in PulumiPolicy.yaml."""
    data = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text()) or {}
    return str(data.get("version") or "0.0.1")


@dataclass(frozen=True)
class PolicyMeta:
    """A policy's metadata plus its effective enforcement and settings for one stack."""

    name: str
    description: str
    kind: str
    severity: str
    enforcement: str
    default_enforcement: str
    remediation: str
    references: tuple[str, ...]
    reference_tags: tuple[str, ...]
    topics: tuple[str, ...]
    settings: Mapping[str, Any]
    config_schema: Mapping[str, Any]

    @classmethod
    def of(cls, policy: Policy, effective: EffectiveConfig | None = None) -> PolicyMeta:
        common = pack_common
        refs = common.references(policy.tags)
        default = (policy.enforcement_level or pack_module().DEFAULT_ENFORCEMENT).value
        schema = dict(policy.config_schema.properties) if policy.config_schema else {}
        return cls(
            name=policy.name,
            description=policy.description,
            kind="stack" if isinstance(policy, StackValidationPolicy) else "resource",
            severity=policy.severity.value if policy.severity else "",
            enforcement=effective.enforcement if effective else default,
            default_enforcement=default,
            remediation=policy.remediation_steps or "",
            references=tuple(r.label for r in refs),
            reference_tags=tuple(r.tag for r in refs),
            topics=tuple(common.topics(policy.tags)),
            settings=dict(effective.properties) if effective else _defaults(schema),
            config_schema=schema,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description, "kind": self.kind, "severity": self.severity,
            "enforcement": self.enforcement, "defaultEnforcement": self.default_enforcement,
            "remediation": self.remediation, "references": list(self.references), "topics": list(self.topics),
            "settings": dict(self.settings),
        }


# --- policy configuration, reconciled the way the CLI does it ------------------------------------------------


@dataclass(frozen=True)
class EffectiveConfig:
    enforcement: str
    properties: Mapping[str, Any]


def configured_stacks() -> list[str]:
    """Stacks with a policy config file, dev/staging/prod first."""
    found = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
    return [s for s in STACKS if s in found] + [s for s in found if s not in STACKS]


def load_policy_config(stack: str) -> dict[str, Any]:
    """``policies/config/<stack>.json`` as given to ``--policy-pack-config``; ``{}`` for a stack without one."""
    path = CONFIG_DIR / f"{stack}.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise PolicyConfigError(f"{path.relative_to(ROOT)}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path.relative_to(ROOT)}: must be a JSON object keyed by policy name")
    return data


def _defaults(schema: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {k: v["default"] for k, v in schema.items() if "default" in v}


def _schema_errors(value: Any, schema: Mapping[str, Any], path: str) -> list[str]:
    """Every way ``value`` breaks its property's JSON schema, as the CLI validates it before a preview."""
    validator = jsonschema.Draft7Validator(dict(schema))
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(e.absolute_path), e.message))
    return [f"{path}{''.join(f'[{p}]' if isinstance(p, int) else f'.{p}' for p in e.absolute_path)}: {e.message}"
            for e in errors]


def _parse_entry(name: str, value: Any) -> tuple[str | None, dict[str, Any]]:
    """One config entry: a bare enforcement level, or an object with ``enforcementLevel`` and properties."""
    if isinstance(value, str):
        if value not in LEVELS:
            raise PolicyConfigError(f"{name}: {value!r} is not an enforcement level ({', '.join(LEVELS)})")
        return value, {}
    if isinstance(value, dict):
        props = dict(value)
        level = props.pop("enforcementLevel", None)
        if level is not None and level not in LEVELS:
            raise PolicyConfigError(f"{name}.enforcementLevel: {level!r} is not one of {', '.join(LEVELS)}")
        return level, props
    raise PolicyConfigError(f"{name}: must be an enforcement level string or an object")


def effective_config(
    policy_list: Sequence[Policy], policy_config: Mapping[str, Any] | None
) -> dict[str, EffectiveConfig]:
    """Each policy's enforcement level and properties, reconciled as the CLI does.

    Start from each policy's default level and its schema defaults; the ``all`` key sets the level of
    every policy; a per-policy string sets its level, an object sets ``enforcementLevel`` and overlays
    properties. Unlike the CLI, unknown policy names and properties are errors: a typo would otherwise
    silently leave a check at its default.
    """
    default_level = pack_module().DEFAULT_ENFORCEMENT
    by_name = {p.name: p for p in policy_list}
    result = {
        p.name: EffectiveConfig(
            (p.enforcement_level or default_level).value,
            _defaults(p.config_schema.properties if p.config_schema else {}),
        )
        for p in policy_list
    }
    config = dict(policy_config or {})
    errors: list[str] = []
    if "all" in config:
        level, props = _parse_entry("all", config.pop("all"))
        if props:
            errors.append("all: only an enforcement level may be set for every policy")
        if level is not None:
            result = {k: EffectiveConfig(level, v.properties) for k, v in result.items()}
    for name, value in config.items():
        if name not in by_name:
            errors.append(f"{name}: no such policy in pack {pack_module().PACK_NAME}")
            continue
        level, props = _parse_entry(name, value)
        schema = by_name[name].config_schema.properties if by_name[name].config_schema else {}
        for key, prop in props.items():
            if key not in schema:
                errors.append(f"{name}.{key}: not a setting of this policy (settings: {', '.join(sorted(schema))})")
            else:
                errors.extend(_schema_errors(prop, schema[key], f"{name}.{key}"))
        current = result[name]
        result[name] = EffectiveConfig(level or current.enforcement, {**current.properties, **props})
    for name, cfg in result.items():
        policy = by_name[name]
        for key in (policy.config_schema.required or []) if policy.config_schema else []:
            if key not in cfg.properties:
                errors.append(f"{name}.{key}: required")
    if errors:
        raise PolicyConfigError("invalid policy config:\n  " + "\n  ".join(errors))
    return result


# --- the review ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    policy: str
    pack: str
    severity: str
    enforcement: str
    message: str
    urn: str
    resource_type: str
    resource_name: str
    component: str

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy, "pack": self.pack, "severity": self.severity, "enforcement": self.enforcement,
            "message": self.message, "urn": self.urn, "resourceType": self.resource_type,
            "resourceName": self.resource_name, "component": self.component,
        }


@dataclass(frozen=True)
class NotApplicable:
    policy: str
    urn: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "urn": self.urn, "reason": self.reason}


@dataclass
class Review:
    """What the pack found in one plan."""

    stack: str
    pack: str
    version: str
    policies: list[PolicyMeta]
    violations: list[Violation] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    resources: int = 0

    @property
    def mandatory(self) -> list[Violation]:
        """Violations that would block ``pulumi up``."""
        return [v for v in self.violations if v.enforcement == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement != "mandatory"]

    @property
    def passed(self) -> bool:
        return not self.mandatory

    def policy(self, name: str) -> PolicyMeta:
        for meta in self.policies:
            if meta.name == name:
                return meta
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "pack": {"name": self.pack, "version": self.version},
            "summary": {
                "resources": self.resources,
                "policies": len(self.policies),
                "mandatory": len(self.mandatory),
                "advisory": len(self.advisory),
                "passed": self.passed,
            },
            "violations": [v.to_json() for v in self.violations],
            "notApplicable": [n.to_json() for n in self.not_applicable],
            "policies": [p.to_json() for p in self.policies],
        }


def _struct_into(target: Any, values: Mapping[str, Any]) -> None:
    # Values stay in wire form: secret wrappers and unknown sentinels go through untouched, as from the engine.
    target.update(dict(values))


# A review sends every resource's properties twice (``Analyze`` and ``AnalyzeStack``) and a provider's once per
# resource it serves; with a ``structs`` memo (URN to the converted ``Struct``) each is converted once and copied.
Structs = dict[str, struct_pb2.Struct]


def _properties_into(target: Any, res: PlannedResource, structs: Structs | None) -> None:
    if structs is None:
        _struct_into(target, res.inputs)
        return
    converted = structs.get(res.urn)
    if converted is None:
        converted = structs[res.urn] = struct_pb2.Struct()
        _struct_into(converted, res.inputs)
    target.CopyFrom(converted)


def _options(res: PlannedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(protect=res.protect, parent=res.parent or "")


def _provider(
    res: PlannedResource, index: Mapping[str, PlannedResource], structs: Structs | None = None
) -> analyzer_pb2.AnalyzerProviderResource | None:
    urn = res.provider_urn
    provider = index.get(urn) if urn else None
    if provider is None:
        return None  # a default provider: the engine creates it, the program never registers it
    message = analyzer_pb2.AnalyzerProviderResource(type=provider.type, urn=provider.urn, name=provider.name)
    _properties_into(message.properties, provider, structs)
    return message


def analyze_request(
    res: PlannedResource, index: Mapping[str, PlannedResource], structs: Structs | None = None
) -> analyzer_pb2.AnalyzeRequest:
    request = analyzer_pb2.AnalyzeRequest(type=res.type, urn=res.urn, name=res.name, options=_options(res))
    _properties_into(request.properties, res, structs)
    provider = _provider(res, index, structs)
    if provider is not None:
        request.provider.CopyFrom(provider)
    return request


def analyze_stack_request(
    resources: Iterable[PlannedResource], structs: Structs | None = None
) -> analyzer_pb2.AnalyzeStackRequest:
    resources = list(resources)
    index = {r.urn: r for r in resources}
    request = analyzer_pb2.AnalyzeStackRequest()
    for res in resources:
        item = request.resources.add(type=res.type, urn=res.urn, name=res.name, options=_options(res),
                                     parent=res.parent or "", dependencies=list(res.dependencies))
        _properties_into(item.properties, res, structs)
        for prop, urns in res.property_dependencies.items():
            item.propertyDependencies[prop].urns.extend(urns)
        provider = _provider(res, index, structs)
        if provider is not None:
            item.provider.CopyFrom(provider)
    return request


def configure_request(effective: Mapping[str, EffectiveConfig]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, cfg in effective.items():
        entry = request.policyConfig[name]
        entry.enforcementLevel = _LEVEL_TO_PROTO[cfg.enforcement]
        if cfg.properties:
            entry.properties.update(dict(cfg.properties))
    return request


def servicer(
    effective: Mapping[str, EffectiveConfig],
    stack: str,
    policy_list: list[Policy] | None = None,
    configure: analyzer_pb2.ConfigureAnalyzerRequest | None = None,
) -> Analyzer:
    """An analyzer server for the pack (or ``policy_list`` of it), configured as the CLI configures it."""
    pack = pack_module()
    server = analyzer(pack.PACK_NAME, pack_version(), policy_list if policy_list is not None else pack.all_policies(),
                      pack.DEFAULT_ENFORCEMENT, pack.DESCRIPTION)
    server.Configure(configure or configure_request(effective), None)
    server.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(
        stack=stack, project="agent-platform", dry_run=True), None)
    return server


def _message(diag: Any) -> str:
    """The diagnostic's own message: the server prefixes every one with the policy description."""
    text = diag.message
    if diag.description and text.startswith(diag.description):
        text = text[len(diag.description):].lstrip("\n")
    return text or diag.description


def _analyze_plain(
    plan: Plan, policy_list: list[Policy], effective: Mapping[str, EffectiveConfig], index: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    """The reference evaluation: one server with every policy, exactly the calls a preview makes."""
    server = servicer(effective, plan.stack, policy_list)
    responses = [(res.urn, server.Analyze(analyze_request(res, index), None)) for res in plan.resources]
    responses.append(("", server.AnalyzeStack(analyze_stack_request(plan.resources), None)))
    return responses


def _analyze_shared(
    plan: Plan, policy_list: list[Policy], effective: Mapping[str, EffectiveConfig], index: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    """The same calls, each resource's properties converted once and each resource sent only to its policies."""
    configure = configure_request(effective)
    # The server skips a disabled policy before reading anything, so leaving it out changes nothing.
    enabled = [p for p in policy_list if effective[p.name].enforcement != "disabled"]
    dispatch = Dispatch(enabled, lambda subset: servicer(effective, plan.stack, subset, configure))
    stack_policies = [p for p in enabled if isinstance(p, StackValidationPolicy)]
    responses: list[tuple[str, Any]] = []
    structs: Structs = {}
    # Every policy below reviews this one stack, so facts derived from its resources can be shared by all.
    with shared_conversion(), pack_common.shared_facts():
        for res in plan.resources:
            server = dispatch.server_for(res.type)
            if server is not None:
                responses.append((res.urn, server.Analyze(analyze_request(res, index, structs), None)))
        if stack_policies:
            stack_server = servicer(effective, plan.stack, stack_policies, configure)
            responses.append(("", analyze_stack_once(stack_server, analyze_stack_request(plan.resources, structs))))
    return responses


def review(plan: Plan, policy_config: Mapping[str, Any] | None = None, *, shared: bool = True,
           only: Collection[str] | None = None) -> Review:
    """Run every policy of the pack over ``plan`` (policy config defaults to the stack's config file).

    ``shared=False`` drives one server with every policy and no shared conversions, exactly as a preview
    does; it is the reference the default (same results, linear cost) is tested against. ``only`` runs just
    the policies it names, configured as in the whole pack, for a caller asking about those alone: each
    policy's verdicts are its own (tests/policies/test_review_equivalence.py).
    """
    pack = pack_module()
    policy_list = pack.all_policies()
    effective = effective_config(policy_list, load_policy_config(plan.stack) if policy_config is None
                                 else policy_config)
    if only is not None:
        unknown = set(only) - set(effective)
        if unknown:
            raise ValueError(f"the pack has no policy {', '.join(sorted(unknown))}")
        policy_list = [p for p in policy_list if p.name in only]
    index = {r.urn: r for r in plan.resources}
    analyze = _analyze_shared if shared else _analyze_plain
    responses = analyze(plan, policy_list, effective, index)

    violations: list[Violation] = []
    not_applicable: list[NotApplicable] = []
    for subject, response in responses:
        for diag in response.diagnostics:
            urn = diag.urn or subject
            res = index.get(urn)
            violations.append(Violation(
                policy=diag.policyName,
                pack=diag.policyPackName,
                severity=_PROTO_TO_SEVERITY.get(diag.severity, ""),
                enforcement=_PROTO_TO_LEVEL[diag.enforcementLevel],
                message=_message(diag),
                urn=urn,
                resource_type=res.type if res else ("pulumi:pulumi:Stack" if not urn else ""),
                resource_name=res.name if res else (plan.stack if not urn else urn.rsplit("::", 1)[-1]),
                component=plan.component_label(res) if res else STACK_LEVEL,
            ))
        for item in response.not_applicable:
            not_applicable.append(NotApplicable(item.policy_name, subject, item.reason))

    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    violations.sort(key=lambda v: (v.enforcement != "mandatory", rank.get(v.severity, len(rank)), v.component,
                                   v.policy, v.urn, v.message))
    return Review(
        stack=plan.stack,
        pack=pack.PACK_NAME,
        version=pack_version(),
        policies=[PolicyMeta.of(p, effective[p.name]) for p in policy_list],
        violations=violations,
        not_applicable=not_applicable,
        resources=len(plan.resources),
    )


def render_text(result: Review) -> str:
    """A terminal report: violations grouped by severity, then by component."""
    lines = [
        f"Policy review of stack {result.stack}: {result.pack} {result.version}, {len(result.policies)} policies, "
        f"{result.resources} resources",
        f"{len(result.mandatory)} mandatory and {len(result.advisory)} advisory violation(s)"
        + ("" if result.violations else " - all policies pass"),
    ]
    for severity in SEVERITY_ORDER:
        group = [v for v in result.violations if v.severity == severity]
        if not group:
            continue
        lines.append("")
        lines.append((severity or "unspecified").upper())
        for component in sorted({v.component for v in group}):
            lines.append(f"  {component}")
            for v in (v for v in group if v.component == component):
                lines.append(f"    [{v.enforcement}] {v.policy}: {v.resource_type} {v.resource_name}")
                lines.extend(f"        {line}" for line in v.message.splitlines())
    return "\n".join(lines) + "\n"
