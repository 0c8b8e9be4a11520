"""Cross-region copies of the data tier's stores, kept minutes behind the primary (RPO on region loss <= 1 h).

AWS Backup's DR copies run once per snapshot rule, so on their own they lose up to a day with the region. Here
each store replicates as it changes, into the DR region (``backup.drRegion``), under CMKs created in that region:

- PostgreSQL: its automated backups (snapshots and transaction logs) are replicated for point-in-time restore;
- the data bucket: S3 Cross-Region Replication with Replication Time Control into a replica bucket;
- secrets: Secrets Manager replicas (``secret_replica`` below, applied where each secret is created);
- DocumentDB: a global cluster with a headless secondary in the standby network (components/data/global_cluster.py).

Redis is not replicated: it holds the rate limiter's counters and the worker queue's pending job ids, both
rebuilt from PostgreSQL after a failover (docs/disaster-recovery.md says why and what the services must do).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core import iam, kms
from components.core.context import StackContext
from components.data.buckets import PrefixExpiry, ReplicaBuckets, replica_buckets
from components.data.naming import COMPONENT
from config.backup import Replication
from config.data import BucketsConfig


@dataclass(frozen=True)
class StandbyRefs:
    """The standby network in the DR region (components.network.standby): where the DocumentDB secondary lives."""

    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    logs_key_arn: pulumi.Input[str]


@dataclass(frozen=True)
class DrTarget:
    """Where the data tier replicates to: the DR region, a provider for it, and the replication intent."""

    region: str
    provider: aws.Provider
    config: Replication
    standby: StandbyRefs | None = None
    """The DR region's standby network; built when a store needs to live there (the document store's secondary)."""


@dataclass(frozen=True)
class SecretReplica:
    """Where each secret keeps a replica (Secrets Manager ``replicas``: the DR region and its CMK)."""

    region: str
    key_arn: pulumi.Input[str]

    def replicas(self) -> list[dict[str, pulumi.Input[str]]]:
        return [{"region": self.region, "kms_key_id": self.key_arn}]


def replica_arn(arn: str, region: str) -> str:
    """A secret replica's ARN: the primary's with the replica's region (the name and its suffix are kept)."""
    parts = arn.split(":")
    return ":".join([*parts[:3], region, *parts[4:]]) if len(parts) > 4 else arn


def dr_keys(parent: pulumi.Resource, name: str, context: StackContext, dr: DrTarget,
            extra: tuple[str, ...] = ()) -> dict[str, aws.kms.Key]:
    """One CMK per replicated purpose in the DR region: a key of one region cannot encrypt data of another.

    ``extra``: purposes of optional stores (``documents`` for the document store's global-cluster secondary)."""
    return {purpose: kms.customer_key(
        f"{name}-dr-{purpose}-key", f"data-{purpose}-dr", account_id=context.account_id,
        partition=context.partition, tags=context.tags(COMPONENT), protect=context.protect, parent=parent,
        provider=dr.provider) for purpose in ("database", "objects", "secrets", *extra)}


def replicate_database_backups(parent: pulumi.Resource, name: str, *, instance: aws.rds.Instance,
                               retention_days: int, key_arn: pulumi.Input[str],
                               dr: DrTarget) -> aws.rds.InstanceAutomatedBackupsReplication:
    """Replicate the instance's automated backups to the DR region, for a point-in-time restore there.

    The resource "has to be created in the destination region" (pulumi-aws rds.InstanceAutomatedBackupsReplication),
    hence the DR provider; ``kms_key_id`` is "the ARN for the KMS encryption key in the destination AWS Region"
    (RDS API StartDBInstanceAutomatedBackupsReplication, KmsKeyId).
    """
    return aws.rds.InstanceAutomatedBackupsReplication(
        f"{name}-postgres-dr-backups",
        source_db_instance_arn=instance.arn,
        kms_key_id=key_arn,
        retention_period=retention_days,
        opts=pulumi.ResourceOptions(parent=instance, provider=dr.provider, protect=False),
    )


