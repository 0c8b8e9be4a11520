"""Observability intent: metrics, alert thresholds and routing, container logs and spend alerts.

Every threshold the alert rules and AWS alarms use lives here, so a stack tunes its alerting in its
stack file (``agent-platform:observability``) and the tier presets make dev lighter than prod.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator

from config.base import DnsName, LogRetentionDays, Model, RoleArn
from config.data import PostgresConfig

# Namespaces whose container logs have their own CloudWatch Logs group by default. Logs of any other
# namespace land in the "unlisted" group, so nothing is dropped when a namespace is added later.
DEFAULT_LOG_NAMESPACES = ("agents", "monitoring", "monitoring-agents", "aws-load-balancer-controller",
                          "external-secrets", "kube-system")

GIB = 2**30
# RDS for PostgreSQL's default: LEAST({DBInstanceClassMemory/9531392}, 5000), where DBInstanceClassMemory is
# the instance memory less what the OS and RDS processes reserve (about a fifth on small classes).
_RDS_BYTES_PER_CONNECTION = 9_531_392
_RDS_MAX_CONNECTIONS = 5000
_RDS_USABLE_MEMORY = 0.8
_BURSTABLE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
_GIB_PER_VCPU = {"m": 4, "r": 8, "x": 16, "z": 8, "c": 2}
_DB_CLASS = re.compile(r"^db\.(?P<family>[a-z]+)\d+[a-z-]*\.(?P<size>[a-z0-9]+)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_CPU = re.compile(r"^(\d+m|\d+(\.\d{1,3})?)$")
_MEMORY = re.compile(r"^\d+(Mi|Gi)$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"'{value}' is not an email address (e.g. oncall@example.com)")
    return value


def _cpu(value: str) -> str:
    if not _CPU.match(value) or value in ("0", "0m"):
        raise ValueError(f"'{value}' is not a CPU quantity (e.g. '500m' or '2')")
    return value


def _memory(value: str) -> str:
    if not _MEMORY.match(value) or int(value[:-2]) == 0:
        raise ValueError(f"'{value}' is not a memory quantity in Mi or Gi (e.g. '512Mi' or '4Gi')")
    return value


def _unique(values: list[Any], what: str) -> list[Any]:
    from config.base import unique

    return unique(values, what)


Email = Annotated[str, AfterValidator(_email)]
CpuQuantity = Annotated[str, AfterValidator(_cpu)]
MemoryQuantity = Annotated[str, AfterValidator(_memory)]
Percent = Annotated[float, Field(gt=0, le=100)]


class PrometheusConfig(Model):
    """Prometheus sizing: how long metrics are kept and the encrypted volume that holds them."""

    retention_days: int = Field(default=15, ge=1, le=365, description="Time-based retention of metrics.")
    volume_size_gib: int = Field(default=50, ge=10, le=16384,
                                 description="gp3 volume per replica (StorageClass gp3-encrypted).")
    retention_size_percent: int = Field(
        default=85, ge=50, le=95,
        description="Size-based retention as a share of the volume, so a full disk drops old blocks instead of "
                    "stopping ingestion.")
    replicas: int = Field(default=1, ge=1, le=3, description="2 gives HA scraping (each replica scrapes all).")
    scrape_interval_seconds: int = Field(default=30, ge=5, le=300)
    cpu_request: CpuQuantity = "500m"
    memory_request: MemoryQuantity = Field(default="2Gi", description="Also the memory limit (no overcommit).")

    @property
    def retention_size(self) -> str:
        """Prometheus size units are powers of two, so 'GB' here means GiB."""
        return f"{self.volume_size_gib * self.retention_size_percent // 100}GB"


class AlertmanagerConfig(Model):
    replicas: int = Field(default=1, ge=1, le=5, description="Replicas form a gossip cluster that deduplicates.")
    volume_size_gib: int = Field(default=2, ge=1, le=100, description="Silences and the notification log.")
    group_wait_seconds: int = Field(default=30, ge=0, le=600)
    group_interval_minutes: int = Field(default=5, ge=1, le=120)
    repeat_interval_hours: int = Field(default=12, ge=1, le=168, description="Re-notify while an alert fires.")


class GrafanaConfig(Model):
    replicas: int = Field(default=1, ge=1, le=1, description="SQLite state allows one replica; dashboards and "
                                                               "data sources are provisioned from code.")
    cpu_request: CpuQuantity = "100m"
    memory_request: MemoryQuantity = "256Mi"


class AlertThresholds(Model):
    """Prometheus alert thresholds (the seeds' values are the defaults)."""

    error_rate_percent: Percent = Field(default=5, description="Share of HTTP responses that are 5xx.")
    latency_p95_ms: int = Field(default=500, ge=1, le=600_000, description="p95 HTTP request latency.")
    llm_latency_p95_seconds: float = Field(default=10, gt=0, le=600, description="p95 LLM API call latency.")
    db_connection_pool_percent: Percent = Field(default=80, description="Backends in use over max_connections.")
    memory_percent: Percent = Field(default=90, description="Container working set over its memory limit.")
    # Seed 000's LLM cost thresholds ($5/hour, $50/day; its $500/month is cost.llm.monthlyBudgetUsd) are the
    # small-stack defaults; tiers and stacks with more traffic raise them (prod's stack file: $250/day).
    llm_hourly_budget_usd: float = Field(default=5, gt=0, description="LLM spend allowed per rolling hour.")
    llm_daily_budget_usd: float = Field(default=50, gt=0, description="LLM spend allowed per rolling 24 h.")
    llm_budget_warning_percent: Percent = Field(default=80, description="Warn at this share of the daily budget.")
    pvc_usage_percent: Percent = Field(default=85, description="Used space of a persistent volume.")
    redis_evictions: int = Field(default=0, ge=0, description="Evicted keys tolerated per 5 minutes.")
    for_minutes: int = Field(default=5, ge=1, le=120,
                             description="How long error rate, latency and pool usage must stay high.")
    memory_for_minutes: int = Field(default=10, ge=1, le=120)
    crash_looping_for_minutes: int = Field(default=15, ge=1, le=120)
    hpa_at_max_for_minutes: int = Field(default=15, ge=1, le=360)
    missing_target_for_minutes: int = Field(default=15, ge=5, le=360,
                                            description="A configured service with no scrape target at all.")

    @property
    def llm_budget_warning_usd(self) -> float:
        return self.llm_daily_budget_usd * self.llm_budget_warning_percent / 100


class AwsAlarmThresholds(Model):
    """CloudWatch alarm thresholds for the managed services (they alarm even if the cluster is down)."""

    evaluation_minutes: int = Field(default=5, ge=1, le=60, description="Consecutive 1-minute periods in breach.")
    rds_cpu_percent: Percent = 80
    rds_free_storage_percent: Percent = Field(default=10, description="Of dataTier.postgres.allocatedStorageGib.")
    rds_connections_percent: Percent = Field(default=80, description="Of the instance's max_connections.")
    rds_max_connections: int | None = Field(
        default=None, ge=1, le=262_143,
        description="max_connections of the database; estimated from the instance class when not set.")
    rds_replica_lag_seconds: int = Field(default=60, ge=1, le=86_400)
    cache_cpu_percent: Percent = Field(default=80, description="EngineCPUUtilization of the busiest node.")
    cache_memory_percent: Percent = Field(default=80, description="DatabaseMemoryUsagePercentage.")
    cache_evictions: int = Field(default=0, ge=0, description="Evicted keys tolerated per evaluation window.")
    alb_5xx_percent: Percent | None = Field(default=None, description="Defaults to alerts.errorRatePercent.")
    alb_target_p95_ms: int | None = Field(default=None, ge=1, le=600_000,
                                          description="Defaults to alerts.latencyP95Ms.")
    alb_unhealthy_hosts: int = Field(default=0, ge=0, description="Unhealthy targets tolerated.")
    alb_target_p99_ms: int = Field(default=30_000, ge=1, le=600_000,
                                   description="Per routed service (target group): TargetResponseTime p99. LLM "
                                               "calls are slow; the default is a tenth of the 300 s idle timeout.")
    waf_blocked_percent: Percent = Field(
        default=20, description="Share of the web ACL's requests it blocks (BlockedRequests) before an alarm: a "
                                "flood, or a rule blocking legitimate traffic.")


class LogsConfig(Model):
    namespaces: list[DnsName] = Field(
        default_factory=lambda: list(DEFAULT_LOG_NAMESPACES),
        description="Namespaces with their own log group /<project>/<stack>/containers/<namespace>; the others "
                    "share .../containers/unlisted.")
    fluent_bit_memory_limit: MemoryQuantity = "250Mi"

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: list[str]) -> list[str]:
        if "unlisted" in value:
            raise ValueError("'unlisted' is the group for namespaces not listed here")
        return _unique(value, "namespace")


