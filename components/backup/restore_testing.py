"""Scheduled restore tests: AWS Backup restores the latest recovery points, times them, then deletes them.

Restored databases land in the isolated subnets behind a security group with no rules at all, so a
restored copy of production data is reachable by nothing and reaches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.backup.plan import tag_conditions
from components.core.context import StackContext
from config.backup import RestoreTesting


@dataclass(frozen=True)
class RestoreTestTarget:
    """Where restore tests run and what they may read."""

    vault_arn: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    isolated_subnet_ids: Sequence[pulumi.Input[str]]
    continuous: bool


def plan_name(platform_name: str) -> str:
    """Restore testing plan names allow only letters, digits and underscores (at most 50)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", platform_name)[:36] + "_restore_tests"


def restore_tests(
    name: str,
    config: RestoreTesting,
    target: RestoreTestTarget,
    *,
    context: StackContext,
    timezone: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    provider: aws.Provider | None = None,
    resource_types: Sequence[str] | None = None,
) -> aws.backup.RestoreTestingPlan:
    """A restore testing plan over ``target.vault_arn``'s recovery points, in the vault's region (``provider``).

    ``resource_types`` narrows or widens what is tested (default: ``config.resource_types``); the DR region's plan
    restores its databases into the standby network's isolated subnets (components/network/standby.py).
    """
    types = list(resource_types if resource_types is not None else config.resource_types)
    plan = aws.backup.RestoreTestingPlan(
        name,
        name=plan_name(context.name),
        schedule_expression=config.schedule,
        schedule_expression_timezone=timezone,
        start_window_hours=config.start_window_hours,
        recovery_point_selection={
            "algorithm": "LATEST_WITHIN_WINDOW",
            "include_vaults": [target.vault_arn],
            "recovery_point_types": ["CONTINUOUS", "SNAPSHOT"] if target.continuous else ["SNAPSHOT"],
            "selection_window_days": config.selection_window_days,
        },
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    conditions = {"string_equals": tag_conditions(project=context.project, stack=context.stack)}
    child = pulumi.ResourceOptions(parent=plan, provider=provider)

    def select(suffix: str, selection: str, resource_type: str,
               overrides: Mapping[str, pulumi.Input[str]] | None = None) -> None:
        """Every recovery point of ``resource_type`` this stack's tags select, restored and validated by the plan."""
        aws.backup.RestoreTestingSelection(
            f"{name}-{suffix}",
            name=selection,
            restore_testing_plan_name=plan.name,
            protected_resource_type=resource_type,
            iam_role_arn=target.role_arn,
            protected_resource_arns=["*"],
            protected_resource_conditions=conditions,
            restore_metadata_overrides=overrides,
            validation_window_hours=config.validation_window_hours,
            opts=child,
        )

    databases = [t for t in ("RDS", "DocumentDB") if t in types]
    sealed = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=target.vpc_id,
        description="Databases restored by restore tests: no ingress, no egress",
        ingress=[],
        egress=[],
        tags=dict(tags),
        opts=child,
    ) if databases else None
    if "RDS" in types:
        assert sealed is not None
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            description="Isolated subnets for databases restored by AWS Backup restore tests",
            subnet_ids=list(target.isolated_subnet_ids),
            tags=dict(tags),
            opts=child,
        )
        # All four are overridable keys for "Amazon RDS instances" (AWS Backup developer guide, "Restore testing
        # inferred metadata": ... multiAz, ... publiclyAccessible, ... dbSubnetGroupName, vpcSecurityGroupIds;
        # "key values are not case sensitive"; a list is a JSON-array-encoded string). AWS Backup also infers
        # multiAz and publiclyAccessible as false; stating them keeps a restored copy private and single-AZ
        # whatever the default becomes.
        overrides: dict[str, pulumi.Input[str]] = {
            "dbSubnetGroupName": subnets.name,
            "vpcSecurityGroupIds": pulumi.Output.json_dumps([sealed.id]),
            "publiclyAccessible": "false",
            "multiAZ": "false",
        }
        if config.db_instance_class:
            overrides["dbInstanceClass"] = config.db_instance_class
        select("database", "database", "RDS", overrides)
    if "DocumentDB" in types:
        assert sealed is not None
        doc_subnets = aws.docdb.SubnetGroup(
            f"{name}-docdb-subnets",
            description="Isolated subnets for document stores restored by AWS Backup restore tests",
            subnet_ids=list(target.isolated_subnet_ids),
            tags=dict(tags),
            opts=child,
        )
        # Overridable keys of the row "Amazon RDS, Aurora, Amazon DocumentDB, Amazon Neptune clusters" of AWS
        # Backup's "Restore testing inferred metadata" (availabilityZones, databaseName, ..., dbSubnetGroupName, ...,
        # vpcSecurityGroupIds; case-insensitive). List values are "JSON-array-encoded strings" (same page, "Format
        # for list-typed override values"). Without them the restore lands in the region's default VPC, or fails
        # where there is none.
        select("document-store", "document_store", "DocumentDB", {
            "dbSubnetGroupName": doc_subnets.name,
            "vpcSecurityGroupIds": pulumi.Output.json_dumps([sealed.id]),
        })
    if "S3" in types:
        select("data-bucket", "data_bucket", "S3")
    return plan
