"""Per-purpose customer-managed KMS keys with rotation and least-privilege key policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.core import iam


def key_policy(
    account_id: pulumi.Input[str],
    partition: pulumi.Input[str],
    *,
    service_principals: Sequence[str] = (),
    service_conditions: Mapping[str, Any] | None = None,
    role_principals: Sequence[pulumi.Input[str]] = (),
    extra_statements: Sequence[Mapping[str, Any]] = (),
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
    statements.extend(dict(s) for s in extra_statements)
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
    extra_statements: Sequence[Mapping[str, Any]] = (),
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
                          service_conditions=service_conditions, role_principals=role_principals,
                          extra_statements=extra_statements),
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
    region: str,
    tags: Mapping[str, str],
    protect: bool,
    parent: pulumi.Resource,
) -> aws.kms.Key:
    """The CMK for EBS volumes, usable by any principal of this account only through EC2 in this region.

    This is the statement of AWS's own ``aws/ebs`` key ("Allow access through EBS for all principals in
    the account that are authorized to use EBS": principal ``*``, ``kms:CallerAccount`` = the account,
    ``kms:ViaService`` = ``ec2.<region>.amazonaws.com``). It covers the Auto Scaling service-linked role
    (EKS managed node groups, the VM runtime's groups) and the EBS CSI driver without naming a role: a key
    policy naming ``AWSServiceRoleForAutoScaling`` is rejected in an account that never had an Auto Scaling
    group (``MalformedPolicyDocumentException: ... invalid principals``, particuleio/teks#92), and creating
    that role here (aws.iam.ServiceLinkedRole) would fail where it exists and delete it, for every other
    group of the account, on ``pulumi destroy``. Nobody can use the key outside EC2: no direct
    Encrypt/Decrypt by principals, and the root statement only lets IAM policies (e.g. the CSI driver's) grant more.
    """
    via_ec2 = {"StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": f"ec2.{region}.amazonaws.com"}}
    return customer_key(name, "ebs", account_id=account_id, partition=partition, tags=tags, protect=protect,
                       parent=parent, extra_statements=[
                           iam.statement(["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                          "kms:CreateGrant", "kms:DescribeKey"], "*", sid="AllowUseThroughEc2",
                                         principal={"AWS": "*"}, condition=via_ec2),
                       ])
