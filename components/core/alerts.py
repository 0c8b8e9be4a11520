"""The platform's alert topic: every alarm, backup notification and budget alert lands here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.core import kms
from components.core.context import StackContext


@dataclass(frozen=True)
class AlertTopicArgs:
    context: StackContext
    emails: Sequence[str]


class AlertTopic(pulumi.ComponentResource):
    """A KMS-encrypted SNS topic that AWS alarm, backup, budget and EventBridge deliveries may publish to.

    Each publisher is held to the source condition its own documentation says it sets:

    - CloudWatch alarms and AWS Budgets: ``aws:SourceAccount``.
    - AWS Backup: ``aws:SourceAccount``, and ``aws:SourceArn`` is the backup vault ("The value of aws:SourceArn
      must be a AWS Backup vault when using AWS Backup to publish Amazon SNS topics on your behalf", AWS Backup
      developer guide, Cross-service confused deputy prevention). Backup notifies only topics of its own account.
    - EventBridge: ``aws:SourceAccount``, and ``aws:SourceArn`` is the rule ("For EventBridge event bus rule targets,
      the value of aws:SourceArn must be the rule ARN", EventBridge user guide, Cross-service confused deputy
      prevention). Rules deliver events of services that cannot publish to an encrypted topic themselves:
      ElastiCache (``data_cache``) and AWS Backup's job states (``backup_alerts``).

    ElastiCache does not publish here directly: it cannot publish to an encrypted topic and sets
    ``aws:SourceOwner``, not ``aws:SourceAccount`` (ElastiCache user guide, Event Notifications and Amazon SNS).
    The key admits each publisher's service principal for kms:GenerateDataKey* and kms:Decrypt, which SNS needs
    from the publisher to encrypt the message.
    """

    topic_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]  # publishers that are not AWS services need kms:GenerateDataKey* on it

    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:observability:AlertTopic", name, None, opts)
        context = args.context
        key = kms.customer_key(f"{name}-key", "alerts", account_id=context.account_id,
                               partition=context.partition, tags=context.tags("observability"),
                               protect=context.protect, service_principals=PUBLISHERS, parent=self)
        topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=key.arn, tags=context.tags("observability"),
                              opts=pulumi.ResourceOptions(parent=self))
        aws.sns.TopicPolicy(
            f"{name}-policy", arn=topic.arn,
            policy=topic_policy(topic.arn, account_id=context.account_id, partition=context.partition,
                                region=context.region),
            opts=pulumi.ResourceOptions(parent=topic))
        # Named by address (a new first address renames nothing); the index names they had are aliases.
        for i, email in enumerate(args.emails):
            aws.sns.TopicSubscription(f"{name}-email-{email}", topic=topic.arn, protocol="email", endpoint=email,
                                      opts=pulumi.ResourceOptions(parent=topic,
                                                                  aliases=[pulumi.Alias(name=f"{name}-email-{i}")]))
        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.register_outputs({"topic_arn": self.topic_arn, "key_arn": self.key_arn})


# Service principals that publish to the alert topic (and so use its key).
ACCOUNT_PUBLISHERS = ("cloudwatch.amazonaws.com", "budgets.amazonaws.com")
BACKUP = "backup.amazonaws.com"
EVENTS = "events.amazonaws.com"
PUBLISHERS = (*ACCOUNT_PUBLISHERS, BACKUP, EVENTS)


def topic_policy(topic_arn: pulumi.Input[str], *, account_id: pulumi.Input[str], partition: pulumi.Input[str],
                 region: str) -> pulumi.Output[str]:
    """Publish rights per publisher with its documented source conditions; plaintext publishing denied."""
    def publish(sid: str, principals: list[str], condition: dict[str, Any]) -> dict[str, Any]:
        return {"Sid": sid, "Effect": "Allow", "Principal": {"Service": principals}, "Action": "sns:Publish",
                "Resource": topic_arn, "Condition": condition}

    own_account = {"aws:SourceAccount": account_id}
    vaults = pulumi.Output.concat("arn:", partition, ":backup:", region, ":", account_id, ":backup-vault:*")
    rules = pulumi.Output.concat("arn:", partition, ":events:", region, ":", account_id, ":rule/*")
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
        publish("AwsServicesPublish", list(ACCOUNT_PUBLISHERS), {"StringEquals": own_account}),
        publish("BackupVaultsPublish", [BACKUP], {"StringEquals": own_account, "ArnLike": {"aws:SourceArn": vaults}}),
        publish("EventRulesPublish", [EVENTS], {"StringEquals": own_account, "ArnLike": {"aws:SourceArn": rules}}),
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
         "Resource": topic_arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]})
