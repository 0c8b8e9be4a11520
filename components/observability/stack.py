"""ObservabilityStack: metrics, dashboards, alerts, container logs and spend alerts for one environment.

Prometheus, Alertmanager and Grafana (kube-prometheus-stack) run in ``monitoring``; node agents that need
the host (node-exporter, Fluent Bit) run in ``monitoring-agents``. Every configured agent service gets a
ServiceMonitor and a row on the LLM agent dashboard; alert thresholds come from the stack config. AWS-side
alarms and the monthly budget notify the same KMS-encrypted SNS topic as Alertmanager, so an outage of the
cluster still pages. Credentials (Grafana admin, Slack webhook, exporter logins) stay in Secrets Manager and
reach pods through External Secrets Operator, never through chart values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from components.core import iam
from components.core.context import StackContext
from components.core.irsa import OidcIssuer, service_account_role
from components.core.logs import log_group
from components.core.namespace import kubernetes_provider, restricted_namespace
from components.observability import charts
from components.observability.alarms import (
    Alarms,
    DataTierRefs,
    EdgeRefs,
    VmServiceRefs,
    monthly_budget,
)
from components.observability.dashboards.data_tier import data_tier_dashboard
from components.observability.dashboards.edge import edge_dashboard
from components.observability.dashboards.llm_agents import llm_agents_dashboard
from components.observability.log_search import LogSearch, LogSearchNetwork, log_search_domain
from components.observability.redis_exporter import redis_exporter
from components.observability.rules import rule_groups
from components.observability.secrets import MANAGED_LABELS, SecretSync
from components.services.eks.workload import HTTP_PORT_NAME, selector
from config.observability import ObservabilityConfig
from config.services import MONITORING_NAMESPACE, SERVICES_NAMESPACE, ServiceConfig

__all__ = ["CloudWatchMonitoring", "DataTierRefs", "EdgeRefs", "KubernetesMonitoring", "MonitoringTarget",
           "ObservabilityStack", "ObservabilityStackArgs"]

NODE_AGENTS_NAMESPACE = "monitoring-agents"
PROMETHEUS_API = "monitoring.coreos.com/v1"
DASHBOARD_FOLDER = "Agent platform"
COMPONENT = "observability"
_MANAGED = MANAGED_LABELS


class MonitoringTarget(Protocol):
    """The seam between observability and the runtime: what there is to watch besides CloudWatch metrics."""

    # Each VM service's Auto Scaling group (and api target group), alarmed on in CloudWatch; none on EKS.
    vm_services: Sequence[VmServiceRefs]

    def install(self, stack: ObservabilityStack) -> pulumi.Output[str] | None:
        """Register the runtime's own monitoring under ``stack``; the Grafana admin secret's ARN if there is one."""
        ...


@dataclass(frozen=True)
class KubernetesMonitoring:
    """EKS: kube-prometheus-stack, exporters, dashboards and Fluent Bit, installed into the cluster.

    ``external_secrets`` is what must be running before ExternalSecrets apply (the ESO release);
    ``agents_namespace`` the namespace the ServiceMonitors go into.
    """

    oidc: OidcIssuer
    ready: Sequence[pulumi.Resource]
    storage_class: pulumi.Resource
    external_secrets: Sequence[pulumi.Resource] = ()
    agents_namespace: pulumi.Resource | None = None
    vm_services: Sequence[VmServiceRefs] = ()

    def install(self, stack: ObservabilityStack) -> pulumi.Output[str] | None:
        return stack.install_in_cluster(self)


@dataclass(frozen=True)
class CloudWatchMonitoring:
    """VMs: no cluster to scrape; the instances' groups are alarmed on in CloudWatch, as everything else is."""

    vm_services: Sequence[VmServiceRefs] = ()

    def install(self, stack: ObservabilityStack) -> pulumi.Output[str] | None:
        return None