# OpenSearch Service engine versions offered for log search (ListVersions; aws-cdk-lib EngineVersion OPENSEARCH_2_19,
# OPENSEARCH_3_1, OPENSEARCH_3_3). Fluent Bit's opensearch output needs Suppress_Type_Name On from 2.x on.
OPENSEARCH_VERSIONS = ("OpenSearch_2.19", "OpenSearch_3.1", "OpenSearch_3.3")
# Instance families with encryption at rest, node-to-node encryption and fine-grained access control (T2/T3 are left
# out: their small sizes lack some of them), Graviton and x86, as <family>.<size>.search.
_SEARCH_INSTANCE = re.compile(r"^(m5|m6g|m7g|r5|r6g|r7g|c5|c6g|c7g|or1|or2)\.(medium|large|xlarge|2xlarge|4xlarge|"
                              r"8xlarge|12xlarge|16xlarge)\.search$")


class LogSearchConfig(Model):
    """An Amazon OpenSearch Service domain for log search (what ELK users expect), fed by Fluent Bit.

    Always VPC-only, encrypted at rest (CMK) and between nodes, HTTPS with TLS 1.2+ (forward secrecy),
    fine-grained access control with an IAM master role (no internal users) and its logs in CloudWatch.
    """

    enabled: bool = Field(default=False, description="Create the domain and ship container logs to it.")
    engine_version: Literal["OpenSearch_2.19", "OpenSearch_3.1", "OpenSearch_3.3"] = Field(
        default="OpenSearch_2.19", description="OpenSearch engine version.")
    instance_type: str = Field(
        default="m6g.large.search", description="Data node instance type.",
        json_schema_extra={"allowed": "<m5|m6g|m7g|r5|r6g|r7g|c5|c6g|c7g|or1|or2>.<size>.search"})
    instance_count: int = Field(default=1, ge=1, le=80,
                                description="Data nodes (a multiple of the zone count with zone awareness).")
    volume_size_gib: int = Field(default=10, ge=10, le=16384, description="gp3 EBS volume per data node.")
    zone_awareness: bool = Field(default=False, description="Spread data nodes and replicas over AZs.")
    availability_zones: Literal[2, 3] = Field(default=3, description="AZs used with zone awareness (prod: 3).")
    admin_role_arns: list[RoleArn] = Field(
        default_factory=list,
        description="Admin roles of the domain; the first is the fine-grained access control master user "
                    "(empty: the first of deployRoleArns).")

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not _SEARCH_INSTANCE.match(value):
            raise ValueError(f"'{value}' is not an OpenSearch instance type with encryption and fine-grained access "
                             "control; use <m6g|r6g|...>.<size>.search (e.g. r6g.large.search)")
        return value

    def problems(self, environment: str, az_count: int | None) -> list[str]:
        out: list[str] = []
        if not self.enabled:
            return out
        path = "observability.logSearch"
        if self.zone_awareness:
            if self.instance_count % self.availability_zones:
                out.append(f"{path}.instanceCount: with zone awareness over {self.availability_zones} AZs the data "
                           f"nodes must be a multiple of {self.availability_zones} (got {self.instance_count})")
            if az_count is not None and self.availability_zones > az_count:
                out.append(f"{path}.availabilityZones: the VPC has {az_count} AZs")
        if environment == "prod" and not self.zone_awareness:
            out.append(f"{path}.zoneAwareness: prod spreads the log search domain over AZs")
        return out


