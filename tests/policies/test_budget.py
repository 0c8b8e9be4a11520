"""monthly-cost-budget: the estimated month of a stack, computed by the pack itself, stays within budget."""

from __future__ import annotations

from typing import Any

import pytest

from planning.cost_report import default_catalogue, stack_report
from planning.review import PolicyConfigError
from tests.harness import STACKS, plan, review
from tests.policies.support import TAGS, UNKNOWN, found, res, stack_config

POLICY = "monthly-cost-budget"
HOURS = 730


def unit(key: str) -> float:
    return default_catalogue().price("us-east-1", key).usd


def nat(name: str = "nat") -> Any:
    return res("aws:ec2/natGateway:NatGateway", name, {"allocationId": "eipalloc-1", "tags": TAGS})


def budget_only(policy_config: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """The stack's budget policy settings (``settings`` overlaid) with every other policy disabled, for speed."""
    return {"all": "disabled", POLICY: {**policy_config[POLICY], **settings}}


def config(budget: float, **usage: float) -> dict[str, Any]:
    settings: dict[str, Any] = {"budgetUsd": budget, "region": "us-east-1"}
    if usage:
        settings["usage"] = usage
    return {POLICY: settings}


def test_a_stack_within_budget_passes():
    assert found(POLICY, nat(), config=config(100, natDataGb=0)) == []


def test_a_stack_over_budget_is_reported_with_the_figures():
    monthly = HOURS * unit("vpc.nat.hour") + 1000 * unit("vpc.nat.data")
    (violation,) = found(POLICY, nat(), config=config(monthly - 1, natDataGb=1000))
    assert violation.enforcement == "mandatory"
    assert f"${monthly:,.2f}" in violation.message and "exceeds the budget" in violation.message
    assert found(POLICY, nat(), config=config(monthly + 1, natDataGb=1000)) == []


def test_usage_not_given_in_the_policy_config_uses_the_schema_defaults():
    from agent_costing import DEFAULT_USAGE

    monthly = HOURS * unit("vpc.nat.hour") + DEFAULT_USAGE.nat_data_gb * unit("vpc.nat.data")
    assert len(found(POLICY, nat(), config=config(monthly - 1))) == 1
    assert found(POLICY, nat(), config=config(monthly + 1)) == []


def test_unknown_values_only_lower_the_estimate_and_a_sure_overrun_is_still_reported():
    group = res("aws:eks/nodeGroup:NodeGroup", "nodes", {
        "instanceTypes": ["m7i.xlarge"], "scalingConfig": {"desiredSize": UNKNOWN}, "tags": TAGS})
    assert found(POLICY, group, config=config(1)) == []  # nothing known to price: nothing to report
    known = HOURS * unit("vpc.nat.hour")
    (violation,) = found(POLICY, group, nat(), config=config(known / 2, natDataGb=0))
    assert "could not be priced" in violation.message


def test_invalid_usage_in_the_policy_config_fails_instead_of_passing_silently():
    # Rejected while the config is read, against the policy's schema, as the CLI rejects it before a preview.
    with pytest.raises(PolicyConfigError, match=r"usage: Additional properties are not allowed \('natDataGB'"):
        found(POLICY, nat(), config=config(100, natDataGB=10))


def test_prod_with_a_tiny_budget_fails_review_with_a_mandatory_violation():
    policy_config = stack_config("prod")
    policy_config[POLICY] = {**policy_config[POLICY], "budgetUsd": 100}
    result = review(plan("prod"), policy_config)
    (violation,) = [v for v in result.mandatory if v.policy == POLICY]
    assert "exceeds the budget $100.00" in violation.message


def test_dev_over_budget_is_advisory():
    (violation,) = review(plan("dev"), budget_only(stack_config("dev"), budgetUsd=1)).violations
    assert violation.enforcement == "advisory"


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_stacks_are_within_budget(stack):
    assert review(plan(stack), budget_only(stack_config(stack))).violations == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_policy_computes_the_planners_estimate(stack):
    """One implementation: the gate trips exactly at the figure the plan command prints."""
    total = stack_report(plan(stack)).total
    for budget, reported in ((total - 0.01, 1), (total + 0.01, 0)):
        violations = review(plan(stack), budget_only(stack_config(stack), budgetUsd=budget)).violations
        assert len(violations) == reported, (stack, budget, total)
