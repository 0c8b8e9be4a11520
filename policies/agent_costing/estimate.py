"""Price a list of planned resources: the one estimator behind the planner's report and the budget policy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .catalogue import Catalogue, default_catalogue
from .model import CostReport, Line, Resource, Unpriced
from .rules import FREE_PACKAGES, FREE_TYPES, NON_CLOUD_PACKAGES, RULES, Bill, Context, pool_of
from .usage import Usage

NO_RULE = "no pricing rule for this resource type: add one to agent_costing/rules.py, or list it as free"


def package_of(type_: str) -> str:
    return type_.split(":", 1)[0]


def is_cloud_resource(res: Resource) -> bool:
    """Components, providers and the stack are bookkeeping, not things AWS bills."""
    return res.custom and package_of(res.type) not in NON_CLOUD_PACKAGES


def estimate(
    resources: Iterable[Resource],
    usage: Usage,
    *,
    region: str,
    stack: str = "",
    catalogue: Catalogue | None = None,
    budget_usd: float | None = None,
) -> CostReport:
    """Monthly on-demand cost of ``resources`` in ``region`` (the default for resources without their own)."""
    catalogue = catalogue or default_catalogue()
    cloud = [r for r in resources if is_cloud_resource(r)]
    pools: Counter[str] = Counter()
    for res in cloud:
        pool = pool_of(res, region)
        if pool:
            pools[pool] += 1
    ctx = Context(catalogue=catalogue, usage=usage, default_region=region,
                  resources={r.urn: r for r in cloud}, pools=dict(pools))

    lines: list[Line] = []
    unpriced: list[Unpriced] = []
    free: Counter[str] = Counter()
    for res in cloud:
        rule = RULES.get(res.type)
        if rule is None:
            if res.type in FREE_TYPES or package_of(res.type) in FREE_PACKAGES:
                free[res.type] += 1
            else:
                unpriced.append(Unpriced(res.component, res.name, res.type, res.urn, NO_RULE))
            continue
        bill = Bill(res, ctx)
        rule(res, ctx, bill)
        if bill.free is not None and not bill.lines and not bill.unpriced:
            free[res.type] += 1
        lines.extend(bill.lines)
        unpriced.extend(Unpriced(res.component, res.name, res.type, res.urn, reason) for reason in bill.unpriced)

    used_regions = sorted({line.region for line in lines} | {region})
    info = catalogue.sources()
    return CostReport(
        stack=stack,
        region=region,
        usage=usage,
        lines=tuple(lines),
        unpriced=tuple(unpriced),
        free=dict(free),
        catalogue={r: info[r] for r in used_regions if r in info},
        budget_usd=budget_usd,
    )
