"""CloudWatch alarms on the managed services and the monthly AWS Budget, all notifying the alert topic.

These fire from AWS's own metrics, so they still page when the cluster (and with it Prometheus and
Alertmanager) is down. Every alarm notifies on ALARM and on OK, so a recovered incident closes itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components.core.context import StackContext
from config.observability import ObservabilityConfig

if TYPE_CHECKING:
    from components.data.tier import DataTier
    from components.edge.edge import Edge

GIB = 2**30


@dataclass(frozen=True)
class DataTierRefs:
    """What the data tier exposes for monitoring: endpoints, credentials' secret ARNs and instance ids."""

    postgres_host: pulumi.Input[str]
    postgres_port: pulumi.Input[int]
    database_name: pulumi.Input[str]
    app_db_secret_arn: pulumi.Input[str]
    # The exporter's own pg_monitor login (and its current version id, which rolls the exporter when it changes).
    monitor_db_secret_arn: pulumi.Input[str]
    monitor_db_secret_version: pulumi.Input[str]
    redis_host: pulumi.Input[str]
    redis_port: pulumi.Input[int]
    redis_auth_secret_arn: pulumi.Input[str]
    db_instance_id: pulumi.Input[str]
    # The sizes the storage and connection alarms compare with (max_connections: stated or estimated).
    postgres_allocated_storage_gib: int
    postgres_max_connections: int | None
    redis_replication_group_id: pulumi.Input[str]
    # The cache's member cluster ids (CloudWatch CacheClusterId), from the replication group itself.
    redis_member_cluster_ids: pulumi.Input[list[str]]
    secrets_kms_key_arns: Sequence[pulumi.Input[str]] = ()
    # Read replicas by their logical name (identifiers are outputs): each alarm is named by it, not by position.
    db_replica_instance_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # Shape of the secrets: JSON properties holding the login, or None for a plain-string secret.
    app_db_username_property: str = "username"
    app_db_password_property: str = "password"
    redis_auth_property: str | None = None
    # The secrets' first values (SecretVersions): the exporters' ExternalSecrets sync only after them.
    secret_versions: Sequence[pulumi.Resource] = ()
    # DocumentDB instances by their logical name (docdb-1, ...), when the stack has a document store.
    docdb_instance_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)

    @staticmethod
    def of(data: DataTier) -> DataTierRefs:
        """From a ``DataTier`` (its RDS instance is Multi-AZ, not replicated, so there is no replica lag)."""
        return DataTierRefs(
            postgres_host=data.postgres_host, postgres_port=data.postgres_port, database_name=data.database_name,
            app_db_secret_arn=data.app_db_secret_arn, monitor_db_secret_arn=data.monitor_db_secret_arn,
            monitor_db_secret_version=data.monitor_db_secret_version, redis_host=data.redis_host,
            redis_port=data.redis_port,
            redis_auth_secret_arn=data.redis_auth_secret_arn, db_instance_id=data.db_instance_id,
            redis_replication_group_id=data.redis_replication_group_id,
            redis_member_cluster_ids=data.redis_member_cluster_ids,
            postgres_allocated_storage_gib=data.postgres_allocated_storage_gib,
            postgres_max_connections=data.postgres_max_connections,
            secrets_kms_key_arns=[data.secrets_kms_key_arn], secret_versions=data.secret_versions,
            docdb_instance_ids=data.docdb_instance_ids)


@dataclass(frozen=True)
class EdgeRefs:
    """CloudWatch dimension values of the public load balancer (ARN suffixes)."""

    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str] | None = None
    # EKS: routed service -> its `ip` target group's ARN suffix (alarmed on per service).
    target_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # The web ACL's name (AWS/WAFV2 WebACL dimension) and region, when the stack has one.
    web_acl_name: pulumi.Input[str] | None = None

    @staticmethod
    def of(edge: Edge | None) -> EdgeRefs | None:
        """From an ``Edge``, or None when the stack has no public entry point."""
        if edge is None:
            return None
        return EdgeRefs(load_balancer_arn_suffix=edge.load_balancer_arn_suffix,
                        target_group_arn_suffix=edge.target_group_arn_suffix,
                        target_groups=dict(edge.target_group_arn_suffixes), web_acl_name=edge.web_acl_name)


