"""Usage assumptions: the monthly volumes a plan cannot show (GB stored, GB through NAT, requests, logs).

Stacks set them in their config (``cost.usage``, tier defaults in ``config/tiers.py``) and the budget
policy receives the same values through its policy config, so the planner's report and the review's
gate price the same month.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple


class UsageField(NamedTuple):
    camel: str
    unit: str
    description: str
    maximum: float | None = None


# Field order is the order of the assumptions table in reports and docs.
USAGE_FIELDS: dict[str, UsageField] = {
    "nat_data_gb": UsageField(
        "natDataGb", "GB/month", "Data processed by the NAT gateways (shared evenly between them)."),
    "endpoint_data_gb": UsageField(
        "endpointDataGb", "GB/month", "Data processed by interface VPC endpoints (shared evenly between them)."),
    "load_balancer_lcu": UsageField(
        "loadBalancerLcu", "LCU", "Average load balancer capacity units each ALB (or NLCUs each NLB) uses per hour."),
    "waf_requests_millions": UsageField(
        "wafRequestsMillions", "million requests/month", "Web requests inspected by WAF (shared between web ACLs)."),
    "s3_storage_gb": UsageField(
        "s3StorageGb", "GB", "Data stored in S3 Standard across the stack's buckets (shared evenly between them)."),
    "ecr_storage_gb": UsageField(
        "ecrStorageGb", "GB", "Container images stored in ECR (shared evenly between repositories)."),
    "log_ingestion_gb": UsageField(
        "logIngestionGb", "GB/month", "Log data ingested into CloudWatch Logs (shared evenly between log groups; "
        "each group stores its share for its retention period)."),
    "backup_warm_gb": UsageField(
        "backupWarmGb", "GB", "AWS Backup warm storage of EBS/EFS/S3 recovery points per vault copy."),
    "backup_cold_gb": UsageField(
        "backupColdGb", "GB", "AWS Backup cold-tier storage (EBS snapshot archive) per vault copy."),
    "backup_rds_snapshot_gb": UsageField(
        "backupRdsSnapshotGb", "GB", "AWS Backup RDS snapshot storage per vault copy."),
    "spot_price_factor": UsageField(
        "spotPriceFactor", "x on-demand", "Spot price as a fraction of on-demand; 1.0 prices Spot nodes at "
        "on-demand (an upper bound, since Spot prices move hourly).", 1.0),
    "run_once_instance_hours": UsageField(
        "runOnceInstanceHours", "hours/month", "Hours each run-once Auto Scaling group (the VM runtime's database "
        "bootstrap) has its instance up: it starts when its inputs change and scales itself to 0.", 730),
    "ci_runner_build_minutes": UsageField(
        "ciRunnerBuildMinutes", "minutes/month", "Build minutes of the in-VPC CI runner (CodeBuild, billed per "
        "minute of its compute type): previews, deploys and drift checks of EKS stacks.", 44640),
    "document_db_storage_gb": UsageField(
        "documentDbStorageGb", "GB", "Data stored in the DocumentDB cluster volume (one logical copy; billed only "
        "when dataTier.documentStore is set)."),
    "document_db_io_millions": UsageField(
        "documentDbIoMillions", "million I/Os/month", "DocumentDB storage I/O requests (standard storage bills "
        "each million)."),
    "document_db_backup_gb": UsageField(
        "documentDbBackupGb", "GB", "DocumentDB backup storage beyond the free allowance (100% of the cluster's "
        "storage): long retention and AWS Backup snapshots."),
    "dr_replication_gb": UsageField(
        "drReplicationGb", "GB/month", "New or changed data replicated to the DR region each month (S3 Cross-Region "
        "Replication, RDS automated-backup replication; shared evenly between the replications). 0 without "
        "backup.drRegion."),
    "vector_snapshot_gb": UsageField(
        "vectorSnapshotGb", "GB", "What one snapshot run of a dedicated vector store (Qdrant, Weaviate) writes to S3, "
        "all nodes together: the store's data, not its volumes (priced at most at the volumes' size), times the runs "
        "its schedule makes and the days each retention class keeps them."),
}
CAMEL_TO_FIELD = {f.camel: name for name, f in USAGE_FIELDS.items()}


@dataclass(frozen=True)
class Usage:
    """One month of usage. Every field is an explicit assumption; none defaults silently to zero."""

    nat_data_gb: float
    endpoint_data_gb: float
    load_balancer_lcu: float
    waf_requests_millions: float
    s3_storage_gb: float
    ecr_storage_gb: float
    log_ingestion_gb: float
    backup_warm_gb: float
    backup_cold_gb: float
    backup_rds_snapshot_gb: float
    spot_price_factor: float
    run_once_instance_hours: float
    ci_runner_build_minutes: float
    document_db_storage_gb: float
    document_db_io_millions: float
    document_db_backup_gb: float
    dr_replication_gb: float
    vector_snapshot_gb: float

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{USAGE_FIELDS[f.name].camel}: must be a non-negative number (got {value!r})")
            limit = USAGE_FIELDS[f.name].maximum
            if limit is not None and value > limit:
                raise ValueError(f"{USAGE_FIELDS[f.name].camel}: must be at most {limit} (got {value!r})")
            object.__setattr__(self, f.name, float(value))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], defaults: Usage | None = None) -> Usage:
        """From camelCase keys (stack config, policy config); keys not given come from ``defaults``."""
        unknown = sorted(set(values) - set(CAMEL_TO_FIELD))
        if unknown:
            raise ValueError(f"unknown usage assumption(s): {', '.join(unknown)} "
                             f"(known: {', '.join(CAMEL_TO_FIELD)})")
        base = asdict(defaults) if defaults is not None else {}
        given = {CAMEL_TO_FIELD[k]: v for k, v in values.items()}
        missing = [USAGE_FIELDS[n].camel for n in USAGE_FIELDS if n not in given and n not in base]
        if missing:
            raise ValueError(f"missing usage assumption(s): {', '.join(missing)}")
        return cls(**{**base, **given})

    def to_json(self) -> dict[str, float]:
        return {USAGE_FIELDS[name].camel: value for name, value in asdict(self).items()}


# The policy's schema default: a small production-like month. Stacks state their own values per tier.
DEFAULT_USAGE = Usage(
    nat_data_gb=200, endpoint_data_gb=100, load_balancer_lcu=2, waf_requests_millions=5, s3_storage_gb=100,
    ecr_storage_gb=20, log_ingestion_gb=50, backup_warm_gb=100, backup_cold_gb=0, backup_rds_snapshot_gb=100,
    spot_price_factor=1.0, run_once_instance_hours=2, ci_runner_build_minutes=1200,
    document_db_storage_gb=20, document_db_io_millions=50, document_db_backup_gb=0, dr_replication_gb=0,
    vector_snapshot_gb=5,
)


def json_schema() -> dict[str, Any]:
    """The JSON schema of a usage object (policy config schema, docs)."""
    properties: dict[str, Any] = {}
    for name, spec in USAGE_FIELDS.items():
        prop: dict[str, Any] = {"type": "number", "minimum": 0, "description": f"{spec.description} ({spec.unit})"}
        if spec.maximum is not None:
            prop["maximum"] = spec.maximum
        prop["default"] = getattr(DEFAULT_USAGE, name)
        properties[spec.camel] = prop
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "default": DEFAULT_USAGE.to_json()}
