"""ElastiCache (Redis OSS or Valkey): TLS and AUTH always, our key at rest, failover across AZs in prod."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.core.context import StackContext
from components.core.logs import log_group
from components.data.naming import CACHE_CREDENTIALS, COMPONENT, REDIS_PORT, physical_name
from components.data.replication import SecretReplica
from components.data.secrets import secret
from config.data import DataTierConfig, RedisConfig

LOG_TYPES = ("slow-log", "engine-log")
# ElastiCache events worth a page, as ElastiCache sends them to EventBridge (source aws.elasticache; the
# detail-types of the EventBridge events reference, "Amazon ElastiCache events"). Routine ones (Cache
# Created/Updated, Snapshot Created) are left out.
ALERT_EVENTS = ("Cache Creation Failed", "Cache Update Failed", "Cache Deleted", "Cache Limit Approaching",
                "Snapshot Creation Failed", "Snapshot Export Failed", "Snapshot Copy Failed")


def event_pattern(group_id: str) -> dict[str, Any]:
    """This replication group's alert events: its own id or a member's (``<group>-001``) as SourceIdentifier.

    The detail field names are those of AWS's event schemas (aws.elasticache@CacheUpdateFailed: EventCategories,
    EventID, Message, SourceArn, SourceIdentifier, SourceType, as the CDK event-pattern classes generated from
    the schema registry list them).
    """
    return {"source": ["aws.elasticache"], "detail-type": list(ALERT_EVENTS),
            "detail": {"SourceIdentifier": [{"prefix": group_id}]}}


def parameters(cfg: RedisConfig) -> dict[str, str]:
    """The seeds run Redis as an LRU cache: evict any key rather than fail writes when memory is full."""
    return {"maxmemory-policy": "allkeys-lru", **cfg.parameters}


@dataclass(frozen=True)
class Cache:
    group: aws.elasticache.ReplicationGroup
    auth_secret: aws.secretsmanager.Secret
    auth_version: aws.secretsmanager.SecretVersion


def cache(
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
    alert_topic_arn: pulumi.Input[str] | None,
    secret_replica: SecretReplica | None = None,
) -> Cache:
    cfg = config.redis
    protect = context.protect
    child = pulumi.ResourceOptions(parent=parent)
    tags = context.tags(COMPONENT)
    group_id = physical_name(context.name, "redis", 40)

    # Bumping authTokenGeneration replaces the token; ROTATE keeps the old one valid until the next change.
    token = random.RandomPassword(f"{name}-redis-auth-token", length=64, special=False,
                                  keepers={"generation": str(cfg.auth_token_generation)}, opts=child)
    auth_secret, auth_version = secret(
        f"{name}-redis-auth", context, path="redis/auth-token", kind=CACHE_CREDENTIALS,
        description="Redis AUTH token (the secret string is the token itself)", value=token.result,
        key_arn=secrets_key_arn, recovery_window_days=config.secrets.recovery_window_days, parent=parent,
        replica=secret_replica)

    subnet_group = aws.elasticache.SubnetGroup(
        f"{name}-redis-subnets", subnet_ids=list(subnet_ids),
        description="Isolated subnets: no route to or from the internet", tags=tags, opts=child)
    parameter_group = aws.elasticache.ParameterGroup(
        f"{name}-redis-params", family=cfg.parameter_group_family,
        description=f"agent-platform {cfg.engine} {cfg.engine_version}",
        parameters=[{"name": k, "value": v} for k, v in sorted(parameters(cfg).items())], tags=tags, opts=child)
    groups = {
        kind: log_group(f"{name}-redis-{kind}s", f"/agent-platform/{context.stack}/redis/{kind}",
                        retention_days=config.log_retention_days, kms_key_arn=logs_key_arn, tags=tags, parent=parent)
        for kind in LOG_TYPES
    }

    group = aws.elasticache.ReplicationGroup(
        f"{name}-redis",
        replication_group_id=group_id,
        description=f"agent-platform {context.stack} cache, sessions and queues",
        engine=cfg.engine,
        engine_version=cfg.engine_version,
        auto_minor_version_upgrade=True,
        node_type=cfg.node_type,
        num_cache_clusters=cfg.num_cache_clusters,
        automatic_failover_enabled=cfg.automatic_failover,
        multi_az_enabled=cfg.automatic_failover,
        port=REDIS_PORT,
        subnet_group_name=subnet_group.name,
        security_group_ids=[security_group_id],
        parameter_group_name=parameter_group.name,
        at_rest_encryption_enabled=True,
        kms_key_id=storage_key_arn,
        transit_encryption_enabled=True,
        transit_encryption_mode="required",
        auth_token=pulumi.Output.secret(token.result),
        auth_token_update_strategy="ROTATE",
        snapshot_retention_limit=cfg.snapshot_retention_days,
        snapshot_window=cfg.snapshot_window,
        maintenance_window=cfg.maintenance_window,
        final_snapshot_identifier=f"{group_id}-final" if protect else None,
        log_delivery_configurations=[
            {"destination": groups[kind].name, "destination_type": "cloudwatch-logs", "log_format": "json",
             "log_type": kind}
            for kind in LOG_TYPES
        ],
        apply_immediately=not context.protected_tier,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=list(groups.values())),
    )
    if alert_topic_arn is not None:
        # Not notification_topic_arn: ElastiCache cannot publish to a KMS-encrypted topic (it shows the topic
        # inactive and drops the messages) and needs aws:SourceOwner in the topic policy (ElastiCache user guide,
        # Event Notifications and Amazon SNS). EventBridge can, with the key admitting events.amazonaws.com.
        rule = aws.cloudwatch.EventRule(
            f"{name}-redis-events", description=f"ElastiCache failures and warnings of {group_id}",
            event_pattern=json.dumps(event_pattern(group_id)), tags=tags, opts=child)
        # No role_arn: SNS targets use the topic policy; a role breaks delivery to KMS-encrypted topics
        # (EventBridge user guide, Using resource-based policies).
        aws.cloudwatch.EventTarget(f"{name}-redis-events", rule=rule.name, arn=alert_topic_arn,
                                   opts=pulumi.ResourceOptions(parent=rule))
    return Cache(group=group, auth_secret=auth_secret, auth_version=auth_version)
