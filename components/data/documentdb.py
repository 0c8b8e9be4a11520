"""Amazon DocumentDB (MongoDB-compatible): private, TLS-only, encrypted with our key, logged, backed up.

The document store of systems written against MongoDB (seed 004 keeps its gatekeeper state in a MongoDB
replica set). DocumentDB is a replica set by construction: one primary and up to 15 replicas over the AZs,
one shared storage volume; clients connect with ``replicaSet=rs0`` and ``readPreference=secondaryPreferred``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core.context import StackContext
from components.core.logs import log_group
from components.data.naming import COMPONENT, MONGODB_PORT, physical_name
from config.data import DataTierConfig, DocumentStoreConfig

# Exported to CloudWatch Logs (CreateDBCluster EnableCloudwatchLogsExports: audit, profiler); DocumentDB writes
# them to /aws/docdb/<cluster>/<type>, created here first so they are encrypted and expire.
LOG_EXPORTS = ("audit", "profiler")
# The CA the global trust bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) verifies.
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
# Cluster parameter "tls": tls1.2+ refuses TLS 1.0/1.1 (DocumentDB API reference, Parameter.ParameterValue:
# enabled | disabled | fips-140-3 | tls1.2+ | tls1.3+; tls1.2+ from engine 2.0.10980 / 3.0.11051 on).
TLS_SETTING = "tls1.2+"


def parameters(cfg: DocumentStoreConfig) -> list[dict[str, str]]:
    """TLS 1.2+, audit logs and the profiler on (they are what the log exports carry), as a cluster parameter
    group's entries: the primary's and the DR secondary's, which must match.

    Cluster parameters reference: audit_logs (enabled|disabled|ddl|dml_read|dml_write|all|none, dynamic),
    profiler (enabled|disabled), profiler_threshold_ms (50-2147483646). tls is static: DocumentDB applies it at
    the next reboot (pending-reboot); the others are dynamic."""
    values = {
        "tls": TLS_SETTING,
        "audit_logs": "enabled",
        "profiler": "enabled",
        "profiler_threshold_ms": str(cfg.profiler_threshold_ms),
    }
    return [{"name": key, "value": value, "apply_method": "pending-reboot" if key == "tls" else "immediate"}
            for key, value in sorted(values.items())]


@dataclass(frozen=True)
class DocumentStore:
    cluster: aws.docdb.Cluster
    instances: list[aws.docdb.ClusterInstance]
    master_secret_arn: pulumi.Output[str]


def document_store(
    parent: pulumi.Resource,
    name: str,
    config: DataTierConfig,
    context: StackContext,
    *,
    subnet_ids: Sequence[pulumi.Input[str]],
    security_group_id: pulumi.Input[str],
    storage_key_arn: pulumi.Input[str],
    logs_key_arn: pulumi.Input[str],
    global_member: bool = False,
    snapshot_arn: str | None = None,
) -> DocumentStore:
    """``global_member``: the cluster is (or becomes) the primary of a global cluster (global_cluster.py), which
    sets its globalClusterIdentifier from outside. ``snapshot_arn``: a DR stack restores the promoted secondary's
    snapshot (recovery.documentStoreSnapshotArn) instead of starting empty."""
    cfg = config.document_store
    assert cfg is not None, "document_store() is called only when dataTier.documentStore is set"
    protect = context.protect
    tags = context.tags(COMPONENT)
    child = pulumi.ResourceOptions(parent=parent)
    identifier = physical_name(context.name, "docdb", 63)

    subnet_group = aws.docdb.SubnetGroup(
        f"{name}-docdb-subnets", subnet_ids=list(subnet_ids),
        description="Isolated subnets: no route to or from the internet", tags=tags, opts=child)
    parameter_group = aws.docdb.ClusterParameterGroup(
        f"{name}-docdb-params", family=cfg.parameter_group_family,
        description=f"agent-platform DocumentDB {cfg.engine_version}: TLS 1.2+, audit and profiler on",
        parameters=parameters(cfg),
        tags=tags, opts=child)
    groups = [
        log_group(f"{name}-docdb-{kind}-logs", f"/aws/docdb/{identifier}/{kind}",
                  retention_days=config.log_retention_days, kms_key_arn=logs_key_arn, tags=tags, parent=parent)
        for kind in LOG_EXPORTS
    ]
    cluster = aws.docdb.Cluster(
        f"{name}-docdb",
        cluster_identifier=identifier,
        engine="docdb",
        engine_version=cfg.engine_version,
        allow_major_version_upgrade=True,  # takes effect only when engineVersion is raised in config
        master_username=cfg.master_username,
        manage_master_user_password=True,  # DocumentDB keeps it in Secrets Manager and rotates it
        port=MONGODB_PORT,
        db_subnet_group_name=subnet_group.name,
        db_cluster_parameter_group_name=parameter_group.name,
        vpc_security_group_ids=[security_group_id],
        storage_encrypted=True,
        kms_key_id=storage_key_arn,
        backup_retention_period=cfg.backup_retention_days,
        preferred_backup_window=cfg.backup_window,
        preferred_maintenance_window=cfg.maintenance_window,
        enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
        deletion_protection=protect,
        skip_final_snapshot=not protect,
        final_snapshot_identifier=f"{identifier}-final" if protect else None,
        apply_immediately=not context.protected_tier,
        # backup-plan=default: AWS Backup's selection takes it (resource type DocumentDB).
        tags=context.tags(COMPONENT, backup_plan="default"),
        # RestoreDBClusterFromSnapshot; the provider applies the master password setting after the restore.
        snapshot_identifier=snapshot_arn,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=groups,
                                    # Read back after the join; an apply of the difference would leave the global
                                    # cluster (terraform-provider-aws docdb cluster.go, resourceClusterUpdate).
                                    ignore_changes=["globalClusterIdentifier"] if global_member else None),
    )
    instances = [
        aws.docdb.ClusterInstance(
            f"{name}-docdb-{i + 1}",
            identifier=physical_name(context.name, f"docdb-{i + 1}", 63),
            cluster_identifier=cluster.id,
            instance_class=cfg.instance_class,
            engine="docdb",
            auto_minor_version_upgrade=True,
            ca_cert_identifier=CA_CERTIFICATE,
            preferred_maintenance_window=cfg.maintenance_window,
            promotion_tier=i,
            apply_immediately=not context.protected_tier,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=cluster, protect=protect),
        )
        for i in range(cfg.instance_count)
    ]
    return DocumentStore(cluster=cluster, instances=instances,
                         master_secret_arn=cluster.master_user_secrets.apply(_master_secret_arn))


def _master_secret_arn(secrets: Sequence[aws.docdb.outputs.ClusterMasterUserSecret] | None) -> str:
    if not secrets or not secrets[0].secret_arn:
        raise ValueError("DocumentDB reported no master user secret although manage_master_user_password is on")
    return secrets[0].secret_arn