@dataclass(frozen=True)
class ObservabilityStackArgs:
    """The platform, the cluster to install into, the alert topic and whatever else of the stack exists.

    ``target`` is what this stack's runtime gives to watch (targets.py). ``data`` and ``edge`` are optional:
    without them the exporters, data-tier and edge dashboards and their alarms are left out.
    """

    context: StackContext
    config: ObservabilityConfig
    # The services to scrape and chart (their ports, metrics paths, released or not).
    services: Mapping[str, ServiceConfig]
    target: MonitoringTarget
    monthly_budget_usd: float
    # How long a deleted Grafana/Slack secret stays recoverable (the data tier's setting, for every secret).
    secret_recovery_window_days: int
    alert_topic_arn: pulumi.Input[str]
    alert_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    data: DataTierRefs | None = None
    edge: EdgeRefs | None = None
    slack_webhook_url: pulumi.Input[str] | None = None
    # Where the log search domain goes (observability.logSearch); None: no domain.
    log_search_network: LogSearchNetwork | None = None


class ObservabilityStack(pulumi.ComponentResource):
    """kube-prometheus-stack, exporters, dashboards, alert rules, Fluent Bit, CloudWatch alarms and a budget."""

    prometheus_namespace: str
    grafana_service: str
    grafana_secret_arn: pulumi.Output[str] | None  # None where there is no in-cluster Grafana (VMs)
    container_log_group_prefix: str

    def __init__(self, name: str, args: ObservabilityStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:observability:ObservabilityStack", name, None, opts)
        self._name, self._args = name, args
        self._context = context = args.context
        self._obs, self._services = args.config, args.services
        self.prometheus_namespace = MONITORING_NAMESPACE
        self.grafana_service = charts.GRAFANA_SERVICE
        self.container_log_group_prefix = f"/{context.project}/{context.stack}/containers"
        self.log_search: LogSearch | None = None
        if args.config.log_search.enabled and args.log_search_network is not None:
            self.log_search = log_search_domain(self, name, args.config.log_search, context,
                                                network=args.log_search_network, logs_key_arn=args.logs_key_arn,
                                                log_retention_days=args.config.log_retention_days)
        self.grafana_secret_arn = args.target.install(self)
        self._cloudwatch()
        self.register_outputs({"prometheus_namespace": self.prometheus_namespace,
                               "grafana_service": self.grafana_service,
                               **({"grafana_secret_arn": self.grafana_secret_arn}
                                  if self.grafana_secret_arn is not None else {})})

    def install_in_cluster(self, target: KubernetesMonitoring) -> pulumi.Output[str]:
        """Prometheus, Grafana, exporters, dashboards, rules and Fluent Bit in the cluster (EKS runtime only)."""
        name, args, context = self._name, self._args, self._context
        self._target = target
        self._provider = kubernetes_provider(self)
        ready = list(target.ready)

        monitoring = restricted_namespace(f"{name}-namespace", MONITORING_NAMESPACE, provider=self._provider,
                                          parent=self, depends_on=ready,
                                          labels={"agent-platform/workloads": "observability"})
        node_agents = self._node_agents_namespace(ready)
        self._network_policies(monitoring, node_agents)

        secrets = SecretSync(name, self, context, provider=self._provider, oidc=target.oidc,
                             namespace=MONITORING_NAMESPACE, tags=self._tags(),
                             recovery_window_days=args.secret_recovery_window_days).build(
            monitoring, slack_webhook_url=args.slack_webhook_url, data=args.data,
            external_secrets=target.external_secrets)
        synced = secrets.resources

        # Prometheus and Alertmanager claim volumes of the encrypted StorageClass: it must exist before their claims.
        stack = self._kube_prometheus_stack([monitoring, node_agents, target.storage_class, *synced, *ready],
                                            slack=secrets.slack)
        self._scrape_services(stack)
        self._alert_rules(stack)
        self._dashboards(monitoring)
        if args.data is not None:
            self._exporters(args.data, [stack, *synced])
        self._fluent_bit(node_agents, stack)
        return secrets.grafana_secret_arn

    # -- helpers --------------------------------------------------------------------------------------------

    def _cloudwatch(self) -> None:
        args = self._args
        alarms = Alarms(self._name, self, self._context, args.config, args.alert_topic_arn)
        if args.data is not None:
            alarms.postgres(args.data)
            alarms.redis(args.data)
            alarms.documentdb(args.data)
        if self.log_search is not None:
            alarms.log_search(self.log_search.domain.domain_name)
        if args.edge is not None:
            # Each api service has its own target group (VMs: below; EKS: in load_balancer), alarmed on per service.
            per_service = args.target.vm_services or args.edge.target_groups
            alarms.load_balancer(replace(args.edge, target_group_arn_suffix=None) if per_service else args.edge)
        alarms.vm_services(args.target.vm_services, args.edge)
        monthly_budget(self._name, self, self._context, args.config, args.monthly_budget_usd, args.alert_topic_arn)

    def _tags(self) -> dict[str, str]:
        return self._context.tags(COMPONENT)

    def _k8s(self, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=list(depends_on))

    def _release(self, role: str, chart: charts.Chart, release_name: str, namespace: str, values: dict[str, Any],
                 depends_on: Sequence[pulumi.Resource], timeout: int = 600) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            f"{self._name}-{role}",
            name=release_name,
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            namespace=namespace,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
            timeout=timeout,
            values=values,
            opts=self._k8s(*depends_on),
        )

    # -- namespaces and network -----------------------------------------------------------------------------

    def _node_agents_namespace(self, ready: list[pulumi.Resource]) -> k8s.core.v1.Namespace:
        """node-exporter (host network and PIDs) and Fluent Bit (reads /var/log) need a privileged namespace;
        keeping them apart leaves ``monitoring`` at the restricted level. Warnings still report at restricted."""
        return k8s.core.v1.Namespace(
            f"{self._name}-node-agents-namespace",
            metadata={"name": NODE_AGENTS_NAMESPACE, "labels": {
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
                "agent-platform/workloads": "node-agents",
                **_MANAGED,
            }},
            opts=self._k8s(*ready),
        )

    def _network_policies(self, monitoring: k8s.core.v1.Namespace, node_agents: k8s.core.v1.Namespace) -> None:
        """Prometheus and Alertmanager have no authentication of their own: only pods of ``monitoring`` reach
        them (Grafana through port-forward, which bypasses the network). The operator's admission webhook
        is called by the API server."""
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-monitoring-ingress",
            metadata={"name": "monitoring-ingress", "namespace": MONITORING_NAMESPACE, "labels": _MANAGED},
            spec={"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [
                {"from": [{"podSelector": {}}]},
                {"ports": [{"protocol": "TCP", "port": 10250}]},
            ]},
            opts=self._k8s(monitoring),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-node-agents-ingress",
            metadata={"name": "node-agents-ingress", "namespace": NODE_AGENTS_NAMESPACE, "labels": _MANAGED},
            spec={"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}]}]},
            opts=self._k8s(node_agents),
        )

    # -- metrics --------------------------------------------------------------------------------------------

    def _kube_prometheus_stack(self, depends_on: list[pulumi.Resource], *, slack: bool) -> k8s.helm.v3.Release:
        args, context = self._args, self._context
        alertmanager_role = service_account_role(
            f"{self._name}-alertmanager-role", self._target.oidc, namespace=MONITORING_NAMESPACE,
            service_account=charts.ALERTMANAGER_SERVICE_ACCOUNT, tags=self._tags(), parent=self,
            inline_policy=iam.document(
                iam.statement(["sns:Publish"], [args.alert_topic_arn], sid="PublishAlerts"),
                iam.statement(["kms:GenerateDataKey*", "kms:Decrypt"], [args.alert_key_arn],
                              sid="EncryptForTheAlertTopic"),
            ))
        grafana_role = service_account_role(
            f"{self._name}-grafana-role", self._target.oidc, namespace=MONITORING_NAMESPACE,
            service_account=charts.GRAFANA_SERVICE_ACCOUNT, tags=self._tags(), parent=self,
            # CloudWatch read actions have no resource-level permissions; this is the data source's minimum.
            inline_policy=iam.document(iam.statement(
                ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics",
                 "cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmsForMetric",
                 "cloudwatch:DescribeAlarmHistory"], ["*"], sid="ReadCloudWatchMetrics")))
        values = charts.kube_prometheus_stack_values(
            self._obs, context, node_agents_namespace=NODE_AGENTS_NAMESPACE, topic_arn=args.alert_topic_arn,
            alertmanager_role_arn=alertmanager_role.arn, grafana_role_arn=grafana_role.arn, slack=slack)
        return self._release("kube-prometheus-stack", charts.KUBE_PROMETHEUS_STACK, "kube-prometheus-stack",
                             MONITORING_NAMESPACE, values, depends_on, timeout=900)

    def _scrape_services(self, stack: k8s.helm.v3.Release) -> None:
        """A ServiceMonitor per configured service, next to it in its namespace, generated from config."""
        depends = [stack] + ([self._target.agents_namespace] if self._target.agents_namespace else [])
        interval = self._obs.prometheus.scrape_interval_seconds
        for service, svc_cfg in self._services.items():
            k8s.apiextensions.CustomResource(
                f"{self._name}-servicemonitor-{service}",
                api_version=PROMETHEUS_API,
                kind="ServiceMonitor",
                metadata={"name": service, "namespace": SERVICES_NAMESPACE,
                          "labels": {**selector(service), **_MANAGED}},
                spec={
                    # job=<service> in every series, whatever the Kubernetes Service is called.
                    "jobLabel": "app.kubernetes.io/name",
                    "selector": {"matchLabels": selector(service)},
                    "namespaceSelector": {"matchNames": [SERVICES_NAMESPACE]},
                    "endpoints": [{"port": HTTP_PORT_NAME, "path": svc_cfg.metrics_path, "interval": f"{interval}s",
                                   "scrapeTimeout": f"{min(interval, 10)}s"}],
                },
                opts=self._k8s(*depends))

    def _alert_rules(self, stack: k8s.helm.v3.Release) -> None:
        obs = self._obs
        k8s.apiextensions.CustomResource(
            f"{self._name}-alert-rules",
            api_version=PROMETHEUS_API,
            kind="PrometheusRule",
            metadata={"name": "agent-platform", "namespace": MONITORING_NAMESPACE, "labels": _MANAGED},
            # A service with no image yet has no pods: "not scraped" would page for a service not released.
            spec={"groups": rule_groups(obs.alerts, namespace=SERVICES_NAMESPACE,
                                        services=[n for n, c in self._services.items() if c.released],
                                        data_tier=self._args.data is not None)},
            opts=self._k8s(stack))

    def _dashboards(self, monitoring: k8s.core.v1.Namespace) -> None:
        args, obs = self._args, self._obs
        dashboards: dict[str, pulumi.Input[str]] = {
            "llm-agents": json.dumps(llm_agents_dashboard(list(self._services), SERVICES_NAMESPACE, obs.alerts),
                                     indent=1)}
        if args.data is not None:
            # The cache's member clusters as the data tier reports them (one panel query per node).
            dashboards["data-tier"] = pulumi.Output.all(args.data.db_instance_id, args.data.redis_member_cluster_ids) \
                .apply(lambda v: json.dumps(data_tier_dashboard(v[0], v[1], obs.alerts)))
        if args.edge is not None:
            dashboards["edge"] = pulumi.Output.json_dumps(edge_dashboard(
                args.edge.load_balancer_arn_suffix, args.edge.target_group_arn_suffix,
                error_rate_percent=obs.alb_5xx_percent,
                latency_p95_ms=obs.alb_target_p95_ms,
                target_groups=args.edge.target_groups, web_acl_name=args.edge.web_acl_name,
                region=self._context.region, latency_p99_ms=obs.aws_alarms.alb_target_p99_ms))
        for key, body in dashboards.items():
            k8s.core.v1.ConfigMap(
                f"{self._name}-dashboard-{key}",
                metadata={"name": f"dashboard-{key}", "namespace": MONITORING_NAMESPACE,
                          "labels": {charts.DASHBOARD_LABEL: "1", **_MANAGED},
                          "annotations": {charts.DASHBOARD_FOLDER_ANNOTATION: DASHBOARD_FOLDER}},
                data={f"{key}.json": body},
                opts=self._k8s(monitoring))

    def _exporters(self, data: DataTierRefs, depends_on: list[pulumi.Resource]) -> None:
        interval = self._obs.prometheus.scrape_interval_seconds
        self._release("postgres-exporter", charts.POSTGRES_EXPORTER, "postgres-exporter", MONITORING_NAMESPACE,
                      charts.postgres_exporter_values(host=data.postgres_host, port=data.postgres_port,
                                                      database=data.database_name, scrape_interval_seconds=interval,
                                                      login_version=data.monitor_db_secret_version),
                      depends_on)
        # Not the chart: its templates cannot carry a digest (components/observability/redis_exporter.py).
        opts = self._k8s(*depends_on)
        redis_exporter(f"{self._name}-redis-exporter", namespace=MONITORING_NAMESPACE, host=data.redis_host,
                       port=data.redis_port, password_secret=charts.REDIS_EXPORTER_SECRET,
                       scrape_interval_seconds=interval, labels=_MANAGED, pod_security=charts.NON_ROOT_POD,
                       container_security=charts.HARDENED_CONTAINER,
                       resources=charts.resources("50m", "32Mi", "64Mi"), monitor_api=PROMETHEUS_API, opts=opts)

    # -- logs -----------------------------------------------------------------------------------------------

    def _fluent_bit(self, node_agents: k8s.core.v1.Namespace, stack: k8s.helm.v3.Release) -> None:
        """Log groups exist before Fluent Bit starts, encrypted with the logs key and with bounded retention;
        Fluent Bit's role may only write streams into them."""
        obs, prefix = self._obs, self.container_log_group_prefix
        groups = [
            log_group(f"{self._name}-logs-{namespace}", f"{prefix}/{namespace}",
                      retention_days=obs.log_retention_days, kms_key_arn=self._args.logs_key_arn,
                      tags=self._tags(), parent=self)
            for namespace in [*obs.logs.namespaces, "unlisted"]]
        resources = [arn for group in groups for arn in (group.arn, pulumi.Output.concat(group.arn, ":*"))]
        statements = [iam.statement(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                    resources, sid="WriteContainerLogs")]
        search = self.log_search
        if search is not None:
            # HTTP calls to this domain only (the opensearch output signs its bulk requests with SigV4).
            statements.append(iam.statement(
                ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"],
                [search.domain_arn, pulumi.Output.concat(search.domain_arn, "/*")], sid="ShipToLogSearch"))
        role = service_account_role(
            f"{self._name}-fluent-bit-role", self._target.oidc, namespace=NODE_AGENTS_NAMESPACE,
            service_account=charts.FLUENT_BIT_SERVICE_ACCOUNT, tags=self._tags(), parent=self,
            inline_policy=iam.document(*statements))
        self._release("fluent-bit", charts.FLUENT_BIT, "fluent-bit", NODE_AGENTS_NAMESPACE,
                      charts.fluent_bit_values(self._obs, region=self._context.region, role_arn=role.arn,
                                               group_prefix=prefix,
                                               opensearch_host=search.endpoint if search else None,
                                               index_prefix=self._context.name),
                      [node_agents, stack, *groups])
