"""The pieces every preflight check shares: findings, the check registry, and the context checks run in.

A check is a small function ``fn(ctx) -> list[Finding]`` registered with a name, the IAM actions it calls and
remediation text. A check that cannot run (no permission, no network, no credentials) raises :class:`Skip`;
the runner reports it as skipped with the reason, never as passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from planning.preflight.facts import Facts

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class Finding:
    """One verdict about one thing the stack needs (a chart version, a digest, a quota)."""

    check: str
    status: Status
    subject: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "subject": self.subject, "message": self.message}


class Skip(Exception):  # noqa: N818 - a verdict, not an error
    """The check could not run; the message says why (reported as skipped, never as passed)."""


class ClientFactory(Protocol):
    def __call__(self, service: str, region: str | None = None) -> Any: ...


@dataclass
class Context:
    """What a check may use: the plan's facts, AWS clients, the zones the deploy would use, and an HTTP getter."""

    facts: Facts
    clients: ClientFactory
    fetch_url: Callable[[str], bytes]
    zones: Any = None  # planning.preflight.zones.ZoneView, or None when it could not be read
    zones_error: str | None = None
    caller_account: str | None = None
    # The image registries: .digest("<host>/<repo>:<tag>") -> the digest served, .exists("<name>@sha256:...") -> bool
    # (components/core/registry.py Registries; tests pass a fake).
    registry: Any = None

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients(service, region or self.facts.region)


CheckFn = Callable[[Context], list[Finding]]


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    group: str
    calls: tuple[str, ...]
    remediation: str
    fn: CheckFn = field(compare=False)


REGISTRY: dict[str, Check] = {}


def check(name: str, *, title: str, group: str, calls: Iterable[str], remediation: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check; ``calls`` are the IAM actions it makes (the generated policy is their union)."""

    def register(fn: CheckFn) -> CheckFn:
        if name in REGISTRY:
            raise ValueError(f"preflight check {name} registered twice")
        REGISTRY[name] = Check(name, title, group, tuple(calls), remediation, fn)
        return fn

    return register


# The order docs/preflight.md lists the checks in (registration order depends on which module is imported first).
ORDER = ("eks-version", "eks-addon-versions", "rds-orderable", "elasticache-offered", "sar-application-version",
         "instance-type-offerings", "helm-chart-versions", "ecr-image-digests", "registry-image-digests",
         "route53-hosted-zone",
         "iam-roles-exist", "ssm-ami-parameters", "service-quotas", "availability-zones")


def all_checks() -> list[Check]:
    """Every check, in the documented order (the modules register on import)."""
    from planning.preflight import checks_exist, checks_quotas, checks_versions, checks_zones, helm  # noqa: F401

    return sorted(REGISTRY.values(), key=lambda c: (ORDER.index(c.name) if c.name in ORDER else len(ORDER), c.name))
