"""A VPC's flow log to an encrypted CloudWatch log group (CIS AWS 3.9), for the stack's network and its standby."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.core import iam
from components.core.context import StackContext
from components.core.logs import log_group


def flow_log(parent: pulumi.Resource, name: str, context: StackContext, *, vpc_id: pulumi.Input[str],
             group_name: str, retention_days: int, key_arn: pulumi.Input[str], traffic_type: str,
             tags: Mapping[str, str], provider: pulumi.ProviderResource | None = None) -> None:
    """``{name}-flow-logs`` (the group), its delivery role and policy, and ``{name}-flow-log``; the group and the
    flow log in ``provider``'s region, the role global."""
    group = log_group(f"{name}-flow-logs", group_name, retention_days=retention_days, kms_key_arn=key_arn,
                      tags=dict(tags), parent=parent, provider=provider)
    role = aws.iam.Role(
        f"{name}-flow-logs-role",
        assume_role_policy=iam.service_trust("vpc-flow-logs.amazonaws.com", context.account_id),
        tags=dict(tags), opts=pulumi.ResourceOptions(parent=parent))
    aws.iam.RolePolicy(
        f"{name}-flow-logs-policy", role=role.id,
        policy=iam.document(iam.statement(
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [group.arn, pulumi.Output.concat(group.arn, ":*")])),
        opts=pulumi.ResourceOptions(parent=role))
    aws.ec2.FlowLog(f"{name}-flow-log", vpc_id=vpc_id, traffic_type=traffic_type,
                    log_destination_type="cloud-watch-logs", log_destination=group.arn, iam_role_arn=role.arn,
                    max_aggregation_interval=60, tags=dict(tags),
                    opts=pulumi.ResourceOptions(parent=parent, provider=provider))
