"""Budget and usage assumptions: validated config, documented tier defaults, and one source of truth
shared by the stack config (the planner's report) and the policy config (the review's budget gate)."""

from __future__ import annotations

import json

import pytest

from config.budget import BudgetConfig, UsageAssumptions
from config.tiers import TIER_PRESETS
from planning import cli
from planning.cost_report import DEFAULT_USAGE, USAGE_FIELDS, stack_cost, stack_report
from planning.cost_report.usage import platform_config
from planning.review import load_policy_config
from tests.harness import STACKS, config_error, plan

POLICY = "monthly-cost-budget"


def test_the_config_model_and_the_estimator_name_the_same_assumptions_with_the_same_defaults():
    config_names = {f.alias for f in UsageAssumptions.model_fields.values()}
    assert config_names == {spec.camel for spec in USAGE_FIELDS.values()}
    assert UsageAssumptions().model_dump(by_alias=True) == DEFAULT_USAGE.to_json()


def test_the_policy_defaults_match_the_config_defaults():
    from agent_policies.budget import DEFAULT_BUDGET_USD, DEFAULT_REGION

    assert BudgetConfig().monthly_budget_usd == DEFAULT_BUDGET_USD
    # DR stacks (a `recovery` section) run in their source's DR region by design.
    assert {stack_cost(s).region for s in STACKS if platform_config(s).recovery is None} == {DEFAULT_REGION}


@pytest.mark.parametrize("tier", list(TIER_PRESETS))
def test_every_tier_states_every_usage_assumption(tier):
    stated = TIER_PRESETS[tier]["cost"]["usage"]
    assert set(stated) == {spec.camel for spec in USAGE_FIELDS.values()}


def test_the_budget_gate_is_mandatory_in_staging_and_prod_and_advisory_in_dev():
    assert load_policy_config("dev")[POLICY]["enforcementLevel"] == "advisory"
    for stack in ("staging", "prod"):
        assert load_policy_config(stack)[POLICY]["enforcementLevel"] == "mandatory"


def test_budgets_grow_with_the_tier():
    configs = {s: platform_config(s) for s in STACKS}
    budgets = [c.cost.monthly_budget_usd for c in configs.values() if c.recovery is None]
    assert budgets == sorted(budgets) and len(set(budgets)) == len(budgets)
    # A DR stack replaces its source: same budget.
    for cfg in configs.values():
        if cfg.recovery is not None:
            assert cfg.cost.monthly_budget_usd == configs[cfg.recovery.source_stack].cost.monthly_budget_usd


@pytest.mark.parametrize(("overrides", "path"), [
    ({"cost.usage.natDataGb": -1}, "cost.usage.natDataGb"),
    ({"cost.usage.spotPriceFactor": 1.5}, "cost.usage.spotPriceFactor"),
    ({"cost.usage.gpuHours": 10}, "cost.usage.gpuHours"),
    ({"cost.monthlyBudgetUsd": 0}, "cost.monthlyBudgetUsd"),
])
def test_bad_cost_config_names_the_key_and_registers_nothing(overrides, path):
    err = config_error("dev", overrides)
    assert path in err.paths, str(err)


def test_a_stack_can_override_one_assumption_and_keep_the_tier_defaults():
    settings = stack_cost("dev", {"cost": {"usage": {"natDataGb": 123}}})
    assert settings.usage.nat_data_gb == 123
    assert settings.usage.s3_storage_gb == TIER_PRESETS["dev"]["cost"]["usage"]["s3StorageGb"]


def test_the_plan_command_prints_the_estimate_and_writes_it_to_json(tmp_path, capsys):
    out = tmp_path / "dev.json"
    assert cli.main(["--stack", "dev", "--quiet", "--no-review", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    document = json.loads(out.read_text())
    expected = stack_report(plan("dev"))
    assert f"Estimated monthly cost of stack dev: ${expected.total:,.2f}" in printed
    assert document["cost"]["totalMonthlyUsd"] == round(expected.total, 2)
    assert document["cost"]["budgetUsd"] == platform_config("dev").cost.monthly_budget_usd
    assert document["cost"]["usage"] == stack_cost("dev").usage.to_json()
