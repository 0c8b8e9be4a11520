"""Tier presets: what dev, staging and prod mean by default. Stack files override any of it.

dev is cheap (2 AZs, one NAT, spot nodes, small classes, short retention, nothing protected);
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
        "network": {
            "azCount": 2,
            "natGateways": "single",
            "interfaceEndpoints": [],
            "flowLogs": {"retentionDays": 14},
        },
        "cluster": {
            "logRetentionDays": 14,
            "nodeGroups": {
                "general": {"instanceTypes": ["t3.large", "t3a.large"], "capacityType": "SPOT",
                            "minSize": 1, "desiredSize": 2, "maxSize": 3, "diskSizeGib": 30},
            },
        },
        "dataTier": {
            "postgres": {"instanceClass": "db.t4g.micro", "multiAz": False, "backupRetentionDays": 1,
                         "allocatedStorageGib": 20, "maxAllocatedStorageGib": 50},
            "redis": {"nodeType": "cache.t4g.micro", "numCacheClusters": 1, "automaticFailover": False,
                      "snapshotRetentionDays": 1},
            "secrets": {"recoveryWindowDays": 0},
        },
        "observability": {"logRetentionDays": 14},
        "backup": {"dailyRetentionDays": 7},
        "cost": {"monthlyBudgetUsd": 400},
    },
    "staging": {
        "protect": True,
        "network": {"azCount": 3, "natGateways": "single", "flowLogs": {"retentionDays": 90}},
        "cluster": {
            "logRetentionDays": 90,
            "nodeGroups": {
                "general": {"instanceTypes": ["m7i.large"], "capacityType": "ON_DEMAND",
                            "minSize": 2, "desiredSize": 3, "maxSize": 6, "diskSizeGib": 50},
            },
        },
        "dataTier": {
            "postgres": {"instanceClass": "db.t4g.large", "multiAz": False, "backupRetentionDays": 7},
            "redis": {"nodeType": "cache.t4g.small", "numCacheClusters": 2, "automaticFailover": True,
                      "snapshotRetentionDays": 3},
            "secrets": {"recoveryWindowDays": 7},
        },
        "observability": {"logRetentionDays": 30},
        "backup": {"dailyRetentionDays": 14},
        "cost": {"monthlyBudgetUsd": 1500},
    },
    "prod": {
        "protect": True,
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
                         "allocatedStorageGib": 100, "maxAllocatedStorageGib": 1000},
            "redis": {"nodeType": "cache.r7g.large", "numCacheClusters": 3, "automaticFailover": True,
                      "snapshotRetentionDays": 14},
            "secrets": {"recoveryWindowDays": 30},
        },
        "observability": {"logRetentionDays": 365},
        "backup": {"dailyRetentionDays": 35},
        "cost": {"monthlyBudgetUsd": 6000},
    },
}


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` onto ``base``; lists and REPLACED_WHOLE maps replace, other maps merge."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key not in REPLACED_WHOLE:
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def with_preset(tier: str, stack_values: Mapping[str, Any]) -> dict[str, Any]:
    return merge(TIER_PRESETS.get(tier, {}), stack_values)
