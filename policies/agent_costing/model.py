"""What the estimator reads (a neutral resource) and what it writes (a cost report).

The planner builds resources from its recorded plan and the budget policy builds them from the policy
server's view of the stack; both then go through the same estimator.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .catalogue import CURRENCY, HOURS_PER_MONTH
from .llm import LlmReport, render_llm_text
from .usage import USAGE_FIELDS, Usage


class _Unknown:
    """A value that is not known until apply (preview of a new stack): never priced as anything."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value; check `is UNKNOWN` first")


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Resource:
    """One planned resource: camelCase ``props`` with unknown values replaced by :data:`UNKNOWN`."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    component: str
    region: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    custom: bool = True


@dataclass(frozen=True)
class Line:
    """One priced part of a resource: ``quantity`` of ``unit`` at ``unit_usd`` each, per month."""

    component: str
    resource: str
    type: str
    urn: str
    item: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    price_key: str
    region: str

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component, "resource": self.resource, "type": self.type, "urn": self.urn,
            "item": self.item, "quantity": round(self.quantity, 6), "unit": self.unit,
            "unitUsd": self.unit_usd, "monthlyUsd": round(self.monthly_usd, 2), "priceKey": self.price_key,
            "region": self.region,
        }


@dataclass(frozen=True)
class Unpriced:
    """A resource (or part of one) of a kind that costs money but could not be priced, and why."""

    component: str
    resource: str
    type: str
    urn: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"component": self.component, "resource": self.resource, "type": self.type, "urn": self.urn,
                "reason": self.reason}


@dataclass(frozen=True)
class CostReport:
    """The estimated month of one stack: priced lines, what could not be priced, and the assumptions."""

    stack: str
    region: str
    usage: Usage
    lines: tuple[Line, ...]
    unpriced: tuple[Unpriced, ...]
    free: Mapping[str, int]
    catalogue: Mapping[str, Any]
    budget_usd: float | None = None
    hours_per_month: int = HOURS_PER_MONTH
    currency: str = CURRENCY
    # LLM token spend, estimated apart from the AWS lines (not in ``total``): it has its own budget.
    llm: LlmReport | None = None

    @property
    def total(self) -> float:
        return sum(line.monthly_usd for line in self.lines)

    def by_component(self) -> dict[str, float]:
        """Monthly cost per component, largest first."""
        sums: dict[str, float] = defaultdict(float)
        for line in self.lines:
            sums[line.component] += line.monthly_usd
        return dict(sorted(sums.items(), key=lambda kv: (-kv[1], kv[0])))

    def by_resource(self) -> dict[str, float]:
        sums: dict[str, float] = defaultdict(float)
        for line in self.lines:
            sums[line.urn] += line.monthly_usd
        return dict(sums)

    def of_resource(self, name: str) -> list[Line]:
        """The lines of the resource named ``name`` (or whose name ends with it)."""
        return [line for line in self.lines if line.resource == name or line.resource.endswith(name)]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "region": self.region,
            "currency": self.currency,
            "hoursPerMonth": self.hours_per_month,
            "totalMonthlyUsd": round(self.total, 2),
            "budgetUsd": self.budget_usd,
            "withinBudget": None if self.budget_usd is None else self.total <= self.budget_usd,
            "components": {k: round(v, 2) for k, v in self.by_component().items()},
            "lines": [line.to_json() for line in self.lines],
            "unpriced": [u.to_json() for u in self.unpriced],
            "free": dict(sorted(self.free.items())),
            "usage": self.usage.to_json(),
            "catalogue": dict(self.catalogue),
            **({"llm": self.llm.to_json()} if self.llm is not None else {}),
        }


def usd(value: float) -> str:
    return f"${value:,.2f}"


def unit_price(value: float) -> str:
    """Unit prices keep their precision ($0.0832), monthly sums are shown in cents."""
    digits = f"{value:,.6f}".rstrip("0")
    whole, _, cents = digits.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def quantity(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def render_text(report: CostReport) -> str:
    """A terminal report: lines grouped by component, the total, what is unpriced and the assumptions."""
    out = [f"Estimated monthly cost of stack {report.stack}: {usd(report.total)} "
           f"({report.region}, on-demand list prices, {report.hours_per_month} h/month)"]
    if report.budget_usd is not None:
        verdict = "within budget" if report.total <= report.budget_usd else "OVER BUDGET"
        out.append(f"Budget {usd(report.budget_usd)}: {verdict} ({report.total / report.budget_usd:.0%} used)")
    grouped: dict[str, list[Line]] = defaultdict(list)
    for line in report.lines:
        grouped[line.component].append(line)
    for component, total in report.by_component().items():
        out.append("")
        out.append(f"  {component:<56} {usd(total):>12}")
        for line in sorted(grouped[component], key=lambda x: (-x.monthly_usd, x.resource, x.item)):
            detail = f"{quantity(line.quantity)} {line.unit} x {unit_price(line.unit_usd)}"
            out.append(f"    {usd(line.monthly_usd):>12}  {line.resource}: {line.item} [{detail}]")
    if report.unpriced:
        out.append("")
        out.append(f"  Not priced ({len(report.unpriced)}), NOT included in the total:")
        for item in report.unpriced:
            out.append(f"    {item.component} / {item.resource} ({item.type}): {item.reason}")
    out.append("")
    out.append(f"  {sum(report.free.values())} resources of {len(report.free)} types carry no charge of their own "
               "(IAM, routing, security groups, configuration, Kubernetes objects)")
    out.append("  Usage assumptions: " + ", ".join(
        f"{spec.camel}={quantity(getattr(report.usage, name))}" for name, spec in USAGE_FIELDS.items()))
    if report.llm is not None:
        out.append("")
        out.append(render_llm_text(report.llm).rstrip("\n"))
        out.append("")
    for region, info in report.catalogue.items():
        dates = info.get("dates") or ["?"]
        out.append(f"  Prices {region}: {info.get('prices')} entries recorded {dates[0]}"
                   + (f" to {dates[-1]}" if dates[-1] != dates[0] else "") + " (sources per entry in the catalogue)")
    return "\n".join(out) + "\n"
