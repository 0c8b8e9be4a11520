"""Backup failures to the platform's alert topic.

AWS Backup's SNS vault notifications no longer emit BACKUP_JOB_FAILED, BACKUP_JOB_EXPIRED or
RESTORE_JOB_FAILED (deprecated event names that are accepted but never sent), and BACKUP_JOB_COMPLETED
fires for every success too. So the vault notifies only the failure events it still sends, and an
EventBridge rule forwards failed, aborted and expired backup, copy and restore jobs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

VAULT_EVENTS = ("COPY_JOB_FAILED", "S3_BACKUP_OBJECT_FAILED", "S3_RESTORE_OBJECT_FAILED", "RECOVERY_POINT_MODIFIED")
JOB_EVENTS = ("Backup Job State Change", "Copy Job State Change", "Restore Job State Change")
FAILED_STATES = ("FAILED", "ABORTED", "EXPIRED")

# Backup and copy job events report ``state``, restore job events ``status``.
JOB_FAILURE_PATTERN = {
    "source": ["aws.backup"],
    "detail-type": list(JOB_EVENTS),
    "detail": {"$or": [{"state": list(FAILED_STATES)}, {"status": list(FAILED_STATES)}]},
}


def backup_alerts(
    name: str,
    *,
    vault_name: pulumi.Input[str],
    topic_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> None:
    child = pulumi.ResourceOptions(parent=parent)
    aws.backup.VaultNotifications(
        f"{name}-notifications",
        backup_vault_name=vault_name,
        sns_topic_arn=topic_arn,
        backup_vault_events=list(VAULT_EVENTS),
        opts=child,
    )
    rule = aws.cloudwatch.EventRule(
        f"{name}-job-failures",
        description="AWS Backup jobs that failed, were aborted or expired before starting",
        event_pattern=json.dumps(JOB_FAILURE_PATTERN),
        tags=dict(tags),
        opts=child,
    )
    aws.cloudwatch.EventTarget(
        f"{name}-job-failures",
        rule=rule.name,
        arn=topic_arn,
        opts=pulumi.ResourceOptions(parent=rule),
    )
