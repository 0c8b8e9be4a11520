"""Tier presets: what dev, staging and prod mean by default. Stack files override any of it.

dev is cheap (2 AZs, one NAT instance, Valkey, spot nodes, small classes, short retention, nothing protected);
staging mirrors prod's shape at smaller sizes; prod is highly available and protected.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

# Keys whose value is a map of named entries: a stack that sets them replaces the preset's entries
# instead of merging into them (a stack naming its own node groups must not inherit "general").
REPLACED_WHOLE = frozenset({"nodeGroups", "services"})

TIER_PRESETS: dict[str, dict[str, Any]] = {
    "dev": {
        "protect": False,
        # No EKS control plane or nodes: each service runs on its own small Auto Scaling group.
        "runtime": "vm",
        "network": {
            "azCount": 2,
            # Economy: one NAT instance (~$8/month with its address and key) instead of a NAT gateway (~$39 with
            # its address and data processing).
            "egress": "natInstance",
            "natGateways": "single",
            "interfaceEndpoints": [],
            "flowLogs": {"retentionDays": 14},
        },
        "cluster": {
            "logRetentionDays": 14,
            # Disposable: an add-on update resets in-cluster changes to EKS's defaults.
            "addonConflictsOnUpdate": "OVERWRITE",
            "nodeGroups": {
                "general": {"instanceTypes": ["t3.large", "t3a.large"], "capacityType": "SPOT",
                            "minSize": 1, "desiredSize": 2, "maxSize": 3, "diskSizeGib": 30},
            },
        },
        "dataTier": {
            "postgres": {"instanceClass": "db.t4g.micro", "multiAz": False, "backupRetentionDays": 1,
                         "allocatedStorageGib": 20, "maxAllocatedStorageGib": 50, "monitoringIntervalSeconds": 60},
            # Valkey: the same protocol, TLS, AUTH and encryption; node-based Valkey is priced 20% below Redis OSS.
            "redis": {"engine": "valkey", "nodeType": "cache.t4g.micro", "numCacheClusters": 1,
                      "automaticFailover": False, "snapshotRetentionDays": 1},
            "secrets": {"recoveryWindowDays": 0},
            "buckets": {"noncurrentVersionExpirationDays": 7, "logsExpirationDays": 30},
            "logRetentionDays": 14,
            # Used only when vectorStore is qdrant or weaviate: one small store, a few days of snapshots.
            "qdrant": {"replicas": 1, "volumeSizeGib": 10, "cpuRequest": "250m", "memoryRequest": "1Gi",
                       "memoryLimit": "2Gi", "snapshotRetentionDays": 3, "instanceType": "t4g.medium"},
            "weaviate": {"replicas": 1, "volumeSizeGib": 10, "cpuRequest": "250m", "memoryRequest": "1Gi",
                         "memoryLimit": "2Gi", "snapshotRetentionDays": 3, "instanceType": "t4g.medium"},
        },
        "edge": {
            "waf": {"logRetentionDays": 14},
            "controller": {"replicas": 1},
        },
        "observability": {
            "logRetentionDays": 14,
            "prometheus": {"retentionDays": 3, "volumeSizeGib": 20, "replicas": 1, "cpuRequest": "250m",
                           "memoryRequest": "1Gi"},
            "alertmanager": {"replicas": 1, "volumeSizeGib": 1},
            # LLM alerts keep seed 000's defaults ($5/hour, $50/day; $500/month is cost.llm.monthlyBudgetUsd).
        },
        "backup": {
            # Cheap: one daily snapshot kept a week, no lock, no copies, no restore tests.
            "daily": {"enabled": True, "retentionDays": 7},
            "weekly": {"enabled": False},
            "monthly": {"enabled": False},
            "continuous": {"enabled": False},
            "lock": {"mode": "none"},
            "rpoTargetMinutes": 1440,
            "restoreTesting": {"enabled": False},
        },
        "cost": {
            "monthlyBudgetUsd": 400,
            # A developer or two and test traffic; Spot priced at on-demand (upper bound).
            "usage": {"natDataGb": 50, "endpointDataGb": 0, "loadBalancerLcu": 1, "wafRequestsMillions": 1,
                      "s3StorageGb": 20, "ecrStorageGb": 10, "logIngestionGb": 10, "backupWarmGb": 10,
                      "backupColdGb": 0, "backupRdsSnapshotGb": 20, "spotPriceFactor": 1.0,
                      "runOnceInstanceHours": 2,
                      "ciRunnerBuildMinutes": 0,
                      "documentDbStorageGb": 5, "documentDbIoMillions": 5, "documentDbBackupGb": 0,
                      "drReplicationGb": 0,
                      # A dedicated vector store's data (each snapshot run writes it in full): test collections.
                      "vectorSnapshotGb": 1},
            # Seed 000's $500/month; each service with a defaultModel: a few hundred test requests a day.
            "llm": {"monthlyBudgetUsd": 500, "requestsPerDay": 200, "inputTokensPerRequest": 2000,
                    "outputTokensPerRequest": 500},
        },
    },
    "staging": {
        "protect": True,
        "runtime": "eks",
        "network": {"azCount": 3, "natGateways": "single", "flowLogs": {"retentionDays": 90}},
        "cluster": {
            "logRetentionDays": 90,
            "nodeGroups": {
                "general": {"instanceTypes": ["m7i.large"], "capacityType": "ON_DEMAND",
                            "minSize": 2, "desiredSize": 3, "maxSize": 6, "diskSizeGib": 50},
            },
        },
        "dataTier": {
            "postgres": {"instanceClass": "db.t4g.large", "multiAz": False, "backupRetentionDays": 7,
                         "allocatedStorageGib": 50, "maxAllocatedStorageGib": 200, "monitoringIntervalSeconds": 60},
            "redis": {"nodeType": "cache.t4g.small", "numCacheClusters": 2, "automaticFailover": True,
                      "snapshotRetentionDays": 3},
            "secrets": {"recoveryWindowDays": 7},
            "buckets": {"noncurrentVersionExpirationDays": 30, "logsExpirationDays": 180},
            "logRetentionDays": 30,
            "qdrant": {"replicas": 1, "volumeSizeGib": 20, "cpuRequest": "500m", "memoryRequest": "2Gi",
                       "memoryLimit": "4Gi", "snapshotRetentionDays": 7, "instanceType": "r7g.large"},
            "weaviate": {"replicas": 1, "volumeSizeGib": 20, "cpuRequest": "500m", "memoryRequest": "2Gi",
                         "memoryLimit": "4Gi", "snapshotRetentionDays": 7, "instanceType": "r7g.large"},
        },
        "edge": {
            "waf": {"logRetentionDays": 90, "apiKeyHeader": "authorization"},
            "controller": {"replicas": 2},
        },
        "observability": {
            "logRetentionDays": 30,
            "prometheus": {"retentionDays": 15, "volumeSizeGib": 50, "replicas": 1, "cpuRequest": "500m",
                           "memoryRequest": "2Gi"},
            "alertmanager": {"replicas": 2, "volumeSizeGib": 2},
            "alerts": {"llmDailyBudgetUsd": 50},
        },
        "backup": {
            "daily": {"enabled": True, "retentionDays": 14},
            "weekly": {"enabled": True, "retentionDays": 56},
            "monthly": {"enabled": False},
            "continuous": {"enabled": False},
            "lock": {"mode": "governance", "minRetentionDays": 7, "maxRetentionDays": 120},
            "rpoTargetMinutes": 1440,
            "restoreTesting": {"enabled": True, "schedule": "cron(0 6 1 * ? *)", "selectionWindowDays": 7},
        },
        "cost": {
            "monthlyBudgetUsd": 1500,
            # Integration and load tests through each service that names a model.
            "llm": {"monthlyBudgetUsd": 1500, "requestsPerDay": 500, "inputTokensPerRequest": 3000,
                    "outputTokensPerRequest": 600},
            # Integration and load tests; image pulls and AWS API calls go through the interface endpoints.
            "usage": {"natDataGb": 200, "endpointDataGb": 50, "loadBalancerLcu": 2, "wafRequestsMillions": 5,
                      "s3StorageGb": 100, "ecrStorageGb": 20, "logIngestionGb": 50, "backupWarmGb": 50,
                      "backupColdGb": 0, "backupRdsSnapshotGb": 100, "spotPriceFactor": 1.0,
                      "runOnceInstanceHours": 2,
                      "ciRunnerBuildMinutes": 1200,
                      "documentDbStorageGb": 20, "documentDbIoMillions": 50, "documentDbBackupGb": 0,
                      "drReplicationGb": 0, "vectorSnapshotGb": 5},
        },
    },
    "prod": {
        "protect": True,
        "runtime": "eks",
        "network": {"azCount": 3, "natGateways": "perAz", "flowLogs": {"retentionDays": 365}},
        "cluster": {
            "logRetentionDays": 365,
            "nodeGroups": {
                "general": {"instanceTypes": ["m7i.xlarge"], "capacityType": "ON_DEMAND",
                            "minSize": 3, "desiredSize": 3, "maxSize": 12, "diskSizeGib": 100},
            },
        },
        "dataTier": {
            "postgres": {"instanceClass": "db.r7g.large", "multiAz": True, "backupRetentionDays": 35,
                         "allocatedStorageGib": 100, "maxAllocatedStorageGib": 1000, "monitoringIntervalSeconds": 15},
            "redis": {"nodeType": "cache.r7g.large", "numCacheClusters": 3, "automaticFailover": True,
                      "snapshotRetentionDays": 14},
            "secrets": {"recoveryWindowDays": 30},
            "buckets": {"noncurrentVersionExpirationDays": 90, "logsExpirationDays": 365},
            "logRetentionDays": 365,
            # Three replicas in three zones (collections need replication factor 3 to survive a zone). Snapshots
            # every 30 minutes: with the data bucket's replication (RTC, 15 min) a region loss costs at most
            # 45 minutes plus a snapshot's own duration, within rpoTargetMinutes 60 (docs/disaster-recovery.md).
            "qdrant": {"replicas": 3, "volumeSizeGib": 100, "cpuRequest": "1", "memoryRequest": "4Gi",
                       "memoryLimit": "8Gi", "snapshotRetentionDays": 30, "instanceType": "r7g.xlarge",
                       "snapshotSchedule": "*/30 * * * *"},
            "weaviate": {"replicas": 3, "volumeSizeGib": 100, "cpuRequest": "1", "memoryRequest": "4Gi",
                         "memoryLimit": "8Gi", "snapshotRetentionDays": 30, "instanceType": "r7g.xlarge",
                         "snapshotSchedule": "*/30 * * * *"},
        },
        "edge": {
            # Per-credential limits on the bearer token the agents' clients send, on top of per-IP limits.
            "waf": {"logRetentionDays": 365, "apiKeyHeader": "authorization", "apiKeyRateLimit": 6000},
            "controller": {"replicas": 2, "cpuRequest": "100m", "memoryRequest": "128Mi", "memoryLimit": "256Mi"},
        },
        "observability": {
            "logRetentionDays": 365,
            "prometheus": {"retentionDays": 30, "volumeSizeGib": 200, "replicas": 2, "cpuRequest": "1",
                           "memoryRequest": "8Gi"},
            "alertmanager": {"replicas": 3, "volumeSizeGib": 2},
            "alerts": {"llmDailyBudgetUsd": 100, "llmHourlyBudgetUsd": 30},
        },
        "backup": {
            # PITR gives the 1 h RPO; snapshots give long retention; all copied to backup.drRegion.
            "continuous": {"enabled": True, "retentionDays": 35},
            "daily": {"enabled": True, "retentionDays": 35},
            "weekly": {"enabled": True, "retentionDays": 90},
            "monthly": {"enabled": True, "retentionDays": 365},
            "lock": {"mode": "compliance", "minRetentionDays": 35, "maxRetentionDays": 400,
                     "changeableForDays": 7},
            "rpoTargetMinutes": 60,
            "restoreTesting": {"enabled": True, "schedule": "cron(0 6 ? * SAT *)", "selectionWindowDays": 7,
                               "validationWindowHours": 4},
        },
        "cost": {
            "monthlyBudgetUsd": 6000,
            # Production conversations with retrieved context; 7,500/30 x 3 = 750 >= the prod alarm of $250/day.
            "llm": {"monthlyBudgetUsd": 7500, "requestsPerDay": 4000, "inputTokensPerRequest": 4000,
                    "outputTokensPerRequest": 800},
            # Production traffic: LLM calls through NAT, a year of logs, snapshots kept a year (cold after 90 days).
            "usage": {"natDataGb": 1000, "endpointDataGb": 300, "loadBalancerLcu": 10, "wafRequestsMillions": 50,
                      "s3StorageGb": 500, "ecrStorageGb": 50, "logIngestionGb": 300, "backupWarmGb": 250,
                      "backupColdGb": 500, "backupRdsSnapshotGb": 500, "spotPriceFactor": 1.0,
                      "runOnceInstanceHours": 2,
                      "ciRunnerBuildMinutes": 1200,
                      "documentDbStorageGb": 100, "documentDbIoMillions": 500, "documentDbBackupGb": 100,
                      # New or changed data per month that replicates to backup.drRegion (S3 objects, WAL).
                      "drReplicationGb": 100,
                      # A dedicated vector store's data: each snapshot run writes it in full, 48 runs a day with
                      # the prod tier's 30-minute schedule (a few million 1536-dimension embeddings).
                      "vectorSnapshotGb": 10},
        },
    },
}


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` onto ``base``; lists and REPLACED_WHOLE maps replace, other maps merge."""
    return _merge_into(copy.deepcopy(dict(base)), override)


