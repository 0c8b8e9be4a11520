"""LLM spend in the estimate: usage from the stack config, its own budget line, seed 000's alarm defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_costing import ServiceLlmUsage, estimate_llm, load_llm_catalogue
from agent_costing.catalogue import CatalogueError
from agent_costing.llm import LLM_PRICES, parse_llm_catalogue

from planning.cost_report.usage import llm_usage
from tests.config_support import assert_words, reason, rejected, validated

DAYS = 730 / 24


def test_every_llm_price_names_its_source_and_date_and_covers_the_four_providers():
    catalogue = load_llm_catalogue()
    assert {p.provider for p in catalogue.prices.values()} == {"anthropic", "openai", "google", "openrouter"}
    for price in catalogue.prices.values():
        assert price.source.startswith("https://") and price.date.count("-") == 2, price.key
        assert price.output >= price.input > 0, price.key


def test_a_bare_model_id_resolves_to_its_direct_provider_never_to_openrouter():
    catalogue = load_llm_catalogue()
    assert catalogue.resolve("claude-sonnet-4-5").key == "anthropic/claude-sonnet-4-5"
    assert catalogue.resolve("openrouter/openai/gpt-4o-mini").provider == "openrouter"
    assert "no LLM price" in catalogue.resolve("gpt-99")


def test_a_malformed_price_entry_is_refused():
    with pytest.raises(CatalogueError, match="provider"):
        parse_llm_catalogue({"models": {"acme/model": {"input": 1, "output": 1, "source": "x", "date": "d"}}})
    with pytest.raises(CatalogueError, match="non-negative"):
        parse_llm_catalogue({"models": {"openai/x": {"input": -1, "output": 1, "source": "x", "date": "d"}}})
    assert json.loads(LLM_PRICES.read_text())["models"]  # the committed file parses (load above)


def test_usage_comes_from_each_services_default_model():
    cfg = validated("dev")
    usage = {u.service: u for u in llm_usage(cfg)}
    # dev's api and worker name claude-sonnet-5-5; context names no model, so it is not estimated.
    assert set(usage) == {"api", "worker"}
    assert usage["api"].models == {"claude-sonnet-5-5": 1.0}
    assert usage["api"].requests_per_day == cfg.cost.llm.requests_per_day


def test_a_per_service_model_mix_and_traffic_override_the_defaults():
    cfg = validated("dev", {"cost.llm.services": {"context": {"requestsPerDay": 50,
                                                              "models": {"openai/gpt-4o-mini": 1}}}})
    usage = {u.service: u for u in llm_usage(cfg)}
    assert usage["context"].requests_per_day == 50 and usage["context"].models == {"openai/gpt-4o-mini": 1}
    assert usage["context"].input_tokens == cfg.cost.llm.input_tokens_per_request


def test_the_monthly_figure_is_requests_times_tokens_at_the_catalogue_price():
    report = estimate_llm([ServiceLlmUsage("api", 100, 1000, 200, {"anthropic/claude-haiku-4-5": 1})],
                          budget_usd=10)
    # Haiku 4.5 at $1 in / $5 out per million tokens (platform.claude.com model page).
    expected = 100 * DAYS * (1000 * 1.0 + 200 * 5.0) / 1e6
    assert report.total == pytest.approx(expected) and report.to_json()["withinBudget"] is True


def test_a_service_with_traffic_but_no_model_is_refused():
    err = rejected("dev", {"cost.llm.services": {"context": {"requestsPerDay": 10}}})
    assert "defaultModel" in reason(err, "cost.llm.services.context.models")
    err = rejected("dev", {"cost.llm.services": {"nosuch": {"requestsPerDay": 10}}})
    assert "no service 'nosuch'" in reason(err, "cost.llm.services.nosuch")


def test_model_shares_must_sum_to_one():
    err = rejected("dev", {"cost.llm.services": {"api": {"models": {"claude-sonnet-4-5": 0.5}}}})
    assert_words(reason(err, "cost.llm.services.api.models"))


def test_seed_000_thresholds_are_the_small_stack_defaults():
    dev = validated("dev")
    assert dev.observability.alerts.llm_hourly_budget_usd == 5
    assert dev.observability.alerts.llm_daily_budget_usd == 50
    assert dev.cost.llm.monthly_budget_usd == 500
    prod = validated("prod")
    assert prod.observability.alerts.llm_daily_budget_usd == 250  # prod's stack file, deliberate


def test_an_hourly_alarm_below_a_day_within_budget_is_refused():
    err = rejected("staging", {"observability.alerts.llmHourlyBudgetUsd": 1})
    assert "llmDailyBudgetUsd / 24" in reason(err, "observability.alerts.llmHourlyBudgetUsd")


def test_every_stack_estimate_has_an_llm_section_with_its_assumptions():
    from planning.cost_report import stack_report
    from tests.harness import plan

    for stack in ("dev", "staging", "prod"):
        document = stack_report(plan(stack)).to_json()
        llm = document["llm"]
        assert llm["budgetUsd"] == validated(stack).cost.llm.monthly_budget_usd
        assert set(llm["usage"]) == {"api", "worker"} and llm["totalMonthlyUsd"] > 0
        assert "totalMonthlyUsd" in document and llm["totalMonthlyUsd"] != document["totalMonthlyUsd"]


def test_the_hourly_rule_is_deployed_with_the_configured_threshold():
    from components.observability.rules import llm_rules

    rules = {r["alert"]: r for r in llm_rules(validated("prod").observability.alerts, "agents")}
    assert rules["LlmHourlySpendHigh"]["expr"].endswith("[1h])) > 30")
    assert rules["LlmDailyBudgetExceeded"]["expr"].endswith("> 250")


def test_docs_state_the_llm_price_file():
    text = (Path(__file__).resolve().parent.parent / "docs" / "cost.md").read_text()
    assert "agent_costing/prices/llm.json" in text and "monthly-llm-budget" in text


def test_a_model_its_provider_retires_is_named_in_the_report():
    from agent_costing.llm import render_llm_text

    report = estimate_llm([ServiceLlmUsage("api", 10, 100, 10, {"claude-sonnet-4-5": 1})])
    # Anthropic's Claude Sonnet 4.5 model page: deprecated, "retires on November 30, 2026".
    assert report.to_json()["retiring"] == {"anthropic/claude-sonnet-4-5": "2026-11-30"}
    assert "anthropic/claude-sonnet-4-5 retires on 2026-11-30" in render_llm_text(report)
    assert estimate_llm([ServiceLlmUsage("api", 10, 100, 10, {"claude-haiku-4-5": 1})]).retiring == ()


@pytest.mark.parametrize("stack_file", sorted(Path(__file__).resolve().parent.parent.glob("Pulumi.*.yaml")),
                         ids=lambda p: p.name)
def test_no_committed_stack_calls_a_model_its_provider_has_retired(stack_file: Path):
    """A retired model fails every LLM call of the service: the stack files must move on before the provider does."""
    import datetime

    import yaml

    catalogue = load_llm_catalogue()
    services = (yaml.safe_load(stack_file.read_text())["config"] or {}).get("agent-platform:services") or {}
    today = datetime.date.today().isoformat()
    for name, service in services.items():
        model = (service or {}).get("defaultModel")
        if not model:
            continue
        price = catalogue.resolve(model)
        assert not isinstance(price, str), f"{stack_file.name}: services.{name}.defaultModel {model}: {price}"
        assert not price.retires or price.retires > today, (
            f"{stack_file.name}: services.{name}.defaultModel {model} retired on {price.retires}")
