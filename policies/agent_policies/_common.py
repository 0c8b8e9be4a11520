"""Shared building blocks for every domain module.

Policies are built through :func:`resource_policy` and :func:`stack_policy` so that each one carries the
same metadata (severity, remediation, compliance references, config schema) and behaves the same way
on values that are unknown during preview: it reports nothing until the value is known.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NamedTuple

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

try:  # the proxy's own classes, to read a proxied document without a check per key (see ``known_plain``)
    from pulumi_policy.proxy import _DictProxy, _ListProxy
except ImportError:  # pragma: no cover - another pulumi-policy: every document takes the checked path
    _DictProxy = _ListProxy = None  # type: ignore[assignment,misc]

_UNKNOWNS = frozenset({
    UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE, UNKNOWN_ARCHIVE_VALUE, UNKNOWN_OBJECT_VALUE,
})

# Policy tags that classify what a policy protects. Only non-security policies may be relaxed per stack.
TOPICS = ("security", "availability", "cost", "governance")

EXEMPT_RESOURCES = "exemptResources"
_EXEMPT_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "default": [],
    "description": "Logical resource names (or full URNs) this policy does not apply to; each entry is a "
                   "reviewed, recorded exception.",
}


# --- compliance references ---------------------------------------------------------------------------


class Framework(NamedTuple):
    key: str
    name: str
    version: str


FRAMEWORKS: dict[str, Framework] = {
    "cis-aws": Framework("cis-aws", "CIS AWS Foundations Benchmark", "3.0.0"),
    "cis-eks": Framework("cis-eks", "CIS Amazon EKS Benchmark", "1.5.0"),
    "soc2": Framework("soc2", "SOC 2 Trust Services Criteria", "2017"),
    "pci-dss": Framework("pci-dss", "PCI DSS", "4.0"),
    # Scanner and standard rule sets reviewers run against the same resources; ids checked against their sources
    # (Security Hub controls reference, checkov/*/checks at 3.x, kubernetes.io pod-security-standards).
    "fsbp": Framework("fsbp", "AWS Foundational Security Best Practices", "1.0.0"),
    "checkov": Framework("checkov", "Checkov", "3"),
    "pss": Framework("pss", "Kubernetes Pod Security Standards", "1.34"),
}
_SHORT = {"cis-aws": "CIS AWS", "cis-eks": "CIS EKS", "soc2": "SOC 2", "pci-dss": "PCI DSS", "fsbp": "FSBP",
          "checkov": "Checkov", "pss": "PSS"}

_REF_TAG = re.compile(r"^(?P<key>[a-z0-9-]+?)-v(?P<version>[0-9][0-9.]*):(?P<control>\S+)$")


@dataclass(frozen=True)
class Ref:
    """One control of a compliance framework that a policy implements (fully or in part)."""

    framework: Framework
    control: str
    title: str = ""

    @property
    def tag(self) -> str:
        """Policy tags are the only list-valued metadata the engine carries, so references travel as tags."""
        return f"{self.framework.key}-v{self.framework.version}:{self.control}"

    @property
    def label(self) -> str:
        if self.framework.key in ("soc2", "fsbp", "checkov", "pss"):
            return f"{_SHORT[self.framework.key]} {self.control}"
        return f"{_SHORT[self.framework.key]} {self.framework.version} {self.control}"


def cis_aws(control: str, title: str = "") -> Ref:
    return Ref(FRAMEWORKS["cis-aws"], control, title)


def cis_eks(control: str, title: str = "") -> Ref:
    return Ref(FRAMEWORKS["cis-eks"], control, title)


def soc2(control: str, title: str = "") -> Ref:
    return Ref(FRAMEWORKS["soc2"], control, title)


def pci_dss(control: str, title: str = "") -> Ref:
    return Ref(FRAMEWORKS["pci-dss"], control, title)


def fsbp(control: str, title: str = "") -> Ref:
    """An AWS Security Hub control of the Foundational Security Best Practices standard (e.g. ``EC2.15``)."""
    return Ref(FRAMEWORKS["fsbp"], control, title)


def checkov(control: str, title: str = "") -> Ref:
    """A Checkov check id (e.g. ``CKV_AWS_130``)."""
    return Ref(FRAMEWORKS["checkov"], control, title)


def pss(control: str, title: str = "") -> Ref:
    """A Pod Security Standards control, as ``<level>/<control>`` (e.g. ``restricted/privilege-escalation``)."""
    return Ref(FRAMEWORKS["pss"], control, title)


def references(tags: Iterable[str] | None) -> list[Ref]:
    """Compliance references recovered from a policy's tags (what the engine and the docs see)."""
    refs = []
    for tag in tags or ():
        match = _REF_TAG.match(tag)
        if match and match["key"] in FRAMEWORKS and FRAMEWORKS[match["key"]].version == match["version"]:
            refs.append(Ref(FRAMEWORKS[match["key"]], match["control"]))
    return refs


