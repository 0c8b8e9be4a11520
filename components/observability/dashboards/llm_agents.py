"""The LLM agent dashboard: the seeds' panels for every configured service.

An overview row compares services; below it one row per service (a row repeated over the ``service``
variable, whose values are the services in the stack config) holds that service's detail. Queries use
the metric contract in docs/observability.md; ``job`` is the service name (the ServiceMonitors set it
from the ``app.kubernetes.io/name`` label).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from components.observability.dashboards.grafana import (
    Layout,
    bar_gauge,
    custom_variable,
    dashboard,
    datasource_variable,
    prom,
    stat,
    timeseries,
)
from config.observability import AlertThresholds

UID = "agent-platform-llm-agents"


def _pods_of(namespace: str, service: str) -> str:
    """Joins a per-pod series to the service whose app.kubernetes.io/name label the pod carries."""
    return (f'on (namespace, pod) group_left() '
            f'(kube_pod_labels{{namespace="{namespace}", label_app_kubernetes_io_name=~"{service}"}} > 0)')


def _overview(layout: Layout, ns: str, t: AlertThresholds) -> None:
    sel = f'namespace="{ns}", job=~"$service"'
    layout.row("Overview: all services")
    layout.add(timeseries("Request rate by service", [
        prom(f"sum by (job) (rate(http_requests_total{{{sel}}}[5m]))", "{{job}}")], unit="reqps"), w=8, h=8)
    layout.add(timeseries("5xx error rate by service", [
        prom(f'sum by (job) (rate(http_requests_total{{{sel}, status=~"5.."}}[5m]))\n'
             f"  / sum by (job) (rate(http_requests_total{{{sel}}}[5m]))", "{{job}}")],
        unit="percentunit", thresholds=[(t.error_rate_percent / 100, "red")]), w=8, h=8)
    layout.add(timeseries("p95 latency by service", [
        prom(f"histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m])))",
             "{{job}}")], unit="s", thresholds=[(t.latency_p95_ms / 1000, "red")]), w=8, h=8)
    layout.add(stat("LLM cost, last 24 h", [
        prom(f"sum(increase(llm_cost_dollars_total{{{sel}}}[24h]))", "spend")], unit="currencyUSD",
        description="Compared with observability.alerts.llmDailyBudgetUsd.",
        thresholds=[(t.llm_budget_warning_usd, "orange"), (t.llm_daily_budget_usd, "red")]), w=6, h=5)
    layout.add(stat("Active sessions", [
        prom(f"sum(agent_active_sessions{{{sel}}})", "sessions")]), w=6, h=5)
    layout.add(stat("Tool success rate", [
        prom(f'sum(rate(agent_tool_executions_total{{{sel}, status="success"}}[5m]))\n'
             f"  / sum(rate(agent_tool_executions_total{{{sel}}}[5m]))", "success")],
        unit="percentunit"), w=6, h=5)
    layout.add(stat("LLM requests / s", [
        prom(f"sum(rate(llm_requests_total{{{sel}}}[5m]))", "requests")], unit="reqps"), w=6, h=5)


def _service_row(layout: Layout, ns: str, t: AlertThresholds) -> None:
    sel = f'namespace="{ns}", job=~"$service"'
    layout.row("Service $service", repeat="service")
    layout.add(timeseries("Request rate", [
        prom(f"sum by (status) (rate(http_requests_total{{{sel}}}[5m]))", "{{status}}")],
        unit="reqps", stack=True), w=8, h=8)
    layout.add(timeseries("Latency p50 / p95", [
        prom(f"histogram_quantile(0.50, sum by (le) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m])))",
             "p50", "A"),
        prom(f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m])))",
             "p95", "B")], unit="s", thresholds=[(t.latency_p95_ms / 1000, "red")]), w=8, h=8)
    layout.add(timeseries("Error rate (5xx)", [
        prom(f'sum(rate(http_requests_total{{{sel}, status=~"5.."}}[5m]))\n'
             f"  / sum(rate(http_requests_total{{{sel}}}[5m]))", "5xx")],
        unit="percentunit", thresholds=[(t.error_rate_percent / 100, "red")]), w=8, h=8)
    layout.add(timeseries("Tool execution success rate", [
        prom(f'sum by (tool) (rate(agent_tool_executions_total{{{sel}, status="success"}}[5m]))\n'
             f"  / sum by (tool) (rate(agent_tool_executions_total{{{sel}}}[5m]))", "{{tool}}")],
        unit="percentunit"), w=8, h=8)
    layout.add(timeseries("LLM latency p95 by provider and model", [
        prom("histogram_quantile(0.95, sum by (provider, model, le) "
             f"(rate(llm_request_duration_seconds_bucket{{{sel}}}[5m])))", "{{provider}} {{model}}")],
        unit="s", thresholds=[(t.llm_latency_p95_seconds, "red")]), w=8, h=8)
    layout.add(timeseries("Token usage", [
        prom(f"sum by (provider, model, type) (rate(llm_tokens_total{{{sel}}}[5m]))",
             "{{provider}} {{model}} {{type}}")], unit="short", stack=True,
        description="Tokens per second by provider, model and type (prompt or completion)."), w=8, h=8)
    layout.add(bar_gauge("LLM cost per user, last 24 h (top 10)", [
        prom(f"topk(10, sum by (user_id) (increase(llm_cost_dollars_total{{{sel}}}[24h])))", "{{user_id}}")],
        unit="currencyUSD"), w=8, h=8)
    layout.add(timeseries("Active sessions", [
        prom(f"sum by (pod) (agent_active_sessions{{{sel}}})", "{{pod}}")], stack=True), w=8, h=8)
    layout.add(timeseries("Memory (working set and limit)", [
        prom(f'sum by (pod) (container_memory_working_set_bytes{{namespace="{ns}", container!="", '
             f'container!="POD"}} * {_pods_of(ns, "$service")})', "{{pod}}", "A"),
        prom(f'max(kube_pod_container_resource_limits{{namespace="{ns}", resource="memory"}} '
             f'* {_pods_of(ns, "$service")})', "limit", "B")],
        unit="bytes", thresholds=[]), w=8, h=8)


def llm_agents_dashboard(services: Sequence[str], namespace: str, thresholds: AlertThresholds) -> dict[str, Any]:
    layout = Layout()
    _overview(layout, namespace, thresholds)
    _service_row(layout, namespace, thresholds)
    return dashboard(
        UID, "Agent platform / LLM agents", layout, tags=["llm", "agents"],
        description="Traffic, latency, errors, tools, LLM latency, tokens, cost, sessions and memory of every "
                    "agent service.",
        variables=[datasource_variable(), custom_variable("service", "Service", list(services))],
    )