class ObservabilityConfig(Model):
    log_retention_days: LogRetentionDays = Field(default=30, description="Retention of container log groups (a "
                                                                         "CloudWatch Logs retention).")
    alert_emails: list[Email] = Field(default_factory=list, description="Subscribed to the alert topic (each "
                                                                         "address confirms once).")
    prometheus: PrometheusConfig = PrometheusConfig()
    alertmanager: AlertmanagerConfig = AlertmanagerConfig()
    grafana: GrafanaConfig = GrafanaConfig()
    alerts: AlertThresholds = AlertThresholds()
    aws_alarms: AwsAlarmThresholds = AwsAlarmThresholds()
    logs: LogsConfig = LogsConfig()
    log_search: LogSearchConfig = Field(default_factory=LogSearchConfig,
                                        description="Optional Amazon OpenSearch Service domain for log search.")
    budget_forecast_alert_percents: list[Percent] = Field(
        default_factory=lambda: [80.0, 100.0], min_length=1, max_length=5,
        description="Forecasted monthly spend, as a share of cost.monthlyBudgetUsd, that notifies the alert topic.")
    budget_scope: Literal["account", "stackTag"] = Field(
        default="account",
        description="account: the whole account's spend (one account per environment); stackTag: only resources "
                    "tagged stack=<stack>, which needs 'stack' activated as a cost allocation tag.")

    @property
    def alb_5xx_percent(self) -> float:
        return self.aws_alarms.alb_5xx_percent or self.alerts.error_rate_percent

    @property
    def alb_target_p95_ms(self) -> int:
        return self.aws_alarms.alb_target_p95_ms or self.alerts.latency_p95_ms

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        return _unique(value, "address")

    @field_validator("budget_forecast_alert_percents")
    @classmethod
    def _percents(cls, value: list[float]) -> list[float]:
        return _unique(value, "percentage")