def topics(tags: Iterable[str] | None) -> list[str]:
    return [t for t in tags or () if t in TOPICS]


# --- reading values that may be unknown during preview ------------------------------------------------


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in _UNKNOWNS


def _check(value: Any, path: Sequence[Any]) -> Any:
    # Props normally arrive wrapped by the policy server's proxy, which raises by itself; checking here
    # too keeps the helpers correct on plain dicts.
    if is_unknown(value):
        raise UnknownValueError(value, [str(p) for p in path])
    return value


def get(obj: Any, *path: str | int, default: Any = None) -> Any:
    """The value at ``path``, ``default`` when absent or null; raises ``UnknownValueError`` if unknown."""
    current = obj
    for i, key in enumerate(path):
        if isinstance(key, int):
            if not isinstance(current, Sequence) or isinstance(current, str) or not -len(current) <= key < len(current):
                return default
        elif not isinstance(current, Mapping) or key not in current:
            return default
        current = _check(current[key], path[: i + 1])
        if current is None:
            return default
    return current


def as_list(value: Any) -> list[Any]:
    """IAM fields and similar accept one value or a list; normalise to a list (unknown elements raise)."""
    _check(value, [])
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return [_check(v, [i]) for i, v in enumerate(value)]


def plain(value: Any) -> Any:
    """A deep plain copy (dicts, lists) of a proxied value; raises if anything inside is unknown."""
    _check(value, [])
    if isinstance(value, Mapping):
        return {k: plain(value[k]) for k in value}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(value[i]) for i in range(len(value))]
    return value


def known_plain(value: Any) -> Any:
    """A deep plain copy of a proxied value in which every value unknown during preview becomes ``None``.

    For checks that scan a whole document (chart values, every string of a resource): one unknown leaf must not
    hide what is known around it.
    """
    return replace_unknowns(value, None)


def replace_unknowns(value: Any, replacement: Any) -> Any:
    """A deep plain copy of a (proxied) value with every value unknown during preview replaced by ``replacement``.

    A proxy holds its children in ``proxy["__target"]`` and raises only for the unknown sentinels, so reading the
    children there and replacing the sentinels gives what reading every key through the proxy (and catching its
    error) gives, without a check and an exception per key: whole-document checks grow with the document.
    """
    if isinstance(value, str):
        return replacement if value in _UNKNOWNS else value
    kind = type(value)
    if kind is _DictProxy or kind is dict:
        target = value["__target"] if kind is _DictProxy else value
        return {key: replace_unknowns(item, replacement) for key, item in target.items()}
    if kind is _ListProxy or kind is list:
        target = value["__target"] if kind is _ListProxy else value
        return [replace_unknowns(item, replacement) for item in target]
    try:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key in value:
                try:
                    out[key] = replace_unknowns(value[key], replacement)
                except UnknownValueError:
                    out[key] = replacement
            return out
        if isinstance(value, Sequence) and not isinstance(value, bytes):
            items = []
            for i in range(len(value)):
                try:
                    items.append(replace_unknowns(value[i], replacement))
                except UnknownValueError:
                    items.append(replacement)
            return items
    except UnknownValueError:
        return replacement
    return value


