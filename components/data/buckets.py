"""The data bucket (uploads, agent artifacts, embedding caches) and the logs bucket that records access to it.

Both: all four public-access blocks, bucket-owner-enforced ownership (no ACLs), versioning, lifecycle,
a policy that refuses plain HTTP. The data bucket uses SSE-KMS with bucket keys; the logs bucket uses
SSE-S3 because load balancers can only deliver access logs to such a bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

from components.core import iam
from components.core.context import StackContext
from components.data.naming import COMPONENT
from config.data import BucketsConfig

# Prefixes of the logs bucket, one per producer (other components log their buckets under s3-access/ too).
S3_ACCESS_PREFIX = "s3-access"
LOAD_BALANCER_PREFIX = "alb"


@dataclass(frozen=True)
class Buckets:
    data: aws.s3.Bucket
    logs: aws.s3.Bucket
    logs_policy: aws.s3.BucketPolicy
    # S3 accepts a replication configuration only once the bucket is versioned.
    data_versioning: aws.s3.BucketVersioning



def _tls_only(bucket: aws.s3.Bucket) -> dict[str, Any]:
    return iam.statement(["s3:*"], [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")], sid="DenyInsecureTransport",
                         effect="Deny", principal="*", condition={"Bool": {"aws:SecureTransport": "false"}})


def _bucket(name: str, context: StackContext, *, tags: dict[str, str], parent: pulumi.Resource,
            provider: aws.Provider | None = None) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
    protect = context.protect
    bucket = aws.s3.Bucket(
        name,
        force_destroy=not protect,  # dev stacks can be destroyed with their (versioned) objects
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect, provider=provider),
    )
    child = pulumi.ResourceOptions(parent=bucket, provider=provider)
    aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                   rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
    versioning = aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                          versioning_configuration={"status": "Enabled"}, opts=child)
    return bucket, versioning


def _public_access_block(name: str, bucket: aws.s3.Bucket,
                         provider: aws.Provider | None = None) -> aws.s3.BucketPublicAccessBlock:
    return aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True,
        opts=pulumi.ResourceOptions(parent=bucket, provider=provider))


class PrefixExpiry(NamedTuple):
    """Days S3 keeps the current objects under a prefix, and (when set) their noncurrent versions after that."""

    days: int
    noncurrent_days: int | None = None


def _prefix_expiry(prefix: str, expiry: PrefixExpiry) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": f"expire-{prefix.strip('/').replace('/', '-')}", "status": "Enabled",
                            "filter": {"prefix": prefix}, "expiration": {"days": expiry.days}}
    if expiry.noncurrent_days is not None:
        rule["noncurrent_version_expiration"] = {"noncurrent_days": expiry.noncurrent_days}
    return rule


def _lifecycle(name: str, bucket: aws.s3.Bucket, rules: list[dict[str, Any]],
               provider: aws.Provider | None = None) -> None:
    aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket.id, rules=rules,
                                        opts=pulumi.ResourceOptions(parent=bucket, provider=provider))


def _housekeeping(cfg: BucketsConfig) -> list[dict[str, Any]]:
    """Rules every bucket gets: old versions and abandoned multipart uploads do not pile up cost."""
    return [
        {"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {"prefix": ""},
         "noncurrent_version_expiration": {"noncurrent_days": cfg.noncurrent_version_expiration_days}},
        {"id": "abort-incomplete-uploads", "status": "Enabled", "filter": {"prefix": ""},
         "abort_incomplete_multipart_upload": {"days_after_initiation": cfg.abort_incomplete_upload_days}},
    ]


def logs_bucket(parent: pulumi.Resource, name: str, cfg: BucketsConfig,
                context: StackContext) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
    """The logs bucket alone: a DR stack's data bucket is the source's replica, which it does not create."""
    return _logs_bucket(parent, f"{name}-logs", cfg, context)


def buckets(parent: pulumi.Resource, name: str, cfg: BucketsConfig, context: StackContext, *,
            data_key_arn: pulumi.Input[str], expiring_prefixes: Mapping[str, PrefixExpiry] | None = None) -> Buckets:
    """``expiring_prefixes``: data bucket prefixes whose objects S3 deletes after so many days (snapshots)."""
    logs, logs_policy = _logs_bucket(parent, f"{name}-logs", cfg, context)
    data, versioning = _data_bucket(parent, f"{name}-data", cfg, context, data_key_arn=data_key_arn, logs=logs,
                                    expiring_prefixes=expiring_prefixes or {})
    return Buckets(data=data, logs=logs, logs_policy=logs_policy, data_versioning=versioning)


def _logs_bucket(parent: pulumi.Resource, name: str, cfg: BucketsConfig,
                 context: StackContext, *, provider: aws.Provider | None = None,
                 load_balancer_logs: bool = True) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
    # Tagged as a log bucket: it holds no data of its own, so AWS Backup leaves it out.
    bucket, _ = _bucket(name, context, tags=context.tags(COMPONENT, role="logs"), parent=parent, provider=provider)
    child = pulumi.ResourceOptions(parent=bucket, provider=provider)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}], opts=child)
    block = _public_access_block(name, bucket, provider)
    expire: dict[str, Any] = {"id": "expire-logs", "status": "Enabled", "filter": {"prefix": ""},
                              "expiration": {"days": cfg.logs_expiration_days}}
    # STANDARD_IA bills at least 30 days per object, so move logs only if they outlive that afterwards.
    if cfg.logs_expiration_days > cfg.infrequent_access_after_days + 30:
        expire["transitions"] = [{"days": cfg.infrequent_access_after_days, "storage_class": "STANDARD_IA"}]
    _lifecycle(name, bucket, [expire, *_housekeeping(cfg)], provider)

    account = context.account_id
    statements = [
        _tls_only(bucket),
        iam.statement(["s3:PutObject"], [pulumi.Output.concat(bucket.arn, f"/{S3_ACCESS_PREFIX}/*")],
                      sid="S3ServerAccessLogs", principal={"Service": "logging.s3.amazonaws.com"},
                      condition={"StringEquals": {"aws:SourceAccount": account}}),
    ]
    if load_balancer_logs:
        elb_account = aws.elb.get_service_account_output()
        alb_logs = pulumi.Output.concat(bucket.arn, f"/{LOAD_BALANCER_PREFIX}/AWSLogs/", account, "/*")
        statements += [
            # Regions opened before August 2022 deliver load-balancer logs from a regional ELB account,
            # newer ones through the log delivery service; the grant covers both.
            iam.statement(["s3:PutObject"], [alb_logs], sid="LoadBalancerAccessLogsRegional",
                          principal={"AWS": elb_account.arn}),
            iam.statement(["s3:PutObject"], [alb_logs], sid="LoadBalancerAccessLogs",
                          principal={"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
        ]
    bucket_policy = aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=iam.document(*statements),
                                        opts=pulumi.ResourceOptions(parent=bucket, depends_on=[block],
                                                                    provider=provider))
    return bucket, bucket_policy


def _data_bucket(parent: pulumi.Resource, name: str, cfg: BucketsConfig, context: StackContext, *,
                 data_key_arn: pulumi.Input[str], logs: aws.s3.Bucket, expiring_prefixes: Mapping[str, PrefixExpiry],
                 tags: dict[str, str] | None = None,
                 provider: aws.Provider | None = None) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
    """The data bucket, or (with the DR provider and the DR key) its replica: both get the same guards."""
    bucket, versioning = _bucket(name, context, tags=tags or context.tags(COMPONENT, backup_plan="default"),
                                 parent=parent, provider=provider)
    child = pulumi.ResourceOptions(parent=bucket, provider=provider)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                            "kms_master_key_id": data_key_arn},
                "bucket_key_enabled": True}], opts=child)
    block = _public_access_block(name, bucket, provider)
    _lifecycle(name, bucket, [
        {"id": "infrequent-access", "status": "Enabled", "filter": {"prefix": ""},
         "transitions": [{"days": cfg.infrequent_access_after_days, "storage_class": "STANDARD_IA"}]},
        {"id": "remove-expired-delete-markers", "status": "Enabled", "filter": {"prefix": ""},
         "expiration": {"expired_object_delete_marker": True}},
        *_housekeeping(cfg),
        *(_prefix_expiry(prefix, expiry) for prefix, expiry in sorted(expiring_prefixes.items())),
    ], provider)
    aws.s3.BucketLogging(
        f"{name}-access-logging", bucket=bucket.id, target_bucket=logs.id,
        target_prefix=f"{S3_ACCESS_PREFIX}/data/",
        target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}}, opts=child)
    objects = pulumi.Output.concat(bucket.arn, "/*")
    policy = iam.document(
        _tls_only(bucket),
        # Default encryption covers uploads that name no key; these refuse uploads that name another one.
        iam.statement(["s3:PutObject"], [objects], sid="DenyOtherEncryption", effect="Deny", principal="*",
                      condition={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
        iam.statement(["s3:PutObject"], [objects], sid="DenyOtherKmsKeys", effect="Deny", principal="*",
                      condition={"StringNotEqualsIfExists": {
                          "s3:x-amz-server-side-encryption-aws-kms-key-id": data_key_arn}}),
    )
    aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=policy,
                        opts=pulumi.ResourceOptions(parent=bucket, depends_on=[block], provider=provider))
    return bucket, versioning


@dataclass(frozen=True)
class ReplicaBuckets:
    data: aws.s3.Bucket
    logs: aws.s3.Bucket
    data_versioning: aws.s3.BucketVersioning


def replica_buckets(parent: pulumi.Resource, name: str, cfg: BucketsConfig, context: StackContext, *,
                    data_key_arn: pulumi.Input[str], provider: aws.Provider,
                    expiring_prefixes: Mapping[str, PrefixExpiry] | None = None) -> ReplicaBuckets:
    """The data bucket's replica in the DR region, with the primary's guards, and a logs bucket for its access logs.

    S3 delivers server access logs only to a bucket in the source bucket's region, so the replica gets a logs
    bucket of its own there. The primary's logs bucket is not replicated: access and load-balancer logs record
    the lost region's requests and are not needed to run the platform elsewhere (docs/disaster-recovery.md).
    The replica is tagged ``role=replica``: it is itself the cross-region copy, so AWS Backup leaves it out.
    """
    logs, _ = _logs_bucket(parent, f"{name}-replica-logs", cfg, context, provider=provider, load_balancer_logs=False)
    data, versioning = _data_bucket(parent, f"{name}-replica", cfg, context, data_key_arn=data_key_arn, logs=logs,
                                    expiring_prefixes=expiring_prefixes or {},
                                    tags=context.tags(COMPONENT, role="replica"), provider=provider)
    return ReplicaBuckets(data=data, logs=logs, data_versioning=versioning)
