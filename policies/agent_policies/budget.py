"""Budget policies: the estimated month of a stack stays within the budgets its environment was given.

AWS and LLM spend are gated apart (``monthly-cost-budget`` and ``monthly-llm-budget``): the AWS estimate prices the
resources the policy server sees, the LLM estimate prices the stated token traffic, and each has its own budget, so
a stack can be held to one without the other hiding an overrun. ``llm-alarm-within-budget`` keeps the daily LLM
spend alarm in proportion to the monthly LLM budget.

The estimate is the planner's own (``agent_costing``): the same catalogue, usage model and pricing rules,
applied to the resources the policy server sees. Values unknown during preview leave only the parts
they affect unpriced, so the estimate is then a lower bound, and a lower bound over budget is a sure
overrun.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from agent_contract.alerts import LLM_DAILY_BUDGET_ALERT, PROMETHEUS_RULE_TYPE
from agent_costing import UNKNOWN, Resource, ServiceLlmUsage, Usage, estimate, estimate_llm
from agent_costing.estimate import package_of
from agent_costing.model import usd
from agent_costing.rules import NON_CLOUD_PACKAGES
from agent_costing.usage import DEFAULT_USAGE, json_schema
from pulumi_policy import EnforcementLevel, Policy, PolicyResource, ReportViolation, Severity, StackValidationArgs

from ._common import Settings, fact, replace_unknowns, stack_policy

STACK_TYPE = "pulumi:pulumi:Stack"
AWS_PROVIDER = "pulumi:providers:aws"
DEFAULT_BUDGET_USD = 500
DEFAULT_REGION = "us-east-1"
# Resource types whose price follows an instance or node type chosen in config.
COMPUTE_TYPES = frozenset({
    "aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate", "aws:autoscaling/group:Group",
    "aws:eks/nodeGroup:NodeGroup", "aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance",
    "aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/cluster:Cluster",
    "aws:ec2/spotInstanceRequest:SpotInstanceRequest",
})
_NOT_IN_CATALOGUE = re.compile(r"^(?:.*: )?no \S+ price for '")
DEFAULT_LLM_BUDGET_USD = 500  # seed 000's monthly LLM cost threshold
DEFAULT_LLM_DAILY_ALARM_USD = 50  # seed 000's daily threshold
# Seed 000's own ratio: a $50/day alarm against $500/month is 3 average days (500 / 30 = 16.67).
DEFAULT_ALARM_FACTOR = 3
DAYS_FOR_ALARM = 30
_THRESHOLD = re.compile(r">\s*([0-9]+(?:\.[0-9]+)?)\s*$")


def thaw(value: Any) -> Any:
    """A plain copy of proxied props, with every value unknown during preview replaced by ``UNKNOWN``."""
    return replace_unknowns(value, UNKNOWN)


def component_label(res: PolicyResource) -> str:
    """The top-level component a resource belongs to, named as the offline plan names it."""
    top: PolicyResource | None = None
    current = res
    while current.parent is not None and current.parent.resource_type != STACK_TYPE:
        current = current.parent
        top = current
    if top is None:
        return res.name if package_of(res.resource_type) in NON_CLOUD_PACKAGES else "(stack)"
    return top.name


def _region(res: PolicyResource, props: Mapping[str, Any]) -> str | None:
    own = props.get("region")
    if isinstance(own, str) and own:
        return own
    provider = res.provider
    if provider is not None and provider.resource_type == AWS_PROVIDER:
        region = fact("provider-region", provider.urn, lambda: thaw(provider.props).get("region"))
        if isinstance(region, str) and region:
            return region
    return None


def resources_of(resources: Sequence[PolicyResource]) -> list[Resource]:
    out = []
    for res in resources:
        if res.resource_type == STACK_TYPE:
            continue
        props = thaw(res.props)
        out.append(Resource(
            urn=res.urn,
            type=res.resource_type,
            name=res.name,
            props=props,
            component=component_label(res),
            region=_region(res, props),
            dependencies=tuple(d.urn for d in res.dependencies),
            property_dependencies={k: tuple(d.urn for d in v) for k, v in res.property_dependencies.items()},
            custom=package_of(res.resource_type) not in NON_CLOUD_PACKAGES,
        ))
    return out


def _check_budget(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    budget = float(settings["budgetUsd"])
    try:
        usage = Usage.from_mapping(settings.get("usage") or {}, defaults=DEFAULT_USAGE)
    except ValueError as exc:
        # A gate that cannot evaluate must not pass silently.
        report(f"The policy config's usage assumptions are invalid, so the budget cannot be checked: {exc}.", None)
        return
    result = estimate(resources_of(args.resources), usage, region=str(settings["region"]), budget_usd=budget)
    # A type missing from the price catalogue would price as nothing and let an over-budget stack pass.
    uncatalogued = [u for u in result.unpriced if u.type in COMPUTE_TYPES and _NOT_IN_CATALOGUE.search(u.reason)]
    if uncatalogued and settings["failOnUnpricedCompute"]:
        parts = ", ".join(f"{u.resource} ({u.reason})" for u in uncatalogued[:5])
        report(f"{len(uncatalogued)} compute part(s) have no catalogue price, so the budget check cannot be trusted: "
               f"{parts}. Add the instance type to the price catalogue (policies/agent_costing/prices) or "
               "choose a catalogued type.", None)
    total = result.total
    if total <= budget:
        return
    largest = ", ".join(f"{name} {usd(cost)}" for name, cost in list(result.by_component().items())[:3])
    message = (f"The estimated monthly cost {usd(total)} exceeds the budget {usd(budget)} by {usd(total - budget)} "
               f"({total / budget - 1:.0%} over). Largest components: {largest}.")
    if result.unpriced:
        message += (f" {len(result.unpriced)} part(s) could not be priced and are not included, "
                    "so the real figure is higher.")
    report(message, None)


def _check_llm_budget(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    budget = float(settings["budgetUsd"])
    try:
        services = settings.get("services") or {}
        usage = [ServiceLlmUsage.from_mapping(name, values) for name, values in services.items()]
    except (KeyError, TypeError, ValueError) as exc:
        report(f"The policy config's LLM usage is invalid, so the LLM budget cannot be checked: {exc!r}.", None)
        return
    result = estimate_llm(usage, budget_usd=budget)
    if result.unpriced and settings["failOnUnpricedModel"]:
        parts = "; ".join(f"{service}: {reason}" for service, _, reason in result.unpriced)
        report(f"{len(result.unpriced)} model(s) have no LLM price, so the LLM budget check cannot be trusted: "
               f"{parts}. Add the model to policies/agent_costing/prices/llm.json or choose a priced model.", None)
    if result.total <= budget:
        return
    largest = ", ".join(f"{name} {usd(cost)}" for name, cost in list(result.by_service().items())[:3])
    report(f"The estimated monthly LLM spend {usd(result.total)} exceeds the LLM budget {usd(budget)} by "
           f"{usd(result.total - budget)} ({result.total / budget - 1:.0%} over). Largest services: {largest}.", None)


def deployed_daily_alarms(args: StackValidationArgs) -> list[tuple[str, float]]:
    """``(resource urn, USD)`` of each deployed LLM daily budget rule, read from the PrometheusRule's expression."""
    out = []
    for res in args.resources:
        if res.resource_type != PROMETHEUS_RULE_TYPE:
            continue
        spec = thaw(res.props).get("spec")
        groups = spec.get("groups") if isinstance(spec, Mapping) else None
        for group in groups if isinstance(groups, list) else []:
            for rule in (group.get("rules") or []) if isinstance(group, Mapping) else []:
                if not isinstance(rule, Mapping) or rule.get("alert") != LLM_DAILY_BUDGET_ALERT:
                    continue
                match = _THRESHOLD.search(str(rule.get("expr", "")))
                if match:
                    out.append((res.urn, float(match.group(1))))
    return out


