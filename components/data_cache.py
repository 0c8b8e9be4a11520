"""ElastiCache (Redis OSS or Valkey): TLS and AUTH always, our key at rest, failover across AZs in prod."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.context import Platform
from components.data_common import CACHE_CREDENTIALS, COMPONENT, REDIS_PORT, physical_name
from components.data_secrets import secret
from components.logs import log_group
from config.data import DataTierConfig, RedisConfig

LOG_TYPES = ("slow-log", "engine-log")


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
    platform: Platform,
    *,
    subnet_ids: Sequence[pulumi.Input[str]],
    security_group_id: pulumi.Input[str],
    storage_key_arn: pulumi.Input[str],
    secrets_key_arn: pulumi.Input[str],
    logs_key_arn: pulumi.Input[str],
    alert_topic_arn: pulumi.Input[str] | None,
) -> Cache:
    cfg = config.redis
    protect = platform.protect
    child = pulumi.ResourceOptions(parent=parent)
    tags = platform.tags(COMPONENT)
    group_id = physical_name(platform.config.name, "redis", 40)

    # Bumping authTokenGeneration replaces the token; ROTATE keeps the old one valid until the next change.
    token = random.RandomPassword(f"{name}-redis-auth-token", length=64, special=False,
                                  keepers={"generation": str(cfg.auth_token_generation)}, opts=child)
    auth_secret, auth_version = secret(
        f"{name}-redis-auth", platform, path="redis/auth-token", kind=CACHE_CREDENTIALS,
        description="Redis AUTH token (the secret string is the token itself)", value=token.result,
        key_arn=secrets_key_arn, recovery_window_days=config.secrets.recovery_window_days, parent=parent)

    subnet_group = aws.elasticache.SubnetGroup(
        f"{name}-redis-subnets", subnet_ids=list(subnet_ids),
        description="Isolated subnets: no route to or from the internet", tags=tags, opts=child)
    parameter_group = aws.elasticache.ParameterGroup(
        f"{name}-redis-params", family=cfg.parameter_group_family,
        description=f"agent-platform {cfg.engine} {cfg.engine_version}",
        parameters=[{"name": k, "value": v} for k, v in sorted(parameters(cfg).items())], tags=tags, opts=child)
    groups = {
        kind: log_group(f"{name}-redis-{kind}s", f"/agent-platform/{platform.config.stack}/redis/{kind}",
                        retention_days=config.log_retention_days, kms_key_arn=logs_key_arn, tags=tags, parent=parent)
        for kind in LOG_TYPES
    }

    group = aws.elasticache.ReplicationGroup(
        f"{name}-redis",
        replication_group_id=group_id,
        description=f"agent-platform {platform.config.stack} cache, sessions and queues",
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
        notification_topic_arn=alert_topic_arn,
        log_delivery_configurations=[
            {"destination": groups[kind].name, "destination_type": "cloudwatch-logs", "log_format": "json",
             "log_type": kind}
            for kind in LOG_TYPES
        ],
        apply_immediately=not platform.config.protected_tier,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, depends_on=list(groups.values())),
    )
    return Cache(group=group, auth_secret=auth_secret, auth_version=auth_version)
