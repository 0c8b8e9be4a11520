"""monthly-llm-budget and llm-alarm-within-budget: LLM spend is gated apart from AWS spend.

Expected figures are computed here from the catalogue's unit prices and the month the estimate states
(730 h = 30.4167 days), never read back from the estimator's own output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import plan, review
from tests.policies.support import TAGS, found, res, stack_config

LLM = "monthly-llm-budget"
ALARM = "llm-alarm-within-budget"
AWS = "monthly-cost-budget"
DAYS = 730 / 24
PRICES = json.loads((Path(__file__).resolve().parents[2] / "policies" / "agent_costing" / "prices"
                     / "llm.json").read_text())["models"]


def nat() -> Any:
    return res("aws:ec2/natGateway:NatGateway", "nat", {"allocationId": "eipalloc-1", "tags": TAGS})


def usage(requests: float = 1000, tokens_in: float = 2000, tokens_out: float = 500,
          models: dict[str, float] | None = None) -> dict[str, Any]:
    return {"requestsPerDay": requests, "inputTokensPerRequest": tokens_in, "outputTokensPerRequest": tokens_out,
            "models": models or {"claude-sonnet-4-5": 1}}


def sonnet_month(requests: float = 1000, tokens_in: float = 2000, tokens_out: float = 500) -> float:
    price = PRICES["anthropic/claude-sonnet-4-5"]
    return requests * DAYS * (tokens_in * price["input"] + tokens_out * price["output"]) / 1e6


def test_llm_spend_within_its_budget_passes_and_over_it_is_reported():
    monthly = sonnet_month()  # 1000 x 30.42 x (2000 x $3 + 500 x $15) / 1M = $410.63
    assert monthly == pytest.approx(410.625)
    assert found(LLM, nat(), config={LLM: {"budgetUsd": monthly + 1, "services": {"api": usage()}}}) == []
    (violation,) = found(LLM, nat(), config={LLM: {"budgetUsd": 400, "services": {"api": usage()}}})
    assert violation.enforcement == "mandatory"
    assert "$410.62" in violation.message or "$410.63" in violation.message
    assert "exceeds the LLM budget $400.00" in violation.message and "api" in violation.message


def test_the_model_mix_prices_each_model_at_its_own_rate():
    mini = PRICES["openai/gpt-4o-mini"]
    mix = usage(models={"claude-sonnet-4-5": 0.5, "openai/gpt-4o-mini": 0.5})
    expected = sonnet_month() / 2 + 1000 * DAYS / 2 * (2000 * mini["input"] + 500 * mini["output"]) / 1e6
    assert found(LLM, nat(), config={LLM: {"budgetUsd": expected + 0.01, "services": {"api": mix}}}) == []
    assert len(found(LLM, nat(), config={LLM: {"budgetUsd": expected - 0.01, "services": {"api": mix}}})) == 1


def test_an_unpriced_model_fails_instead_of_counting_as_free():
    (violation,) = found(LLM, nat(), config={LLM: {"budgetUsd": 1e9,
                                                   "services": {"api": usage(models={"my-own-model": 1})}}})
    assert "no LLM price for model 'my-own-model'" in violation.message


def test_aws_and_llm_budgets_are_gated_separately():
    """A stack over its LLM budget but within its AWS budget fails only the LLM gate, and the reverse."""
    over_llm = {AWS: {"budgetUsd": 1e6, "region": "us-east-1"}, LLM: {"budgetUsd": 1, "services": {"api": usage()}}}
    assert found(AWS, nat(), config=over_llm) == [] and len(found(LLM, nat(), config=over_llm)) == 1
    over_aws = {AWS: {"budgetUsd": 1, "region": "us-east-1"}, LLM: {"budgetUsd": 1e6, "services": {"api": usage()}}}
    assert len(found(AWS, nat(), config=over_aws)) == 1 and found(LLM, nat(), config=over_aws) == []


def test_a_daily_alarm_above_the_monthly_budget_share_fails():
    # Seed 000: $50/day against $500/month at factor 3 is exactly the limit (500 / 30 x 3 = 50).
    seed = {ALARM: {"dailyAlarmUsd": 50, "monthlyBudgetUsd": 500, "factor": 3}}
    assert found(ALARM, nat(), config=seed) == []
    (violation,) = found(ALARM, nat(), config={ALARM: {"dailyAlarmUsd": 250, "monthlyBudgetUsd": 500, "factor": 3}})
    assert "$250.00/day" in violation.message and "$50.00/day" in violation.message


def test_the_deployed_prometheus_rule_threshold_is_what_is_judged():
    rule = res("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "alert-rules", {"spec": {"groups": [
        {"name": "llm", "rules": [{"alert": "LlmDailyBudgetExceeded",
                                   "expr": 'sum(increase(llm_cost_dollars_total{namespace="agents"}[24h])) > 120'}]}]}})
    config = {ALARM: {"dailyAlarmUsd": 10, "monthlyBudgetUsd": 500, "factor": 3}}
    (violation,) = found(ALARM, rule, config=config)
    assert "the deployed rule" in violation.message and "$120.00/day" in violation.message


def test_prod_keeps_its_deliberate_250_a_day_alarm_within_its_llm_budget():
    result = review(plan("prod"), stack_config("prod"))
    assert not [v for v in result.violations if v.policy in (LLM, ALARM)]
    settings = stack_config("prod")[ALARM]
    assert settings["dailyAlarmUsd"] == 250 and settings["monthlyBudgetUsd"] / 30 * settings["factor"] >= 250


def test_prod_over_its_llm_budget_fails_review_with_a_mandatory_violation():
    policy_config = stack_config("prod")
    policy_config[LLM] = {**policy_config[LLM], "budgetUsd": 1000}
    result = review(plan("prod"), policy_config)
    (violation,) = [v for v in result.mandatory if v.policy == LLM]
    assert "exceeds the LLM budget $1,000.00" in violation.message
    assert not [v for v in result.mandatory if v.policy == AWS]


def test_prod_with_an_llm_budget_too_small_for_its_alarm_fails():
    policy_config = stack_config("prod")
    policy_config[ALARM] = {**policy_config[ALARM], "monthlyBudgetUsd": 2000}  # 2000 / 30 x 3 = 200 < 250
    result = review(plan("prod"), policy_config)
    (violation,) = [v for v in result.mandatory if v.policy == ALARM]
    assert "the deployed rule" in violation.message and "$250.00/day" in violation.message
