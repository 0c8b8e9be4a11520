"""Budget intent: the monthly spend an environment is allowed, and the usage the estimate assumes.

The estimate prices what the plan shows (instance hours, nodes, volumes, endpoints); volumes the plan
cannot show (data through NAT, GB stored, requests, logs) are stated here as assumptions, with tier
defaults in ``config/tiers.py``. The ``monthly-cost-budget`` policy receives the same budget and usage
through ``policies/config/<stack>.json``, generated from this section (``python -m planning.policy_config``).
"""

from __future__ import annotations

from pydantic import Field, field_validator

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
    document_db_storage_gb: float = Field(
        default=20, ge=0, description="GB in the DocumentDB cluster volume (priced only with a document store).")
    document_db_io_millions: float = Field(
        default=50, ge=0, description="Million DocumentDB storage I/O requests/month.")
    document_db_backup_gb: float = Field(
        default=0, ge=0, description="GB of DocumentDB backup storage beyond the free 100% of cluster storage.")
    dr_replication_gb: float = Field(
        default=0, ge=0,
        description="GB/month of new or changed data replicated to backup.drRegion (S3 Cross-Region Replication and "
                    "RDS automated-backup replication); 0 without a DR region.")
    vector_snapshot_gb: float = Field(
        default=5, ge=0,
        description="GB one snapshot run of a dedicated vector store writes to S3 (all nodes together: the store's "
                    "data, not its volumes); priced per run its schedule makes, for each retention class.")


class LlmServiceUsage(Model):
    """One service's LLM traffic; a key left out takes the value of ``cost.llm``."""

    requests_per_day: float | None = Field(default=None, ge=0, description="LLM requests/day this service makes.")
    input_tokens_per_request: float | None = Field(
        default=None, ge=0, description="Tokens sent per request (prompt, history, retrieved context, tools).")
    output_tokens_per_request: float | None = Field(default=None, ge=0, description="Tokens received per request.")
    models: dict[str, float] | None = Field(
        default=None, description="Model mix: share of the requests per model (`provider/model` or a bare model "
                                  "id of agent_costing/prices/llm.json), shares summing to 1. Default: "
                                  "`{<defaultModel>: 1}` when the service sets defaultModel.")

    @field_validator("models")
    @classmethod
    def _shares(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return value
        if not value or any(share < 0 for share in value.values()) or abs(sum(value.values()) - 1) > 1e-6:
            raise ValueError("shares must be non-negative and sum to 1 (e.g. {claude-sonnet-4-5: 0.8, "
                             "gpt-4o-mini: 0.2})")
        return value


class LlmBudget(Model):
    """LLM token spend: its own monthly budget, the alarm rule, and the usage the estimate assumes.

    Seed 000's cost thresholds ($5/hour, $50/day, $500/month) are the small-stack defaults: the monthly one is
    the budget here, the daily one ``observability.alerts.llmDailyBudgetUsd``. Their ratio is the default
    ``dailyAlarmFactor``: a daily alarm may sit at most at 3 average days of the monthly budget (50 = 500/30 x 3).
    """

    monthly_budget_usd: float = Field(
        default=500, gt=0, description="LLM provider spend allowed per month; the estimate above it fails the "
                                       "monthly-llm-budget review.")
    daily_alarm_factor: float = Field(
        default=3, gt=0, le=30, description="observability.alerts.llmDailyBudgetUsd may be at most "
                                            "monthlyBudgetUsd / 30 x this (llm-alarm-within-budget).")
    requests_per_day: float = Field(default=100, ge=0, description="LLM requests/day of each service that names "
                                                                   "a model, unless set per service.")
    input_tokens_per_request: float = Field(default=2000, ge=0, description="Tokens sent per request.")
    output_tokens_per_request: float = Field(default=500, ge=0, description="Tokens received per request.")
    services: dict[str, LlmServiceUsage] = Field(
        default_factory=dict, description="Per service (a key of `services`): overrides of the values above and "
                                          "the model mix.")


class BudgetConfig(Model):
    monthly_budget_usd: float = Field(
        default=500, gt=0, description="The estimate above this fails the monthly-cost-budget review.")
    usage: UsageAssumptions = Field(default_factory=UsageAssumptions, description="Monthly usage assumptions.")
    llm: LlmBudget = Field(default_factory=LlmBudget, description="LLM token spend: budget and usage.")