def estimated_max_connections(instance_class: str) -> int | None:
    """RDS PostgreSQL's default max_connections for a class, or None for a class this table does not know."""
    match = _DB_CLASS.match(instance_class)
    if not match:
        return None
    family, size = match["family"], match["size"]
    gib: int | None = None
    if family == "t":
        gib = _BURSTABLE_GIB.get(size)
    elif family[0] in _GIB_PER_VCPU:
        vcpus = {"large": 2, "xlarge": 4}.get(size)
        if vcpus is None and size.endswith("xlarge") and size[:-6].isdigit():
            vcpus = 4 * int(size[:-6])
        gib = vcpus * _GIB_PER_VCPU[family[0]] if vcpus else None
    if gib is None:
        return None
    return min(int(gib * GIB * _RDS_USABLE_MEMORY / _RDS_BYTES_PER_CONNECTION), _RDS_MAX_CONNECTIONS)


def postgres_max_connections(postgres: PostgresConfig) -> int | None:
    """The database's max_connections: set as a parameter, or RDS's default for the class (None if unknown)."""
    configured = postgres.parameters.get("max_connections", "")
    if configured.isdigit():
        return int(configured)
    return estimated_max_connections(postgres.instance_class)


def rds_max_connections(obs: ObservabilityConfig, postgres: PostgresConfig) -> int | None:
    """max_connections the connection alarm compares with: stated, set as a parameter, or estimated."""
    return obs.aws_alarms.rds_max_connections or postgres_max_connections(postgres)


def num_text(value: float) -> str:
    return f"${value:,.2f}".replace(".00", "")


def observability_problems(environment: str, obs: ObservabilityConfig, postgres: PostgresConfig | None) -> list[str]:
    """Rules that need other sections, as "camelCase.path: reason" lines."""
    problems = []
    if environment == "prod" and not obs.alert_emails:
        problems.append("observability.alertEmails: prod needs at least one address subscribed to the alert topic "
                        "(the Slack webhook, if any, is a second channel, not the only one)")
    alerts = obs.alerts
    if alerts.llm_hourly_budget_usd * 24 < alerts.llm_daily_budget_usd:
        problems.append(f"observability.alerts.llmHourlyBudgetUsd: {num_text(alerts.llm_hourly_budget_usd)}/hour x 24 "
                        f"is below the daily budget of {num_text(alerts.llm_daily_budget_usd)}, so the hourly alert "
                        "would fire on an ordinary day within budget; raise it to at least llmDailyBudgetUsd / 24")
    if postgres is not None and rds_max_connections(obs, postgres) is None:
        problems.append(f"observability.awsAlarms.rdsMaxConnections: max_connections of {postgres.instance_class} "
                        "cannot be estimated; set it (or dataTier.postgres.parameters.max_connections)")
    return problems
