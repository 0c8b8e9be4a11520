"""The edge dashboard: the public load balancer as CloudWatch reports it, then ingress-nginx behind it.

Requests, errors split by origin (the load balancer itself or the targets), target response time
percentiles and target health, then per-route traffic, errors and latency from the ingress controller's
own metrics: the view an on-call engineer needs before looking at a single service.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.dashboards.grafana import (
    CLOUDWATCH,
    Layout,
    cloudwatch,
    dashboard,
    datasource_variable,
    prom,
    timeseries,
)

UID = "agent-platform-edge"
ALB = "AWS/ApplicationELB"


def edge_dashboard(load_balancer: pulumi.Input[str], target_group: pulumi.Input[str] | None, *,
                   error_rate_percent: float, latency_p95_ms: int) -> dict[str, Any]:
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
    _ingress_controller(layout, error_rate_percent, latency_p95_ms)
    return dashboard(UID, "Agent platform / Edge", layout, tags=["edge", "alb", "ingress-nginx"],
                     description="The Application Load Balancer and ingress-nginx in front of the agent services.",
                     variables=[datasource_variable()])


def _ingress_controller(layout: Layout, error_rate_percent: float, latency_p95_ms: int) -> None:
    requests = "nginx_ingress_controller_requests"
    layout.row("Ingress controller (per route)")
    layout.add(timeseries("Requests by ingress", [
        prom(f"sum by (ingress) (rate({requests}[5m]))", "{{ingress}}")], unit="reqps"), w=8, h=8)
    layout.add(timeseries("5xx ratio by ingress", [
        prom(f'sum by (ingress) (rate({requests}{{status=~"5.."}}[5m]))\n'
             f"  / sum by (ingress) (rate({requests}[5m]))", "{{ingress}}")],
        unit="percentunit", thresholds=[(error_rate_percent / 100, "red")]), w=8, h=8)
    layout.add(timeseries("p95 latency by ingress", [
        prom("histogram_quantile(0.95, sum by (ingress, le) "
             "(rate(nginx_ingress_controller_request_duration_seconds_bucket[5m])))", "{{ingress}}")],
        unit="s", thresholds=[(latency_p95_ms / 1000, "red")]), w=8, h=8)
    layout.add(timeseries("429 (rate limited) by ingress", [
        prom(f'sum by (ingress) (rate({requests}{{status="429"}}[5m]))', "{{ingress}}")], unit="reqps"), w=12, h=8)
    layout.add(timeseries("Active connections", [
        prom('sum(nginx_ingress_controller_nginx_process_connections{state="active"})', "active")]), w=12, h=8)