def _replication_role(parent: pulumi.Resource, name: str, context: StackContext, *, source: aws.s3.Bucket,
                      source_key_arn: pulumi.Input[str], replica: aws.s3.Bucket, replica_key_arn: pulumi.Input[str],
                      dr: DrTarget) -> aws.iam.Role:
    """The role S3 assumes to replicate: read the source's versions, write replicas, nothing else.

    Actions from the S3 user guide, "Setting up permissions for live replication" (source: GetReplicationConfiguration,
    ListBucket, GetObjectVersionForReplication, GetObjectVersionAcl, GetObjectVersionTagging; destination:
    ReplicateObject, ReplicateDelete, ReplicateTags) and "Replicating encrypted objects" (kms:Decrypt through S3 in
    the source region, kms:Encrypt through S3 in the destination region, each limited by the encryption context).
    Both buckets use S3 Bucket Keys, so the encryption context is the bucket ARN, not the object ARN.
    """
    role = aws.iam.Role(
        f"{name}-replication-role",
        description="S3 Cross-Region Replication of the data bucket to its DR replica",
        # The trust of "Setting up permissions for live replication": the S3 service principal alone. The guide
        # documents no aws:SourceAccount on replication's assume-role call, so none is required of it here; the
        # role can reach only this bucket pair and these two keys whoever assumes it.
        assume_role_policy=iam.service_trust("s3.amazonaws.com"),
        tags=context.tags(COMPONENT),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    policy = iam.document(
        iam.statement(["s3:GetReplicationConfiguration", "s3:ListBucket"], [source.arn], sid="ReadSourceBucket"),
        iam.statement(["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                      [pulumi.Output.concat(source.arn, "/*")], sid="ReadSourceVersions"),
        iam.statement(["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                      [pulumi.Output.concat(replica.arn, "/*")], sid="WriteReplicas"),
        iam.statement(["kms:Decrypt"], [source_key_arn], sid="DecryptSourceObjects", condition={"StringLike": {
            "kms:ViaService": f"s3.{context.region}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": source.arn}}),
        iam.statement(["kms:Encrypt"], [replica_key_arn], sid="EncryptReplicas", condition={"StringLike": {
            "kms:ViaService": f"s3.{dr.region}.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": replica.arn}}),
    )
    aws.iam.RolePolicy(f"{name}-replication-policy", role=role.id, policy=policy,
                       opts=pulumi.ResourceOptions(parent=role))
    return role


def replicate_bucket(parent: pulumi.Resource, name: str, cfg: BucketsConfig, context: StackContext, *,
                     source: aws.s3.Bucket, source_key_arn: pulumi.Input[str], replica_key_arn: pulumi.Input[str],
                     dr: DrTarget, after: list[pulumi.Resource],
                     expiring_prefixes: Mapping[str, PrefixExpiry] | None = None) -> ReplicaBuckets:
    """S3 Cross-Region Replication of ``source`` into a replica bucket in the DR region.

    Delete markers are replicated, so an object deleted before the failover stays deleted after it; a delete that
    names a version is never replicated (S3 user guide, "What is replicated"), so nobody can erase the replica's
    history from the primary region, and noncurrent versions expire by the replica's own lifecycle.
    """
    replicas = replica_buckets(parent, f"{name}-data", cfg, context, data_key_arn=replica_key_arn,
                               provider=dr.provider, expiring_prefixes=expiring_prefixes)
    role = _replication_role(parent, f"{name}-data", context, source=source, source_key_arn=source_key_arn,
                             replica=replicas.data, replica_key_arn=replica_key_arn, dr=dr)
    rule: dict[str, object] = {
        "id": "dr-region",
        "status": "Enabled",
        "priority": 1,
        "filter": {"prefix": ""},  # a filter makes this a V2 rule, which delete_marker_replication requires
        "delete_marker_replication": {"status": "Enabled"},
        # Objects are SSE-KMS: S3 replicates them only when asked to, re-encrypted under the DR key.
        "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
        "destination": {
            "bucket": replicas.data.arn,
            "storage_class": "STANDARD",
            "encryption_configuration": {"replica_kms_key_id": replica_key_arn},
            **({
                # RTC: S3 API ReplicationTimeValue, Minutes "Valid value: 15" (the time and the metrics threshold).
                "replication_time": {"status": "Enabled", "time": {"minutes": 15}},
                "metrics": {"status": "Enabled", "event_threshold": {"minutes": 15}},
            } if dr.config.replication_time_control else {}),
        },
    }
    aws.s3.BucketReplicationConfig(
        f"{name}-data-replication",
        bucket=source.id,
        role=role.arn,
        rules=[rule],
        # S3 refuses a replication configuration until both buckets are versioned.
        opts=pulumi.ResourceOptions(parent=source, depends_on=[*after, replicas.data_versioning]),
    )
    return replicas