def walk(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every (path, value) pair of a plain document, depth first, the root included.

    A stack of the open maps' and lists' iterators rather than nested ``yield from``, which passed each value up
    through every generator above it: a walk cost its size times its depth (deep pod specs, chart values).
    Children are still read one at a time, as the walk reaches them.
    """
    yield path, value
    open_: list[tuple[tuple[str | int, ...], Iterator[tuple[Any, Any]]]] = []
    children = _children(value)
    if children is not None:
        open_.append((path, children))
    while open_:
        parent, items = open_[-1]
        for key, item in items:
            here = (*parent, key)
            yield here, item
            children = _children(item)
            if children is not None:
                open_.append((here, children))
            break
        else:
            open_.pop()


def _children(value: Any) -> Iterator[tuple[Any, Any]] | None:
    if isinstance(value, Mapping):
        return iter(value.items())
    if isinstance(value, list):
        return enumerate(value)
    return None


def dotted(path: Sequence[str | int]) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")


def tag_map(value: Any) -> dict[str, Any]:
    """Tag keys to values. Values may stay unknown: only keys decide whether a tag is present.

    ``aws:autoscaling/group:Group`` takes tags as a list of ``{key, value, propagateAtLaunch}``.
    """
    _check(value, ["tags"])
    if value is None:
        return {}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[key] = value[key]
            except UnknownValueError:
                out[key] = UNKNOWN_STRING_VALUE
        return out
    out = {}
    for i in range(len(value)):
        entry = _check(value[i], ["tags", i])
        key = _check(get(entry, "key"), ["tags", i, "key"])
        if key is not None:
            try:
                out[key] = get(entry, "value")
            except UnknownValueError:
                out[key] = UNKNOWN_STRING_VALUE
    return out


def parse_document(value: Any) -> dict[str, Any] | None:
    """An IAM or KMS policy document, given as a JSON string or an object; ``None`` when absent or invalid."""
    _check(value, [])
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    if isinstance(value, Mapping):
        return plain(value)
    return None


def statements(document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not document:
        return []
    raw = document.get("Statement")
    if isinstance(raw, Mapping):
        return [dict(raw)]
    if isinstance(raw, list):
        return [dict(s) for s in raw if isinstance(s, Mapping)]
    return []


# --- stack graph helpers -------------------------------------------------------------------------------


def name_of_urn(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def depends_on(resource: PolicyResource, prop: str | None = None) -> list[PolicyResource]:
    """Resources this one depends on, through ``prop`` when the engine recorded it, else through any input.

    Stack resources carry no ids during preview, so the dependency graph (by URN) is how a flow log
    is tied to its VPC or a rule to its security group.
    """
    if prop is not None:
        specific = resource.property_dependencies.get(prop)
        if specific:
            return list(specific)
    return list(resource.dependencies)


def of_type(resources: Iterable[PolicyResource], *types: str) -> Iterator[PolicyResource]:
    return (r for r in resources if r.resource_type in types)


# --- facts derived once per resource ---------------------------------------------------------------------------
#
# Stack policies compare resources pairwise (workloads with their budgets, autoscalers, monitors), and several
# policies derive the same facts from the same resource (its namespace, its pod labels, a parsed document). A
# fact is computed once per (kind, resource) within a scope: one stack policy's evaluation by default, or a
# whole review while the offline reviewer holds :func:`shared_facts` open (every policy then sees one stack).
# A fact that touched an unknown value is remembered as unknown and raises again wherever it is read, exactly
# where the direct computation would have raised. Facts are shared: callers must not mutate them.


class _Facts:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[bool, Any]] = {}


_facts_scope: ContextVar[_Facts | None] = ContextVar("agent_policies_facts", default=None)


@contextmanager
def shared_facts() -> Iterator[None]:
    """Share derived facts across every policy evaluated inside the block; all must review the same stack."""
    token = _facts_scope.set(_Facts())
    try:
        yield
    finally:
        _facts_scope.reset(token)


@contextmanager
def _facts_for_one_evaluation() -> Iterator[None]:
    if _facts_scope.get() is not None:
        yield
        return
    with shared_facts():
        yield


def fact(kind: str, urn: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` for the resource ``urn``, once per scope; raises ``UnknownValueError`` if it did."""
    scope = _facts_scope.get()
    if scope is None:
        return compute()
    key = (kind, urn)
    hit = scope.values.get(key)
    if hit is None:
        try:
            hit = (True, compute())
        except UnknownValueError as exc:
            hit = (False, exc)
        scope.values[key] = hit
    if hit[0]:
        return hit[1]
    raise hit[1]


class StackIndex:
    """One pass over a stack's resources: by URN, by type, children by parent, dependents by dependency.

    Stack policies look resources up here instead of scanning the whole stack once per resource.
    """

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.resources = resources
        self.by_urn: dict[str, PolicyResource] = {}
        self._by_type: dict[str, list[PolicyResource]] = {}
        self._children: dict[str, list[PolicyResource]] = {}
        self._dependents: dict[str, list[PolicyResource]] = {}
        for res in resources:
            self.by_urn[res.urn] = res
            self._by_type.setdefault(res.resource_type, []).append(res)
            if res.parent is not None:
                self._children.setdefault(res.parent.urn, []).append(res)
            for dep in res.dependencies:
                self._dependents.setdefault(dep.urn, []).append(res)

    def of_type(self, *types: str) -> list[PolicyResource]:
        """Resources of ``types``, in stack order."""
        if len(types) == 1:
            return list(self._by_type.get(types[0], ()))
        wanted = set(types)
        return [r for r in self.resources if r.resource_type in wanted]

    def children(self, res: PolicyResource) -> list[PolicyResource]:
        return list(self._children.get(res.urn, ()))

    def dependents(self, res: PolicyResource) -> list[PolicyResource]:
        """Resources that list ``res`` among their dependencies, in stack order."""
        return list(self._dependents.get(res.urn, ()))


# --- configuration ---------------------------------------------------------------------------------------


class Settings(dict[str, Any]):
    """A policy's configuration: schema defaults overlaid with what the stack's policy config sets."""


def _normalise(value: Any) -> Any:
    # Configuration travels as a protobuf Struct, so every number arrives as a float.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def _settings(schema: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any] | None) -> Settings:
    values = Settings({k: copy.deepcopy(v["default"]) for k, v in schema.items() if "default" in v})
    for key, value in (given or {}).items():
        values[key] = _normalise(value)
    return values


def _exempt(settings: Settings, name: str, urn: str) -> bool:
    entries = settings.get(EXEMPT_RESOURCES) or []
    return name in entries or urn in entries


# --- policy factories ------------------------------------------------------------------------------------

# ``resource_types=[ANY_TYPE]``: the policy looks at every resource (e.g. for credentials inside any string).
ANY_TYPE = "*"

class TypedResourcePolicy(ResourceValidationPolicy):
    """A resource policy that also says which resource types it looks at (``None``: every type).

    The policy itself still checks the type (a real ``pulumi preview`` calls it for every resource); the
    offline reviewer uses ``resource_types`` to skip calls that would return at once.
    """

    def __init__(self, *, resource_types: frozenset[str] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resource_types = resource_types


Report = Callable[[str], None]
ResourceCheck = Callable[[ResourceValidationArgs, Settings, Report], None]
StackCheck = Callable[[StackValidationArgs, Settings, ReportViolation], None]


def _metadata(
    name: str,
    severity: Severity,
    enforcement: EnforcementLevel,
    remediation: str,
    refs: Sequence[Ref],
    topic: Sequence[str],
    config: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, Any]:
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name):
        raise ValueError(f"policy name {name!r} is not kebab-case")
    unknown_topics = set(topic) - set(TOPICS)
    if not topic or unknown_topics:
        raise ValueError(f"policy {name}: topics must be a non-empty subset of {TOPICS}")
    if not remediation.strip():
        raise ValueError(f"policy {name}: remediation steps are required")
    properties: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (config or {}).items()}
    properties.setdefault(EXEMPT_RESOURCES, dict(_EXEMPT_SCHEMA))
    framework = None
    if refs:
        primary = refs[0]
        framework = PolicyComplianceFramework(
            name=primary.framework.name,
            version=primary.framework.version,
            reference=primary.control,
            specification=primary.title or None,
        )
    return {
        "severity": severity,
        "enforcement_level": enforcement,
        "remediation_steps": remediation.strip(),
        "framework": framework,
        "tags": [*topic, *(r.tag for r in refs)],
        "config_schema": PolicyConfigSchema(properties),
    }


