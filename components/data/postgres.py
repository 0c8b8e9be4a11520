"""RDS for PostgreSQL: private, encrypted with our keys, observable, and protected where the tier says so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core import iam
from components.core.context import StackContext
from components.core.logs import log_group
from components.data.naming import COMPONENT, POSTGRES_PORT, physical_name
from config.backup import Recovery
from config.data import DataTierConfig, PostgresConfig

# Exported to CloudWatch Logs; RDS would otherwise create the groups itself, unencrypted and kept forever.
LOG_EXPORTS = ("postgresql", "upgrade")
# The CA the global trust bundle (BootstrapConfig.ca_bundle_url) verifies.
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
# Parameters RDS applies only at reboot; the API rejects apply_method "immediate" for them.
STATIC_PARAMETERS = frozenset({
    "shared_preload_libraries", "max_connections", "shared_buffers", "max_worker_processes", "wal_buffers",
    "max_locks_per_transaction", "max_prepared_transactions", "track_activity_query_size", "huge_pages",
    "max_wal_senders", "max_replication_slots", "autovacuum_max_workers", "max_pred_locks_per_transaction",
})


def parameters(cfg: PostgresConfig) -> dict[str, str]:
    """Defaults the seeds' tuning calls for, hardened; config entries override or extend them."""
    return {
        "rds.force_ssl": "1",
        "ssl_min_protocol_version": "TLSv1.2",
        "password_encryption": "scram-sha-256",
        "shared_preload_libraries": "pg_stat_statements",
        "log_min_duration_statement": str(cfg.log_min_duration_ms),
        "idle_in_transaction_session_timeout": str(cfg.idle_in_transaction_timeout_ms),
        "log_statement": "none",
        **cfg.parameters,
    }


@dataclass(frozen=True)
class Postgres:
    instance: aws.rds.Instance
    identifier: str
    master_secret_arn: pulumi.Output[str]


def postgres(
    parent: pulumi.Resource,
    name: str,
    config: DataTierConfig,
    context: StackContext,
    *,
    subnet_ids: Sequence[pulumi.Input[str]],
    security_group_id: pulumi.Input[str],
    storage_key_arn: pulumi.Input[str],
    secrets_key_arn: pulumi.Input[str],
    logs_key_arn: pulumi.Input[str],
    restore: Recovery | None = None,
) -> Postgres:
    """The instance; with ``restore`` (a DR stack), restored from the source's replicated automated backups.

    A restored instance keeps the source's master user name and data; RestoreDBInstanceToPointInTime takes the
    replicated backups' ARN (SourceDBInstanceAutomatedBackupsArn) and, here, this region's key (KmsKeyId).
    """
    cfg = config.postgres
    protect = context.protect
    child = pulumi.ResourceOptions(parent=parent)
    tags = context.tags(COMPONENT)
    identifier = physical_name(context.name, "postgres", 63)

    subnet_group = aws.rds.SubnetGroup(
        f"{name}-postgres-subnets", subnet_ids=list(subnet_ids),
        description="Isolated subnets: no route to or from the internet", tags=tags, opts=child)
    parameter_group = aws.rds.ParameterGroup(
        f"{name}-postgres-params", family=cfg.parameter_group_family,
        description=f"agent-platform PostgreSQL {cfg.engine_version}",
        parameters=[{"name": key, "value": value,
                     "apply_method": "pending-reboot" if key in STATIC_PARAMETERS else "immediate"}
                    for key, value in sorted(parameters(cfg).items())],
        tags=tags, opts=pulumi.ResourceOptions(parent=parent))
    groups = [
        log_group(f"{name}-postgres-{kind}-logs", f"/aws/rds/instance/{identifier}/{kind}",
                  retention_days=config.log_retention_days, kms_key_arn=logs_key_arn, tags=tags, parent=parent)
        for kind in LOG_EXPORTS
    ]
    monitoring_role = aws.iam.Role(
        f"{name}-postgres-monitoring",
        assume_role_policy=iam.service_trust("monitoring.rds.amazonaws.com", context.account_id),
        tags=tags, opts=child)
    monitoring_policy = aws.iam.RolePolicyAttachment(
        f"{name}-postgres-monitoring-policy", role=monitoring_role.name,
        policy_arn=pulumi.Output.concat("arn:", context.partition,
                                        ":iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"),
        opts=pulumi.ResourceOptions(parent=monitoring_role))

    instance = aws.rds.Instance(
        f"{name}-postgres",
        identifier=identifier,
        engine="postgres",
        engine_version=cfg.engine_version,
        allow_major_version_upgrade=True,  # takes effect only when engineVersion is raised in config
        auto_minor_version_upgrade=True,
        instance_class=cfg.instance_class,
        allocated_storage=cfg.allocated_storage_gib,
        max_allocated_storage=cfg.max_allocated_storage_gib,
        storage_type="gp3",
        storage_encrypted=True,
        kms_key_id=storage_key_arn,
        # Restored: the master user comes from the backups (pulumi-aws: "Cannot be specified for a replica").
        username=None if restore else cfg.master_username,
        restore_to_point_in_time=_restore_point(restore),
        manage_master_user_password=True,  # RDS keeps it in Secrets Manager and rotates it
        master_user_secret_kms_key_id=secrets_key_arn,
        iam_database_authentication_enabled=True,
        port=POSTGRES_PORT,
        network_type="IPV4",
        db_subnet_group_name=subnet_group.name,
        vpc_security_group_ids=[security_group_id],
        publicly_accessible=False,
        ca_cert_identifier=CA_CERTIFICATE,
        parameter_group_name=parameter_group.name,
        multi_az=cfg.multi_az,
        backup_retention_period=cfg.backup_retention_days,
        backup_window=cfg.backup_window,
        maintenance_window=cfg.maintenance_window,
        copy_tags_to_snapshot=True,
        delete_automated_backups=not protect,
        deletion_protection=protect,
        skip_final_snapshot=not protect,
        final_snapshot_identifier=f"{identifier}-final" if protect else None,
        apply_immediately=not context.protected_tier,
        performance_insights_enabled=True,
        performance_insights_kms_key_id=storage_key_arn,
        performance_insights_retention_period=cfg.performance_insights_retention_days,
        monitoring_interval=cfg.monitoring_interval_seconds,
        monitoring_role_arn=monitoring_role.arn,
        enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
        tags=context.tags(COMPONENT, backup_plan="default"),
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=[*groups, monitoring_policy]),
    )
    return Postgres(instance=instance, identifier=identifier,
                    master_secret_arn=instance.master_user_secrets.apply(_master_secret_arn))


def _restore_point(restore: Recovery | None) -> dict[str, object] | None:
    """Point-in-time restore from replicated automated backups: at recovery.restoreTime, or the latest time."""
    if restore is None:
        return None
    point: dict[str, object] = {"source_db_instance_automated_backups_arn": restore.database_automated_backups_arn}
    if restore.restore_time:
        point["restore_time"] = restore.restore_time
    else:
        point["use_latest_restorable_time"] = True
    return point


def _master_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret] | None) -> str:
    if not secrets or not secrets[0].secret_arn:
        raise ValueError("RDS reported no master user secret although manage_master_user_password is on")
    return secrets[0].secret_arn
