"""The offline plan as the estimator's resources, and the cost report of a planned stack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from agent_costing import UNKNOWN, Catalogue, CostReport, Resource, Usage, estimate_llm
from agent_costing import estimate as estimate_resources

from planning.cost_report.usage import stack_cost
from planning.engine import region_of, runtime_config
from planning.model import UNKNOWN as UNKNOWN_SENTINEL
from planning.model import Plan, PlannedResource

AWS_PROVIDER = "pulumi:providers:aws"


def _known(value: Any) -> Any:
    """Plan inputs with the preview's unknown sentinel replaced by the estimator's UNKNOWN."""
    if isinstance(value, str) and value == UNKNOWN_SENTINEL:
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _known(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_known(v) for v in value]
    return value


def _region(res: PlannedResource, plan: Plan) -> str | None:
    """A resource's own region: its ``region`` input (pulumi-aws v7) or its explicit AWS provider's."""
    own = res.props.get("region")
    if isinstance(own, str) and own and own != UNKNOWN_SENTINEL:
        return own
    provider = plan.by_urn(res.provider_urn) if res.provider_urn else None
    if provider is not None and provider.type == AWS_PROVIDER:
        region = provider.props.get("region")
        if isinstance(region, str) and region and region != UNKNOWN_SENTINEL:
            return region
    return None


def resources_of(plan: Plan) -> list[Resource]:
    return [
        Resource(
            urn=res.urn,
            type=res.type,
            name=res.name,
            props=_known(res.props),
            component=plan.component_label(res),
            region=_region(res, plan),
            dependencies=tuple(res.dependencies),
            property_dependencies={k: tuple(v) for k, v in res.property_dependencies.items()},
            custom=res.custom,
        )
        for res in plan
    ]


def estimate(
    plan: Plan,
    usage: Usage,
    *,
    region: str | None = None,
    budget_usd: float | None = None,
    catalogue: Catalogue | None = None,
) -> CostReport:
    """Monthly cost of ``plan`` under ``usage``, in ``region`` (default: the region of the plan's stack file)."""
    if region is None:
        region = region_of(runtime_config(plan.stack)[0])
    return estimate_resources(resources_of(plan), usage, region=region, stack=plan.stack, catalogue=catalogue,
                              budget_usd=budget_usd)


def stack_report(plan: Plan, overrides: Mapping[str, Any] | None = None) -> CostReport:
    """The plan priced with its stack's own region, usage assumptions and budget (same overrides as the plan)."""
    settings = stack_cost(plan.stack, overrides)
    report = estimate(plan, settings.usage, region=settings.region, budget_usd=settings.budget_usd)
    return replace(report, llm=estimate_llm(settings.llm_usage, budget_usd=settings.llm_budget_usd))
