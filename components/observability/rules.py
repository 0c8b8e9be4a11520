"""Prometheus alert rules, rendered from the stack's thresholds (``observability.alerts``).

The rules follow the metric contract in docs/observability.md. They replace the chart's generic
crash-loop, HPA and volume rules (disabled in the chart values) so each condition pages once, with the
threshold the stack chose.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent_contract.alerts import LLM_DAILY_BUDGET_ALERT

from config.observability import AlertThresholds

# Chart default rules superseded by the ones below.
SUPERSEDED_DEFAULT_RULES = ("KubePodCrashLooping", "KubeHpaMaxedOut", "KubePersistentVolumeFillingUp")

RUNBOOK = "docs/observability.md#alerts"


def num(value: float) -> str:
    """A threshold as PromQL writes it: 0.05, 10, 0.5 (never 0.05000000000000001)."""
    return format(round(value, 9), "g")


def _rule(alert: str, expr: str, severity: str, summary: str, description: str,
          for_minutes: int | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "alert": alert,
        "expr": expr,
        "labels": {"severity": severity, "platform": "agent-platform"},
        "annotations": {"summary": summary, "description": description,
                        "runbook": RUNBOOK},
    }
    if for_minutes:
        rule["for"] = f"{for_minutes}m"
    return rule


def agent_rules(t: AlertThresholds, namespace: str) -> list[dict[str, Any]]:
    ns = f'namespace="{namespace}"'
    by = "namespace, job"
    return [
        _rule(
            "AgentHighErrorRate",
            f'sum by ({by}) (rate(http_requests_total{{{ns}, status=~"5.."}}[5m]))\n'
            f"  / sum by ({by}) (rate(http_requests_total{{{ns}}}[5m]))\n"
            f"  > {num(t.error_rate_percent / 100)}",
            "critical", "High 5xx rate on {{ $labels.job }}",
            f"{{{{ $value | humanizePercentage }}}} of responses are 5xx (threshold {num(t.error_rate_percent)}%).",
            t.for_minutes),
        _rule(
            "AgentHighLatencyP95",
            f"histogram_quantile(0.95, sum by ({by}, le) "
            f"(rate(http_request_duration_seconds_bucket{{{ns}}}[5m])))\n"
            f"  > {num(t.latency_p95_ms / 1000)}",
            "warning", "High p95 latency on {{ $labels.job }}",
            f"p95 request latency is {{{{ $value | humanizeDuration }}}} (threshold {t.latency_p95_ms} ms).",
            t.for_minutes),
        _rule(
            "ContainerMemoryNearLimit",
            "max by (namespace, pod, container) (\n"
            f'  container_memory_working_set_bytes{{{ns}, container!=""}}\n'
            f'  / on (namespace, pod, container) kube_pod_container_resource_limits{{{ns}, resource="memory"}}\n'
            f") > {num(t.memory_percent / 100)}",
            "warning", "{{ $labels.pod }}/{{ $labels.container }} is near its memory limit",
            f"Working set is {{{{ $value | humanizePercentage }}}} of the limit (threshold {num(t.memory_percent)}%); "
            "the container will be OOM-killed at 100%.",
            t.memory_for_minutes),
    ]


def llm_rules(t: AlertThresholds, namespace: str) -> list[dict[str, Any]]:
    ns = f'namespace="{namespace}"'
    spend = f"sum(increase(llm_cost_dollars_total{{{ns}}}[24h]))"
    return [
        _rule(
            "LlmHighLatencyP95",
            "histogram_quantile(0.95, sum by (namespace, job, provider, model, le) "
            f"(rate(llm_request_duration_seconds_bucket{{{ns}}}[5m])))\n"
            f"  > {num(t.llm_latency_p95_seconds)}",
            "warning", "Slow LLM API: {{ $labels.provider }}/{{ $labels.model }}",
            f"p95 LLM call latency is {{{{ $value | humanizeDuration }}}} "
            f"(threshold {num(t.llm_latency_p95_seconds)} s).",
            t.for_minutes),
        _rule(
            "LlmHourlySpendHigh",
            f"sum(increase(llm_cost_dollars_total{{{ns}}}[1h])) > {num(t.llm_hourly_budget_usd)}",
            "warning", "LLM spend high in the last hour",
            f"LLM spend over the last hour is ${{{{ $value | printf \"%.2f\" }}}}, above "
            f"${num(t.llm_hourly_budget_usd)}/hour: a runaway loop or a traffic spike burns the daily budget."),
        _rule(
            "LlmDailyCostApproachingBudget",
            f"{spend} > {num(t.llm_budget_warning_usd)}",
            "warning", "LLM daily cost approaching budget",
            f"LLM spend over the last 24 h is ${{{{ $value | printf \"%.2f\" }}}}; the daily budget is "
            f"${num(t.llm_daily_budget_usd)} (warning at {num(t.llm_budget_warning_percent)}%)."),
        _rule(
            LLM_DAILY_BUDGET_ALERT,  # llm-alarm-within-budget reads the threshold after the last ">"
            f"{spend} > {num(t.llm_daily_budget_usd)}",
            "critical", "LLM daily budget exceeded",
            f"LLM spend over the last 24 h is ${{{{ $value | printf \"%.2f\" }}}}, above the daily budget of "
            f"${num(t.llm_daily_budget_usd)}."),
    ]


def data_rules(t: AlertThresholds) -> list[dict[str, Any]]:
    return [
        _rule(
            "DatabaseConnectionPoolHigh",
            "sum by (job) (pg_stat_database_numbackends)\n"
            "  / max by (job) (pg_settings_max_connections)\n"
            f"  > {num(t.db_connection_pool_percent / 100)}",
            "critical", "PostgreSQL connections almost exhausted",
            f"{{{{ $value | humanizePercentage }}}} of max_connections are in use "
            f"(threshold {num(t.db_connection_pool_percent)}%).",
            t.for_minutes),
        _rule("PostgresUnreachable", "pg_up == 0", "critical", "PostgreSQL is unreachable from the cluster",
              "The exporter cannot connect to the database with its own pg_monitor login.", t.for_minutes),
        _rule(
            "RedisEvictingKeys",
            f"increase(redis_evicted_keys_total[5m]) > {t.redis_evictions}",
            "warning", "Redis is evicting keys",
            "{{ $value | humanize }} keys were evicted in 5 minutes: sessions and queued work can be lost; "
            "raise the node type or lower TTLs."),
        _rule("RedisUnreachable", "redis_up == 0", "critical", "Redis is unreachable from the cluster",
              "The exporter cannot connect to Redis with the AUTH token.", t.for_minutes),
    ]


def kubernetes_rules(t: AlertThresholds) -> list[dict[str, Any]]:
    return [
        _rule(
            "PodCrashLooping",
            'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1',
            "critical", "{{ $labels.namespace }}/{{ $labels.pod }} is crash-looping",
            "Container {{ $labels.container }} keeps restarting; see `kubectl logs --previous`.",
            t.crash_looping_for_minutes),
        _rule(
            "HpaAtMaxReplicas",
            "kube_horizontalpodautoscaler_status_current_replicas\n"
            "  >= kube_horizontalpodautoscaler_spec_max_replicas\n"
            "unless kube_horizontalpodautoscaler_spec_max_replicas\n"
            "  == kube_horizontalpodautoscaler_spec_min_replicas",
            "warning", "{{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} is at max replicas",
            "The autoscaler cannot add capacity; raise maxReplicas or the node group size.",
            t.hpa_at_max_for_minutes),
        _rule(
            "PersistentVolumeAlmostFull",
            "kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes\n"
            f"  > {num(t.pvc_usage_percent / 100)}",
            "warning", "{{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is almost full",
            f"{{{{ $value | humanizePercentage }}}} used (threshold {num(t.pvc_usage_percent)}%); the StorageClass "
            "allows expansion.",
            t.for_minutes),
    ]


def scrape_rules(t: AlertThresholds, namespace: str, services: Iterable[str]) -> list[dict[str, Any]]:
    """One rule per configured service: a ServiceMonitor that selects nothing is otherwise silent."""
    return [
        _rule(
            "AgentServiceNotScraped",
            f'absent(up{{namespace="{namespace}", job="{service}"}})',
            "warning", f"{service} has no scrape target",
            f"Prometheus finds no target for service {service}: its Service lacks the label "
            f"app.kubernetes.io/name={service} or a port named http, or it has no ready pods.",
            t.missing_target_for_minutes)
        for service in services
    ]


def rule_groups(t: AlertThresholds, *, namespace: str, services: Iterable[str],
                data_tier: bool) -> list[dict[str, Any]]:
    """The PrometheusRule ``spec.groups``; data-tier rules only when exporters are deployed."""
    services = list(services)
    groups = [
        {"name": "agent-services", "rules": agent_rules(t, namespace)},
        {"name": "llm", "rules": llm_rules(t, namespace)},
        {"name": "kubernetes-workloads", "rules": kubernetes_rules(t)},
    ]
    if services:
        groups.append({"name": "scrape-coverage", "rules": scrape_rules(t, namespace, services)})
    if data_tier:
        groups.append({"name": "data-tier", "rules": data_rules(t)})
    return groups
