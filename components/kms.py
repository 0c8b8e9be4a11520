"""Per-purpose customer-managed KMS keys with rotation and least-privilege key policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam


def key_policy(
    account_id: pulumi.Input[str],
    partition: pulumi.Input[str],
    *,
    service_principals: Sequence[str] = (),
    service_conditions: Mapping[str, Any] | None = None,
    role_principals: Sequence[pulumi.Input[str]] = (),
) -> pulumi.Output[str]:
    """Account administrators manage the key; only the named AWS services may use it.

    The root statement is what lets IAM policies in this account grant use of the key at all;
    it grants nothing by itself.
    """
    root = pulumi.Output.concat("arn:", partition, ":iam::", account_id, ":root")
    statements: list[dict[str, Any]] = [
        iam.statement(["kms:*"], "*", sid="AccountAdministration", principal={"AWS": root}),
    ]
    if service_principals:
        statements.append(iam.statement(
            ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*",
             "kms:CreateGrant"],
            "*",
            sid="AllowServiceUse",
            principal={"Service": list(service_principals)},
            condition=service_conditions,
        ))
    if role_principals:
        # Service-linked roles (e.g. Auto Scaling launching encrypted volumes) cannot be granted
        # key use through IAM, so the key policy names them, grants limited to AWS resources.
        principal = {"AWS": list(role_principals)}
        statements.append(iam.statement(
            ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], "*",
            sid="AllowRoleUse", principal=principal))
        statements.append(iam.statement(
            ["kms:CreateGrant"], "*", sid="AllowRoleGrantsForAwsResources", principal=principal,
            condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}))
    return iam.document(*statements)


def customer_key(
    name: str,
    purpose: str,
    *,
    account_id: pulumi.Input[str],
    partition: pulumi.Input[str],
    tags: Mapping[str, str],
    protect: bool,
    service_principals: Sequence[str] = (),
    service_conditions: Mapping[str, Any] | None = None,
    role_principals: Sequence[pulumi.Input[str]] = (),
    deletion_window_days: int = 30,
    parent: pulumi.Resource | None = None,
    provider: pulumi.ProviderResource | None = None,
) -> aws.kms.Key:
    """A rotating CMK for one purpose (one blast radius per key) with a readable alias."""
    opts = pulumi.ResourceOptions(parent=parent, protect=protect, provider=provider)
    key = aws.kms.Key(
        name,
        description=f"agent-platform {purpose}",
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=deletion_window_days,
        policy=key_policy(account_id, partition, service_principals=service_principals,
                          service_conditions=service_conditions, role_principals=role_principals),
        tags=dict(tags),
        opts=opts,
    )
    aws.kms.Alias(
        f"{name}-alias",
        name_prefix=f"alias/agent-platform/{purpose}-",
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=key, provider=provider),
    )
    return key


def volume_key(
    name: str,
    *,
    account_id: pulumi.Input[str],
    partition: pulumi.Input[str],
    tags: Mapping[str, str],
    protect: bool,
    parent: pulumi.Resource,
) -> aws.kms.Key:
    """The CMK for EBS volumes that Auto Scaling launches (its service-linked role must be able to use it)."""
    autoscaling_role = pulumi.Output.concat(
        "arn:", partition, ":iam::", account_id,
        ":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")
    return customer_key(name, "ebs", account_id=account_id, partition=partition, tags=tags, protect=protect,
                        role_principals=[autoscaling_role], parent=parent)