def resource_policy(
    name: str,
    *,
    description: str,
    resource_types: Iterable[str],
    check: ResourceCheck,
    severity: Severity,
    remediation: str,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    refs: Sequence[Ref] = (),
    topic: Sequence[str] = ("security",),
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> ResourceValidationPolicy:
    """A policy over single resources of ``resource_types``.

    ``check`` gets the validation args, the resolved settings and a ``report(message)`` callback. If it
    touches a value that is unknown during preview it stops there, keeping what it already reported.
    """
    meta = _metadata(name, severity, enforcement, remediation, refs, topic, config)
    types = frozenset(resource_types)
    every_type = ANY_TYPE in types
    schema = meta["config_schema"].properties

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not every_type and args.resource_type not in types:
            return
        settings = _settings(schema, args.get_config())
        if _exempt(settings, args.name, args.urn):
            return
        try:
            check(args, settings, lambda message: report_violation(message, None))
        except UnknownValueError:
            return

    return TypedResourcePolicy(resource_types=None if every_type else types, name=name, description=description,
                               validate=validate, **meta)


def stack_policy(
    name: str,
    *,
    description: str,
    check: StackCheck,
    severity: Severity,
    remediation: str,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    refs: Sequence[Ref] = (),
    topic: Sequence[str] = ("security",),
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> StackValidationPolicy:
    """A policy over the whole resource graph.

    ``check`` should guard each resource it inspects (see :func:`known`) so that one unknown value
    silences only the finding it affects, not the whole policy.
    """
    meta = _metadata(name, severity, enforcement, remediation, refs, topic, config)
    schema = meta["config_schema"].properties

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings = _settings(schema, args.get_config())

        def report(message: str, urn: str | None = None) -> None:
            if urn and _exempt(settings, name_of_urn(urn), urn):
                return
            report_violation(message, urn)

        try:
            with _facts_for_one_evaluation():
                check(args, settings, report)
        except UnknownValueError:
            return

    return StackValidationPolicy(name=name, description=description, validate=validate, **meta)


def known(fn: Callable[[], Any], default: Any = None) -> Any:
    """``fn()``, or ``default`` if it touched a value that is unknown during preview."""
    try:
        return fn()
    except UnknownValueError:
        return default
