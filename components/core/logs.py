"""CloudWatch Logs groups that are always KMS-encrypted and always expire."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def log_group(
    resource_name: str,
    log_group_name: pulumi.Input[str],
    *,
    retention_days: int,
    kms_key_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource | None = None,
) -> aws.cloudwatch.LogGroup:
    """``provider``: another region's (a group in the DR region, encrypted with a key of that region)."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=log_group_name,
        retention_in_days=retention_days,
        kms_key_id=kms_key_arn,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
