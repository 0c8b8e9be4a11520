"""The plan: every resource the program registers, as the engine and CrossGuard would see it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from planning.stacks import ROOT, StackRef, as_ref


@dataclass(frozen=True)
class AliasSpec:
    """One ``aliases`` entry as the engine receives it: empty fields mean "the same as now"."""

    urn: str = ""
    name: str = ""
    type: str = ""
    parent_urn: str = ""
    no_parent: bool = False


# Wire-format markers shared by the engine, the SDK and the policy server.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
MASK = "[secret]"


@dataclass(frozen=True)
class PlannedResource:
    """One registered resource.

    ``inputs`` are camelCase and in wire form: secrets stay wrapped in the secret signature and
    values unknown at preview are the unknown sentinel, exactly what the policy server receives.
    """

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    dependencies: tuple[str, ...]
    property_dependencies: Mapping[str, tuple[str, ...]]
    provider: str | None
    ignore_changes: tuple[str, ...] = ()
    aliases: tuple[AliasSpec, ...] = ()

    @property
    def props(self) -> dict[str, Any]:
        """Inputs with secrets unwrapped (for assertions that need the real shape)."""
        return unwrap_secrets(self.inputs)

    @property
    def masked_inputs(self) -> dict[str, Any]:
        """Inputs with every secret replaced by a mask, safe to print or write to disk."""
        return mask_secrets(self.inputs)

    @property
    def provider_urn(self) -> str | None:
        """Provider references are ``<urn>::<id>``; the URN is what policies and reports need."""
        return self.provider.rsplit("::", 1)[0] if self.provider else None


@dataclass
class Plan:
    """Everything one run of the program registered, plus its stack outputs."""

    stack: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)
    # The invokes (data-source reads) the program made, as (token, arguments), in call order.
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # The file the stack's config came from; None means the project's Pulumi.<stack>.yaml.
    ref: StackRef | None = None

    @property
    def stack_ref(self) -> StackRef:
        """The stack by its file, so cost and review read the same config the plan ran with."""
        return self.ref if self.ref is not None else as_ref(self.stack)

    def __iter__(self) -> Iterator[PlannedResource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> PlannedResource:
        """The single resource of a type (optionally with a name suffix); fails loudly otherwise."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name or r.name.endswith(name)]
        if len(found) != 1:
            names = [r.name for r in found]
            raise AssertionError(f"expected one {type_}{' named ' + name if name else ''}, found {names}")
        return found[0]

    def by_urn(self, urn: str) -> PlannedResource | None:
        return self._index().get(urn)

    def children(self, urn: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == urn]

    def component_of(self, res: PlannedResource) -> PlannedResource | None:
        """The top-level component a resource belongs to (its outermost non-stack ancestor)."""
        index = self._index()
        top: PlannedResource | None = None
        current = res
        while current.parent and current.parent in index:
            current = index[current.parent]
            top = current
        return top

    def component_label(self, res: PlannedResource) -> str:
        top = self.component_of(res)
        if top is None:
            return res.name if not res.custom else "(stack)"
        return top.name

    def type_counts(self) -> Counter[str]:
        return Counter(r.type for r in self.resources)

    def _index(self) -> dict[str, PlannedResource]:
        cache = self.__dict__.get("_urn_index")
        if cache is None or len(cache) != len(self.resources):
            cache = {r.urn: r for r in self.resources}
            self.__dict__["_urn_index"] = cache
        return cache


def mask_secret_values(value: Any) -> Any:
    """Secrets keep their wire-form wrapper (so a reader knows what was secret) with the value masked."""
    if is_secret(value):
        return {SECRET_SIG_KEY: SECRET_SIG, "value": MASK}
    if isinstance(value, dict):
        return {k: mask_secret_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secret_values(v) for v in value]
    return value


def resource_to_json(res: PlannedResource) -> dict[str, Any]:
    """One resource as the saved plan holds it: everything the engine would send the policy server."""
    return {
        "urn": res.urn,
        "type": res.type,
        "name": res.name,
        "parent": res.parent,
        "custom": res.custom,
        "inputs": mask_secret_values(res.inputs),
        "protect": res.protect,
        "retainOnDelete": res.retain_on_delete,
        "dependencies": list(res.dependencies),
        "propertyDependencies": {k: list(v) for k, v in sorted(res.property_dependencies.items())},
        "provider": res.provider,
        "ignoreChanges": list(res.ignore_changes),
        "aliases": [{k: v for k, v in vars(a).items() if v} for a in res.aliases],
    }


def resource_from_json(data: Mapping[str, Any]) -> PlannedResource:
    return PlannedResource(
        urn=data["urn"], type=data["type"], name=data["name"], parent=data.get("parent"),
        custom=bool(data.get("custom", True)), inputs=dict(data.get("inputs") or {}),
        protect=bool(data.get("protect")), retain_on_delete=bool(data.get("retainOnDelete")),
        dependencies=tuple(data.get("dependencies") or ()),
        property_dependencies={k: tuple(v) for k, v in (data.get("propertyDependencies") or {}).items()},
        provider=data.get("provider"), ignore_changes=tuple(data.get("ignoreChanges") or ()),
        aliases=tuple(AliasSpec(**a) for a in data.get("aliases") or ()),
    )


def plan_from_json(document: Mapping[str, Any]) -> Plan:
    """A plan saved by ``python -m planning --json``: the same resources, graph and providers, secrets masked."""
    stack = str(document["stack"])
    stack_file = document.get("stackFile")
    ref = StackRef(stack, ROOT / stack_file) if isinstance(stack_file, str) else None
    return Plan(stack, [resource_from_json(r) for r in document.get("resources") or []],
                dict(document.get("outputs") or {}), ref=ref)


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def unwrap_secrets(value: Any) -> Any:
    if is_secret(value):
        return unwrap_secrets(value.get("value"))
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def mask_secrets(value: Any) -> Any:
    if is_secret(value):
        return MASK
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value