def _merge_into(out: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    # ``out`` is already a deep copy of the base: nested maps merge into it rather than being copied again per
    # level (config validation merges the presets into every stack it validates).
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key not in REPLACED_WHOLE:
            out[key] = _merge_into(dict(out[key]), value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# Presets of optional blocks: applied under a block only when the stack file has it, so an absent block stays
# absent (no document store, no log search domain) and a present one gets its tier's sizing and retention.
OPTIONAL_PRESETS: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {
    "dev": {
        ("dataTier", "documentStore"): {"instanceClass": "db.t4g.medium", "instanceCount": 1,
                                        "backupRetentionDays": 1},
        ("observability", "logSearch"): {"instanceType": "m6g.large.search", "instanceCount": 1,
                                         "volumeSizeGib": 10, "zoneAwareness": False},
    },
    "staging": {
        ("dataTier", "documentStore"): {"instanceClass": "db.t4g.medium", "instanceCount": 2,
                                        "backupRetentionDays": 7},
        ("observability", "logSearch"): {"instanceType": "m6g.large.search", "instanceCount": 2,
                                         "volumeSizeGib": 50, "zoneAwareness": True, "availabilityZones": 2},
    },
    "prod": {
        # One instance per AZ: a primary and two replicas DocumentDB can fail over to.
        ("dataTier", "documentStore"): {"instanceClass": "db.r6g.large", "instanceCount": 3,
                                        "backupRetentionDays": 35},
        ("observability", "logSearch"): {"instanceType": "r6g.large.search", "instanceCount": 3,
                                         "volumeSizeGib": 100, "zoneAwareness": True, "availabilityZones": 3},
    },
}


def _at(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = values
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def with_preset(tier: str, stack_values: Mapping[str, Any]) -> dict[str, Any]:
    out = merge(TIER_PRESETS.get(tier, {}), stack_values)
    for path, preset in OPTIONAL_PRESETS.get(tier, {}).items():
        block = _at(stack_values, path)
        if isinstance(block, Mapping):
            parent = _at(out, path[:-1])
            parent[path[-1]] = merge(preset, block)
    return out
