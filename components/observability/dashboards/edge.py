"""The edge dashboard: the public load balancer, each routed service's target group, and the WAF.

Requests, errors split by origin (the load balancer itself or the targets), target response time
percentiles and target health, then per routed service (its own `ip` target group on EKS) requests, 5xx,
p99 and healthy pods, then what the WAF blocked: all CloudWatch metrics, so the view still works when the
cluster does not. (ingress-nginx's Prometheus metrics went with it; the ALB reports per target group.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.observability.dashboards.grafana import (
    CLOUDWATCH,
    Layout,
    cloudwatch,
    dashboard,
    datasource_variable,
    timeseries,
)

UID = "agent-platform-edge"
ALB = "AWS/ApplicationELB"
WAF = "AWS/WAFV2"


def edge_dashboard(load_balancer: pulumi.Input[str], target_group: pulumi.Input[str] | None, *,
                   error_rate_percent: float, latency_p95_ms: int,
                   target_groups: Mapping[str, pulumi.Input[str]] | None = None,
                   web_acl_name: pulumi.Input[str] | None = None, region: str | None = None,
                   latency_p99_ms: int | None = None) -> dict[str, Any]:
    """``load_balancer``/``target_group`` are ARN suffixes (CloudWatch dimension values), possibly Outputs."""
    lb = {"LoadBalancer": load_balancer}
    tg = {"LoadBalancer": load_balancer, "TargetGroup": target_group} if target_group is not None else lb
    layout = Layout()
    layout.row("Load balancer")
    layout.add(timeseries("Requests", [cloudwatch(ALB, "RequestCount", lb, label="requests")],
                          datasource=CLOUDWATCH), w=8, h=8)
    layout.add(timeseries("5xx responses", [
        cloudwatch(ALB, "HTTPCode_ELB_5XX_Count", lb, label="from the load balancer", ref="A"),
        cloudwatch(ALB, "HTTPCode_Target_5XX_Count", lb, label="from targets", ref="B")],
        datasource=CLOUDWATCH, stack=True,
        description=f"The alarm fires above {error_rate_percent:g}% of requests."), w=8, h=8)
    layout.add(timeseries("4xx responses", [
        cloudwatch(ALB, "HTTPCode_ELB_4XX_Count", lb, label="from the load balancer", ref="A"),
        cloudwatch(ALB, "HTTPCode_Target_4XX_Count", lb, label="from targets", ref="B")],
        datasource=CLOUDWATCH, stack=True), w=8, h=8)
    layout.add(timeseries("Target response time", [
        cloudwatch(ALB, "TargetResponseTime", lb, stat="p50", label="p50", ref="A"),
        cloudwatch(ALB, "TargetResponseTime", lb, stat="p95", label="p95", ref="B"),
        cloudwatch(ALB, "TargetResponseTime", lb, stat="p99", label="p99", ref="C")],
        unit="s", datasource=CLOUDWATCH, thresholds=[(latency_p95_ms / 1000, "red")]), w=12, h=8)
    layout.add(timeseries("Target health", [
        cloudwatch(ALB, "HealthyHostCount", tg, stat="Minimum", label="healthy", ref="A"),
        cloudwatch(ALB, "UnHealthyHostCount", tg, stat="Maximum", label="unhealthy", ref="B")],
        datasource=CLOUDWATCH), w=12, h=8)
    layout.add(timeseries("Connections", [
        cloudwatch(ALB, "ActiveConnectionCount", lb, label="active", ref="A"),
        cloudwatch(ALB, "RejectedConnectionCount", lb, label="rejected", ref="B")],
        datasource=CLOUDWATCH), w=12, h=8)
    layout.add(timeseries("Processed bytes", [cloudwatch(ALB, "ProcessedBytes", lb, label="bytes")],
                          unit="bytes", datasource=CLOUDWATCH), w=12, h=8)
    if target_groups:
        _target_groups(layout, load_balancer, target_groups, error_rate_percent, latency_p99_ms)
    if web_acl_name is not None and region is not None:
        _waf(layout, web_acl_name, region)
    return dashboard(UID, "Agent platform / Edge", layout, tags=["edge", "alb", "waf"],
                     description="The Application Load Balancer, its per-service target groups and the WAF.",
                     variables=[datasource_variable()])


def _target_groups(layout: Layout, load_balancer: pulumi.Input[str], target_groups: Mapping[str, pulumi.Input[str]],
                   error_rate_percent: float, latency_p99_ms: int | None) -> None:
    """One series per routed service: what ingress-nginx's per-ingress panels showed, from the ALB's metrics."""
    def per_service(metric: str, stat: str = "Sum") -> list[dict[str, Any]]:
        return [cloudwatch(ALB, metric, {"LoadBalancer": load_balancer, "TargetGroup": tg}, stat=stat, label=svc,
                           ref=chr(ord("A") + i)) for i, (svc, tg) in enumerate(sorted(target_groups.items()))]

    layout.row("Per service (target group)")
    layout.add(timeseries("Requests by service", per_service("RequestCountPerTarget"), datasource=CLOUDWATCH,
                          description="Requests per pod."), w=8, h=8)
    layout.add(timeseries("5xx from pods by service", per_service("HTTPCode_Target_5XX_Count"),
                          datasource=CLOUDWATCH,
                          description=f"Each service's alarm fires above {error_rate_percent:g}% of its requests."),
               w=8, h=8)
    layout.add(timeseries("p99 response time by service", per_service("TargetResponseTime", stat="p99"),
                          unit="s", datasource=CLOUDWATCH,
                          thresholds=[(latency_p99_ms / 1000, "red")] if latency_p99_ms else ()), w=8, h=8)
    layout.add(timeseries("Healthy pods by service", per_service("HealthyHostCount", stat="Minimum"),
                          datasource=CLOUDWATCH), w=12, h=8)
    layout.add(timeseries("Unhealthy pods by service", per_service("UnHealthyHostCount", stat="Maximum"),
                          datasource=CLOUDWATCH), w=12, h=8)


def _waf(layout: Layout, web_acl_name: pulumi.Input[str], region: str) -> None:
    """Requests the WAF blocked (managed rules and rate limits answer 403/429) against those it let through."""
    acl = {"WebACL": web_acl_name, "Region": region, "Rule": "ALL"}
    layout.row("WAF")
    layout.add(timeseries("Blocked and allowed requests", [
        cloudwatch(WAF, "BlockedRequests", acl, label="blocked", ref="A"),
        cloudwatch(WAF, "AllowedRequests", acl, label="allowed", ref="B")], datasource=CLOUDWATCH), w=24, h=8)
