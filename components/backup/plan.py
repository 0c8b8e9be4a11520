"""What AWS Backup runs and on what: plan rules from config, and the tag conditions of the selection.

Kept as plain functions (no resources) so the rule shapes can be read and tested on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from components.core.tags import BACKUP_PLAN_TAG
from config.backup import BackupConfig, SnapshotRule

# The value of the backup-plan tag the data tier puts on every resource AWS Backup must protect.
SELECTED_PLAN = "default"

# ARN patterns that limit a selection to one resource type in this account and region. A selection
# needs Resources or ListOfTags; tag conditions alone are rejected, and ListOfTags is OR-ed with
# Resources, so type patterns plus AND-ed tag conditions are the only way to select "tagged RDS and
# S3 of this stack" and nothing else.
ARN_PATTERNS: Mapping[str, str] = {
    "RDS": "arn:{partition}:rds:{region}:{account}:db:*",
    "Aurora": "arn:{partition}:rds:{region}:{account}:cluster:*",
    "S3": "arn:{partition}:s3:::*",
    "DynamoDB": "arn:{partition}:dynamodb:{region}:{account}:table/*",
    "EFS": "arn:{partition}:elasticfilesystem:{region}:{account}:file-system/*",
    "EBS": "arn:{partition}:ec2:{region}:{account}:volume/*",
    # AWS Backup names DocumentDB clusters by their RDS cluster ARN (resource type DocumentDB).
    "DocumentDB": "arn:{partition}:rds:{region}:{account}:cluster:*",
}


def resource_patterns(
    resource_types: Sequence[str], *, partition: pulumi.Input[str], region: str, account: pulumi.Input[str]
) -> list[pulumi.Output[str]]:
    return [pulumi.Output.format(ARN_PATTERNS[t], partition=partition, region=region, account=account)
            for t in resource_types]


def tag_conditions(*, project: str, stack: str) -> list[dict[str, str]]:
    """Tags a resource must carry, all of them: the plan tag, and this project and stack.

    The stack tag keeps another stack's plan in the same account and region from backing up this
    stack's resources (and this plan from backing up theirs).
    """
    return [
        {"key": f"aws:ResourceTag/{BACKUP_PLAN_TAG}", "value": SELECTED_PLAN},
        {"key": "aws:ResourceTag/project", "value": project},
        {"key": "aws:ResourceTag/stack", "value": stack},
    ]


# AWS Backup rejects rules less than 60 minutes apart ("The interval between backup jobs shouldn't be less than
# 60 minutes"; the BackupRule API's own example of an hourly expression is "15 * ? * * *"): hourly is its best.
HOURLY_SCHEDULE = "cron(0 * ? * * *)"
# Local retention of the hourly recovery points: they exist to be copied off-region, and the daily rule already keeps
# the longer history here. A week, not a day or two: AWS Backup advises "a warm storage duration of at least one week"
# or it "cannot create an incremental backup" and takes full ones ("Metering, costs, and billing for AWS Backup").
HOURLY_LOCAL_RETENTION_DAYS = 7


def hourly_dr_conditions(*, project: str, stack: str, component: str) -> list[dict[str, str]]:
    """The selection's tag conditions plus the component tag: only that store's resources, not every tagged one."""
    return [*tag_conditions(project=project, stack=stack), {"key": "aws:ResourceTag/component", "value": component}]


def hourly_dr_rule(config: BackupConfig, *, vault_name: pulumi.Input[str], dr_vault_arn: pulumi.Input[str],
                   recovery_point_tags: Mapping[str, str]) -> dict[str, Any]:
    """An hourly snapshot copied to the DR vault, for the stores without continuous replication (DocumentDB, the
    vector store's EBS volumes). The DR copies keep the daily rule's DR retention, the history a region loss leaves."""
    return {
        "rule_name": "hourly-dr", "target_vault_name": vault_name, "schedule": HOURLY_SCHEDULE,
        "schedule_expression_timezone": config.timezone,
        "start_window": config.start_window_minutes, "completion_window": config.completion_window_minutes,
        # A vault lock's minimum retention binds these too.
        "lifecycle": {"delete_after": max(HOURLY_LOCAL_RETENTION_DAYS,
                                          config.lock.min_retention_days if config.lock.mode != "none" else 1)},
        "recovery_point_tags": {**recovery_point_tags, "backup-rule": "hourly-dr"},
        "copy_actions": [{"destination_vault_arn": dr_vault_arn,
                          "lifecycle": {"delete_after": config.daily.copy_retention_days}}],
    }


def _lifecycle(config: BackupConfig, retention_days: int, cold_after: int | None) -> dict[str, int]:
    lifecycle = {"delete_after": retention_days}
    if cold_after is not None and config.cold_storage_applies:
        lifecycle["cold_storage_after"] = cold_after
    return lifecycle


def plan_rules(
    config: BackupConfig,
    *,
    vault_name: pulumi.Input[str],
    dr_vault_arn: pulumi.Input[str] | None,
    recovery_point_tags: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One rule per enabled kind; snapshot rules copy to the DR vault when there is one."""
    common: dict[str, Any] = {
        "target_vault_name": vault_name,
        "schedule_expression_timezone": config.timezone,
        "start_window": config.start_window_minutes,
        "completion_window": config.completion_window_minutes,
    }
    rules: list[dict[str, Any]] = []
    if config.continuous_enabled:
        # The schedule of a continuous rule only times its periodic full snapshot; PITR runs continuously.
        rules.append({
            **common, "rule_name": "continuous", "enable_continuous_backup": True, "schedule": config.daily.schedule,
            "lifecycle": {"delete_after": config.continuous.retention_days},
            "recovery_point_tags": {**recovery_point_tags, "backup-rule": "continuous"},
        })
    for name, rule in config.scheduled_rules():
        entry: dict[str, Any] = {
            **common, "rule_name": name, "schedule": rule.schedule,
            "recovery_point_tags": {**recovery_point_tags, "backup-rule": name},
        }
        if isinstance(rule, SnapshotRule):
            entry["lifecycle"] = _lifecycle(config, rule.retention_days, rule.cold_storage_after_days)
            if dr_vault_arn is not None and rule.copy_to_dr_region:
                entry["copy_actions"] = [{
                    "destination_vault_arn": dr_vault_arn,
                    "lifecycle": _lifecycle(config, rule.copy_retention_days, rule.cold_storage_after_days),
                }]
        else:
            entry["lifecycle"] = {"delete_after": rule.retention_days}
        rules.append(entry)
    return rules