def _check_llm_alarm(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    budget = float(settings["monthlyBudgetUsd"])
    factor = float(settings["factor"])
    limit = budget / DAYS_FOR_ALARM * factor
    alarms = deployed_daily_alarms(args) or [(None, float(settings["dailyAlarmUsd"]))]
    for urn, daily in alarms:
        if daily > limit:
            where = "the deployed rule" if urn else "observability.alerts.llmDailyBudgetUsd"
            report(f"The daily LLM spend alarm ({where}) fires at {usd(daily)}/day, above the monthly LLM budget "
                   f"{usd(budget)} / {DAYS_FOR_ALARM} x {factor:g} = {usd(limit)}/day: spend could run "
                   f"{daily * DAYS_FOR_ALARM / budget:.1f}x the monthly budget before anyone is paged.", urn)


POLICIES: list[Policy] = [
    stack_policy(
        "monthly-cost-budget",
        description="The stack's estimated monthly cost (on-demand list prices and the stated usage assumptions) "
                    "stays within the environment's budget.",
        check=_check_budget,
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        topic=("cost",),
        remediation="Run `python -m planning --stack <stack>` for the per-component estimate. Lower what drives it "
                    "(node count or instance types, database and cache classes, Multi-AZ outside prod, interface "
                    "endpoints, log retention), correct the usage assumptions if they are wrong, or, once the spend "
                    "is approved, raise cost.monthlyBudgetUsd in the stack config and budgetUsd in "
                    "policies/config/<stack>.json together.",
        config={
            "budgetUsd": {"type": "number", "minimum": 0, "default": DEFAULT_BUDGET_USD,
                          "description": "Monthly budget in USD; an estimate above it is a violation."},
            "region": {"type": "string", "default": DEFAULT_REGION,
                       "description": "The stack's AWS region: prices resources without a region of their own."},
            "usage": {**json_schema(), "description": "Usage assumptions (the stack config's cost.usage)."},
            "failOnUnpricedCompute": {"type": "boolean", "default": True,
                                      "description": "Report compute (instances, nodes, databases, caches) whose "
                                                     "type has no catalogue price: it would count as free."},
        },
    ),
    stack_policy(
        "monthly-llm-budget",
        description="The stack's estimated monthly LLM token spend (the stated requests, tokens and model mix at "
                    "the LLM price catalogue) stays within the environment's LLM budget, apart from AWS spend.",
        check=_check_llm_budget,
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        topic=("cost",),
        remediation="Run `python -m planning --stack <stack> --tree` for the LLM lines per service and model. Route "
                    "traffic to a cheaper model (cost.llm.services.<name>.models), cut tokens per request (shorter "
                    "context, caching), correct the usage assumptions if they are wrong, or, once the spend is "
                    "approved, raise cost.llm.monthlyBudgetUsd and regenerate policies/config "
                    "(python -m planning.policy_config --write).",
        config={
            "budgetUsd": {"type": "number", "minimum": 0, "default": DEFAULT_LLM_BUDGET_USD,
                          "description": "Monthly LLM budget in USD (cost.llm.monthlyBudgetUsd)."},
            "services": {"type": "object", "default": {},
                         "description": "Per service: requestsPerDay, inputTokensPerRequest, outputTokensPerRequest "
                                        "and models (model -> share of requests), generated from cost.llm and each "
                                        "service's defaultModel.",
                         "additionalProperties": {
                             "type": "object", "additionalProperties": False,
                             "required": ["requestsPerDay", "inputTokensPerRequest", "outputTokensPerRequest",
                                          "models"],
                             "properties": {
                                 "requestsPerDay": {"type": "number", "minimum": 0},
                                 "inputTokensPerRequest": {"type": "number", "minimum": 0},
                                 "outputTokensPerRequest": {"type": "number", "minimum": 0},
                                 "models": {"type": "object", "additionalProperties": {"type": "number",
                                                                                       "minimum": 0}}}}},
            "failOnUnpricedModel": {"type": "boolean", "default": True,
                                    "description": "Report a model with no LLM price: it would count as free."},
        },
    ),
    stack_policy(
        "llm-alarm-within-budget",
        description="The daily LLM spend alarm fires before a day's spend reaches the monthly LLM budget / 30 x a "
                    "configured factor, so a runaway agent pages someone while the month is still within budget.",
        check=_check_llm_alarm,
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        topic=("cost",),
        remediation="Lower observability.alerts.llmDailyBudgetUsd to at most cost.llm.monthlyBudgetUsd / 30 x "
                    "cost.llm.dailyAlarmFactor, or, if the daily spend is intended, raise the monthly LLM budget to "
                    "match; then regenerate policies/config (python -m planning.policy_config --write).",
        config={
            "dailyAlarmUsd": {"type": "number", "minimum": 0, "default": DEFAULT_LLM_DAILY_ALARM_USD,
                              "description": "observability.alerts.llmDailyBudgetUsd; used when the stack deploys "
                                             "no PrometheusRule (VM runtime), else the deployed rule's threshold."},
            "monthlyBudgetUsd": {"type": "number", "minimum": 0, "default": DEFAULT_LLM_BUDGET_USD,
                                 "description": "cost.llm.monthlyBudgetUsd."},
            "factor": {"type": "number", "exclusiveMinimum": 0, "default": DEFAULT_ALARM_FACTOR,
                       "description": "cost.llm.dailyAlarmFactor: how many average days of the monthly budget the "
                                      "daily alarm may allow."},
        },
    ),
]
