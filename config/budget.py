"""Budget intent: the monthly spend an environment is allowed, and the usage the estimate assumes.

The estimate prices what the plan shows (instance hours, nodes, volumes, endpoints); volumes the plan
cannot show (data through NAT, GB stored, requests, logs) are stated here as assumptions, with tier
defaults in ``config/tiers.py``. The ``monthly-cost-budget`` policy receives the same budget and usage
through ``policies/config/<stack>.json``, generated from this section (``python -m planning.policy_config``).
"""

from __future__ import annotations

from pydantic import Field

from config.base import Model


class UsageAssumptions(Model):
    """One month of usage. Defaults are a small production-like month; tiers state their own."""

    nat_data_gb: float = Field(default=200, ge=0, description="GB/month processed by the NAT gateways.")
    endpoint_data_gb: float = Field(default=100, ge=0, description="GB/month through interface VPC endpoints.")
    load_balancer_lcu: float = Field(
        default=2, ge=0, description="Average LCUs (ALB) or NLCUs (NLB) each load balancer uses per hour.")
    waf_requests_millions: float = Field(default=5, ge=0, description="Million web requests/month WAF inspects.")
    s3_storage_gb: float = Field(default=100, ge=0, description="GB stored in S3 Standard across the buckets.")
    ecr_storage_gb: float = Field(default=20, ge=0, description="GB of container images in ECR.")
    log_ingestion_gb: float = Field(
        default=50, ge=0, description="GB/month ingested into CloudWatch Logs (stored for each group's retention).")
    backup_warm_gb: float = Field(
        default=100, ge=0, description="GB of AWS Backup warm storage (EBS/EFS/S3 recovery points) per vault copy.")
    backup_cold_gb: float = Field(default=0, ge=0, description="GB of AWS Backup cold-tier storage per vault copy.")
    backup_rds_snapshot_gb: float = Field(
        default=100, ge=0, description="GB of RDS snapshot recovery points per vault copy.")
    spot_price_factor: float = Field(
        default=1.0, gt=0, le=1,
        description="Spot price as a fraction of on-demand; 1.0 prices Spot at on-demand (an upper bound).")
    run_once_instance_hours: float = Field(
        default=2, ge=0, le=730,
        description="Hours/month each run-once group's instance is up (the VM database bootstrap: a few minutes "
                    "per change of its inputs, rounded up).")
    ci_runner_build_minutes: float = Field(
        default=1200, ge=0, le=44640,
        description="Build minutes/month of the in-VPC CI runner (CodeBuild on-demand, billed per minute of its "
                    "compute type): pull-request previews, deploys and drift checks of the stack.")
    dr_replication_gb: float = Field(
        default=0, ge=0,
        description="GB/month of new or changed data replicated to backup.drRegion (S3 Cross-Region Replication and "
                    "RDS automated-backup replication); 0 without a DR region.")


class BudgetConfig(Model):
    monthly_budget_usd: float = Field(
        default=500, gt=0, description="The estimate above this fails the monthly-cost-budget review.")
    usage: UsageAssumptions = Field(default_factory=UsageAssumptions, description="Monthly usage assumptions.")