@dataclass(frozen=True)
class VmServiceRefs:
    """One service's Auto Scaling group under ``runtime: vm``, and its target group for api services."""

    service: str
    autoscaling_group_name: pulumi.Input[str]
    min_size: int
    target_group_arn_suffix: pulumi.Input[str] | None = None


class Alarms:
    """Builds the alarms as children of ``parent``; each name is ``<stack name>-<role>`` in CloudWatch."""

    def __init__(self, name: str, parent: pulumi.Resource, context: StackContext, config: ObservabilityConfig,
                 topic_arn: pulumi.Input[str]) -> None:
        self._name = name
        self._parent = parent
        self._context = context
        self._topic = topic_arn
        self._cfg = config
        self.created: list[aws.cloudwatch.MetricAlarm] = []

    def alarm(self, role: str, description: str, *, threshold: float, comparison: str,
              treat_missing: str = "missing", **metric: Any) -> aws.cloudwatch.MetricAlarm:
        minutes = self._cfg.aws_alarms.evaluation_minutes
        if "metric_queries" not in metric:
            metric.setdefault("period", 60)
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-alarm-{role}",
            name=f"{self._context.name}-{role}",
            alarm_description=description,
            comparison_operator=comparison,
            threshold=threshold,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            treat_missing_data=treat_missing,
            actions_enabled=True,
            alarm_actions=[self._topic],
            ok_actions=[self._topic],
            tags=self._context.tags("observability"),
            opts=pulumi.ResourceOptions(parent=self._parent),
            **metric,
        )
        self.created.append(alarm)
        return alarm

    # -- data tier ------------------------------------------------------------------------------------

    def postgres(self, data: DataTierRefs) -> None:
        a = self._cfg.aws_alarms
        db = {"DBInstanceIdentifier": data.db_instance_id}
        self.alarm("rds-cpu", f"PostgreSQL CPU above {a.rds_cpu_percent:g}%.",
                   threshold=a.rds_cpu_percent, comparison="GreaterThanThreshold",
                   namespace="AWS/RDS", metric_name="CPUUtilization", statistic="Average", dimensions=db)
        free_bytes = data.postgres_allocated_storage_gib * GIB * a.rds_free_storage_percent / 100
        self.alarm("rds-free-storage",
                   f"PostgreSQL free storage below {a.rds_free_storage_percent:g}% of the allocated "
                   f"{data.postgres_allocated_storage_gib} GiB (storage autoscaling may be at its maximum).",
                   threshold=free_bytes, comparison="LessThanThreshold",
                   namespace="AWS/RDS", metric_name="FreeStorageSpace", statistic="Minimum", dimensions=db)
        # Config validation guarantees it is known (set, or estimated from the instance class).
        max_connections = a.rds_max_connections or data.postgres_max_connections
        assert max_connections is not None
        limit = max(1, int(max_connections * a.rds_connections_percent / 100))
        self.alarm("rds-connections",
                   f"PostgreSQL connections above {a.rds_connections_percent:g}% of max_connections "
                   f"({max_connections}).",
                   threshold=limit, comparison="GreaterThanThreshold",
                   namespace="AWS/RDS", metric_name="DatabaseConnections", statistic="Maximum", dimensions=db)
        for replica_name, replica in data.db_replica_instance_ids.items():
            self.alarm(f"rds-replica-{replica_name}-lag",
                       f"Read replica {replica_name} lags more than {a.rds_replica_lag_seconds} s.",
                       threshold=a.rds_replica_lag_seconds, comparison="GreaterThanThreshold",
                       namespace="AWS/RDS", metric_name="ReplicaLag", statistic="Maximum",
                       dimensions={"DBInstanceIdentifier": replica})

    def documentdb(self, data: DataTierRefs) -> None:
        """CPU of each DocumentDB instance (AWS/DocDB CPUUtilization by DBInstanceIdentifier), at the RDS threshold."""
        a = self._cfg.aws_alarms
        for instance_name, instance in data.docdb_instance_ids.items():
            self.alarm(f"{instance_name}-cpu", f"DocumentDB instance {instance_name} CPU above {a.rds_cpu_percent:g}%.",
                       threshold=a.rds_cpu_percent, comparison="GreaterThanThreshold", namespace="AWS/DocDB",
                       metric_name="CPUUtilization", statistic="Average",
                       dimensions={"DBInstanceIdentifier": instance})

    def log_search(self, domain_name: pulumi.Input[str]) -> None:
        """The log search domain is red (a primary shard unassigned) or refuses writes (disk or memory pressure):
        AWS/ES ClusterStatus.red and ClusterIndexWritesBlocked by DomainName and ClientId (the account)."""
        dims = {"DomainName": domain_name, "ClientId": self._context.account_id}
        self.alarm("log-search-red", "Log search domain is red: at least one primary shard is unassigned.",
                   threshold=1, comparison="GreaterThanOrEqualToThreshold", namespace="AWS/ES",
                   metric_name="ClusterStatus.red", statistic="Maximum", dimensions=dims)
        self.alarm("log-search-writes-blocked", "Log search domain blocks writes: new logs are rejected.",
                   threshold=1, comparison="GreaterThanOrEqualToThreshold", namespace="AWS/ES",
                   metric_name="ClusterIndexWritesBlocked", statistic="Maximum", dimensions=dims)

    def redis(self, data: DataTierRefs) -> None:
        a = self._cfg.aws_alarms

        def across_nodes(metric: str, stat: str, combine: str, label: str) -> pulumi.Output[list[dict[str, Any]]]:
            # One query per member cluster, as the data tier reports them (not rebuilt from a naming convention).
            def queries(nodes: list[str]) -> list[dict[str, Any]]:
                found: list[dict[str, Any]] = [
                    {"id": f"n{i}", "return_data": False,
                     "metric": {"namespace": "AWS/ElastiCache", "metric_name": metric, "stat": stat, "period": 60,
                                "dimensions": {"CacheClusterId": node}}}
                    for i, node in enumerate(nodes)]
                ids = ", ".join(q["id"] for q in found)
                found.append({"id": "e1", "expression": f"{combine}([{ids}])", "label": label, "return_data": True})
                return found
            return pulumi.Output.from_input(data.redis_member_cluster_ids).apply(queries)

        self.alarm("cache-cpu", f"Redis engine CPU above {a.cache_cpu_percent:g}% on the busiest node.",
                   threshold=a.cache_cpu_percent, comparison="GreaterThanThreshold",
                   metric_queries=across_nodes("EngineCPUUtilization", "Average", "MAX", "busiest node CPU"))
        self.alarm("cache-memory", f"Redis memory usage above {a.cache_memory_percent:g}% on the fullest node.",
                   threshold=a.cache_memory_percent, comparison="GreaterThanThreshold",
                   metric_queries=across_nodes("DatabaseMemoryUsagePercentage", "Maximum", "MAX",
                                               "fullest node memory"))
        self.alarm("cache-evictions", f"Redis evicted more than {a.cache_evictions} keys.",
                   threshold=a.cache_evictions, comparison="GreaterThanThreshold", treat_missing="notBreaching",
                   metric_queries=across_nodes("Evictions", "Sum", "SUM", "evicted keys"))

    # -- edge -----------------------------------------------------------------------------------------

    def load_balancer(self, edge: EdgeRefs) -> None:
        a, cfg = self._cfg.aws_alarms, self._cfg
        lb = {"LoadBalancer": edge.load_balancer_arn_suffix}

        def count(query_id: str, metric: str) -> dict[str, Any]:
            return {"id": query_id, "return_data": False,
                    "metric": {"namespace": "AWS/ApplicationELB", "metric_name": metric, "stat": "Sum",
                               "period": 60, "dimensions": lb}}

        self.alarm(
            "alb-5xx-rate", f"More than {cfg.alb_5xx_percent:g}% of requests end in a 5xx (load balancer or targets).",
            threshold=cfg.alb_5xx_percent, comparison="GreaterThanThreshold", treat_missing="notBreaching",
            metric_queries=[
                count("elb5xx", "HTTPCode_ELB_5XX_Count"), count("target5xx", "HTTPCode_Target_5XX_Count"),
                count("requests", "RequestCount"),
                {"id": "rate", "label": "5xx %", "return_data": True,
                 "expression": "IF(requests > 0, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)"},
            ])
        self.alarm("alb-target-p95", f"Target response time p95 above {cfg.alb_target_p95_ms} ms.",
                   threshold=cfg.alb_target_p95_ms / 1000, comparison="GreaterThanThreshold",
                   treat_missing="notBreaching", namespace="AWS/ApplicationELB", metric_name="TargetResponseTime",
                   extended_statistic="p95", dimensions=lb)
        if edge.target_group_arn_suffix is not None:
            self.alarm("alb-unhealthy-hosts", f"More than {a.alb_unhealthy_hosts} unhealthy targets.",
                       threshold=a.alb_unhealthy_hosts, comparison="GreaterThanThreshold",
                       namespace="AWS/ApplicationELB", metric_name="UnHealthyHostCount", statistic="Maximum",
                       dimensions={**lb, "TargetGroup": edge.target_group_arn_suffix})

        for service, target_group in sorted(edge.target_groups.items()):
            self._target_group(service, edge.load_balancer_arn_suffix, target_group)
        if edge.web_acl_name is not None:
            self._waf_blocked(edge.web_acl_name)

    def _target_group(self, service: str, load_balancer: pulumi.Input[str], target_group: pulumi.Input[str]) -> None:
        """One routed service: its targets' 5xx share, p99 response time and unhealthy pods."""
        a, cfg = self._cfg.aws_alarms, self._cfg
        tg = {"LoadBalancer": load_balancer, "TargetGroup": target_group}

        def count(query_id: str, metric: str) -> dict[str, Any]:
            return {"id": query_id, "return_data": False,
                    "metric": {"namespace": "AWS/ApplicationELB", "metric_name": metric, "stat": "Sum",
                               "period": 60, "dimensions": tg}}

        self.alarm(
            f"edge-{service}-5xx-rate", f"Service {service}: more than {cfg.alb_5xx_percent:g}% of its requests "
            "end in a 5xx from its pods.",
            threshold=cfg.alb_5xx_percent, comparison="GreaterThanThreshold", treat_missing="notBreaching",
            metric_queries=[
                count("target5xx", "HTTPCode_Target_5XX_Count"), count("requests", "RequestCount"),
                {"id": "rate", "label": "5xx %", "return_data": True,
                 "expression": "IF(requests > 0, 100 * FILL(target5xx, 0) / requests, 0)"},
            ])
        self.alarm(f"edge-{service}-p99", f"Service {service}: target response time p99 above "
                   f"{a.alb_target_p99_ms} ms.",
                   threshold=a.alb_target_p99_ms / 1000, comparison="GreaterThanThreshold",
                   treat_missing="notBreaching", namespace="AWS/ApplicationELB", metric_name="TargetResponseTime",
                   extended_statistic="p99", dimensions=tg)
        self.alarm(f"edge-{service}-unhealthy-hosts",
                   f"Service {service}: more than {a.alb_unhealthy_hosts} unhealthy pods in its target group.",
                   threshold=a.alb_unhealthy_hosts, comparison="GreaterThanThreshold",
                   namespace="AWS/ApplicationELB", metric_name="UnHealthyHostCount", statistic="Maximum",
                   dimensions=tg)

    def _waf_blocked(self, web_acl_name: pulumi.Input[str]) -> None:
        """The web ACL blocks an unusual share of requests (AWS/WAFV2, dimensions WebACL, Region, Rule=ALL)."""
        a = self._cfg.aws_alarms
        acl = {"WebACL": web_acl_name, "Region": self._context.region, "Rule": "ALL"}

        def count(query_id: str, metric: str) -> dict[str, Any]:
            return {"id": query_id, "return_data": False,
                    "metric": {"namespace": "AWS/WAFV2", "metric_name": metric, "stat": "Sum", "period": 60,
                               "dimensions": acl}}

        self.alarm(
            "edge-waf-blocked", f"The WAF blocks more than {a.waf_blocked_percent:g}% of requests.",
            threshold=a.waf_blocked_percent, comparison="GreaterThanThreshold", treat_missing="notBreaching",
            metric_queries=[
                count("blocked", "BlockedRequests"), count("allowed", "AllowedRequests"),
                {"id": "share", "label": "blocked %", "return_data": True,
                 "expression": "IF(FILL(blocked, 0) + FILL(allowed, 0) > 0, "
                               "100 * FILL(blocked, 0) / (FILL(blocked, 0) + FILL(allowed, 0)), 0)"},
            ])

    # -- VM runtime ------------------------------------------------------------------------------------

    def vm_services(self, services: Sequence[VmServiceRefs], edge: EdgeRefs | None) -> None:
        """Per service: fewer in-service instances than its minimum; per api service: unhealthy targets.

        The load balancer's own unhealthy-hosts alarm watches one target group; on VMs each api service has its
        own, so each gets its own alarm.
        """
        a = self._cfg.aws_alarms
        for svc in services:
            if svc.min_size > 0:
                # No data means the group reports nothing (deleted or metrics off): as bad as no instances.
                self.alarm(f"vm-{svc.service}-in-service",
                           f"Service {svc.service} has fewer than {svc.min_size} in-service instances.",
                           threshold=svc.min_size, comparison="LessThanThreshold", treat_missing="breaching",
                           namespace="AWS/AutoScaling", metric_name="GroupInServiceInstances", statistic="Minimum",
                           dimensions={"AutoScalingGroupName": svc.autoscaling_group_name})
            if svc.target_group_arn_suffix is not None and edge is not None:
                self.alarm(f"vm-{svc.service}-unhealthy-hosts",
                           f"Service {svc.service}: more than {a.alb_unhealthy_hosts} unhealthy targets.",
                           threshold=a.alb_unhealthy_hosts, comparison="GreaterThanThreshold",
                           namespace="AWS/ApplicationELB", metric_name="UnHealthyHostCount", statistic="Maximum",
                           dimensions={"LoadBalancer": edge.load_balancer_arn_suffix,
                                       "TargetGroup": svc.target_group_arn_suffix})


