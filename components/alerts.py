"""The platform's alert topic: every alarm, backup notification and budget alert lands here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import kms
from components.context import Platform


@dataclass(frozen=True)
class AlertTopicArgs:
    platform: Platform
    emails: Sequence[str]


class AlertTopic(pulumi.ComponentResource):
    """A KMS-encrypted SNS topic that AWS alarm, backup and budget services may publish to."""

    topic_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]  # publishers that are not AWS services need kms:GenerateDataKey* on it

    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:observability:AlertTopic", name, None, opts)
        platform = args.platform
        publishers = ["cloudwatch.amazonaws.com", "backup.amazonaws.com", "budgets.amazonaws.com",
                      "elasticache.amazonaws.com", "events.amazonaws.com"]
        key = kms.customer_key(f"{name}-key", "alerts", account_id=platform.account_id,
                               partition=platform.partition, tags=platform.tags("observability"),
                               protect=platform.protect, service_principals=publishers, parent=self)
        topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=key.arn, tags=platform.tags("observability"),
                              opts=pulumi.ResourceOptions(parent=self))
        aws.sns.TopicPolicy(
            f"{name}-policy", arn=topic.arn,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
                {"Sid": "AwsServicesPublish", "Effect": "Allow", "Principal": {"Service": publishers},
                 "Action": "sns:Publish", "Resource": topic.arn,
                 "Condition": {"StringEquals": {"aws:SourceAccount": platform.account_id}}},
                {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
                 "Resource": topic.arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ]}),
            opts=pulumi.ResourceOptions(parent=topic))
        # Named by address (a new first address renames nothing); the index names they had are aliases.
        for i, email in enumerate(args.emails):
            aws.sns.TopicSubscription(f"{name}-email-{email}", topic=topic.arn, protocol="email", endpoint=email,
                                      opts=pulumi.ResourceOptions(parent=topic,
                                                                  aliases=[pulumi.Alias(name=f"{name}-email-{i}")]))
        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.register_outputs({"topic_arn": self.topic_arn, "key_arn": self.key_arn})
