"""Alert names both the program (the PrometheusRule it deploys) and the pack (which reads thresholds from it) use."""

from __future__ import annotations

# The critical rule on LLM spend over a rolling 24 h: `sum(increase(llm_cost_dollars_total[24h])) > <USD>`.
LLM_DAILY_BUDGET_ALERT = "LlmDailyBudgetExceeded"
PROMETHEUS_RULE_TYPE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