def monthly_budget(name: str, parent: pulumi.Resource, context: StackContext, obs: ObservabilityConfig,
                   limit_usd: float, topic_arn: pulumi.Input[str]) -> aws.budgets.Budget:
    """Monthly COST budget: forecast notifications at the configured shares, and actual spend at 100%."""
    notifications: list[Mapping[str, Any]] = [
        {"comparison_operator": "GREATER_THAN", "notification_type": "FORECASTED", "threshold": pct,
         "threshold_type": "PERCENTAGE", "subscriber_sns_topic_arns": [topic_arn]}
        for pct in sorted(obs.budget_forecast_alert_percents)]
    notifications.append({"comparison_operator": "GREATER_THAN", "notification_type": "ACTUAL", "threshold": 100,
                          "threshold_type": "PERCENTAGE", "subscriber_sns_topic_arns": [topic_arn]})
    cost_filters = None
    if obs.budget_scope == "stackTag":
        cost_filters = [{"name": "TagKeyValue", "values": [f"user:stack${context.stack}"]}]
    return aws.budgets.Budget(
        f"{name}-budget",
        name=f"{context.name}-monthly",
        budget_type="COST",
        time_unit="MONTHLY",
        limit_amount=f"{limit_usd:.2f}",
        limit_unit="USD",
        cost_filters=cost_filters,
        notifications=notifications,
        tags=context.tags("observability"),
        opts=pulumi.ResourceOptions(parent=parent),
    )
