"""Bad data-tier config is rejected before anything is registered, naming the key and the reason."""

from __future__ import annotations

import pytest

from config import validate_config
from config.data import CACHE_ENGINE_VERSIONS, POSTGRES_MAJOR_VERSIONS, DataTierConfig
from config.loader import TIERS
from tests.harness import config_error

# (stack, overrides, the key the error must name, a phrase of the reason)
BAD_DATA_CONFIGS = [
    ("dev", {"dataTier.postgres.engineVersion": "14"}, "dataTier.postgres.engineVersion",
     "unknown PostgreSQL version '14'"),
    ("dev", {"dataTier.postgres.engineVersion": "16.3"}, "dataTier.postgres.engineVersion", "major version"),
    ("dev", {"dataTier.redis.engineVersion": "6.2"}, "dataTier.redis.engineVersion", "unknown valkey engine version"),
    ("staging", {"dataTier.redis.engineVersion": "6.2"}, "dataTier.redis.engineVersion",
     "unknown redis engine version"),
    ("dev", {"dataTier.redis": {"engine": "valkey", "engineVersion": "7.1"}}, "dataTier.redis.engineVersion",
     "unknown valkey engine version '7.1'"),
    ("dev", {"dataTier.redis.engine": "memcached"}, "dataTier.redis.engine", "'redis' or 'valkey'"),
    ("dev", {"dataTier.postgres.backupRetentionDays": 0}, "dataTier.postgres.backupRetentionDays",
     "must be at least 1"),
    ("prod", {"dataTier.postgres.backupRetentionDays": 36}, "dataTier.postgres.backupRetentionDays",
     "must be at most 35"),
    ("prod", {"dataTier.postgres.backupRetentionDays": 3}, "dataTier.postgres.backupRetentionDays",
     "at least 7 days"),
    ("staging", {"dataTier.redis.snapshotRetentionDays": 0}, "dataTier.redis.snapshotRetentionDays",
     "at least 1 daily"),
    ("dev", {"dataTier.redis.snapshotRetentionDays": 40}, "dataTier.redis.snapshotRetentionDays",
     "must be at most 35"),
    ("prod", {"dataTier.postgres.multiAz": False}, "dataTier.postgres.multiAz", "Multi-AZ"),
    ("prod", {"dataTier.redis.automaticFailover": False}, "dataTier.redis.automaticFailover", "failover"),
    ("dev", {"dataTier.redis.automaticFailover": True}, "dataTier.redis.numCacheClusters", "at least 2 nodes"),
    ("dev", {"dataTier.secrets.recoveryWindowDays": 3}, "dataTier.secrets.recoveryWindowDays", "7 to 30 days"),
    ("dev", {"dataTier.secrets.llmProviders": ["openai", "mistral"]}, "dataTier.secrets.llmProviders[1]",
     "'openai'"),
    ("dev", {"dataTier.postgres.allocatedStorageGib": 100}, "dataTier.postgres.maxAllocatedStorageGib",
     "greater than allocatedStorageGib (100)"),
    ("dev", {"dataTier.postgres.maintenanceWindow": "sun:03:30-sun:04:30"}, "dataTier.postgres.maintenanceWindow",
     "overlaps the backup window"),
    ("dev", {"dataTier.postgres.backupWindow": "03:00-03:10"}, "dataTier.postgres.backupWindow", "30 minutes"),
    ("dev", {"dataTier.redis.snapshotWindow": "06:00-07:00"}, "dataTier.redis.maintenanceWindow",
     "overlaps the snapshot window"),
    ("dev", {"dataTier.redis.maintenanceWindow": "Sunday 06:30"}, "dataTier.redis.maintenanceWindow",
     "not a UTC window"),
    ("dev", {"dataTier.postgres.performanceInsightsRetentionDays": 30},
     "dataTier.postgres.performanceInsightsRetentionDays", "not a Performance Insights retention"),
    ("dev", {"dataTier.logRetentionDays": 10}, "dataTier.logRetentionDays", "not a CloudWatch Logs retention"),
    ("dev", {"dataTier.postgres.parameters": {"rds.force_ssl": "0"}}, "dataTier.postgres.parameters.rds.force_ssl",
     "TLS-only"),
    ("dev", {"dataTier.postgres.parameters": {"log_statement": "ddl"}}, "dataTier.postgres.parameters.log_statement",
     "role passwords"),
    ("dev", {"dataTier.postgres.appUsername": "platform_admin"}, "dataTier.postgres.appUsername",
     "applications never use the master user"),
    ("dev", {"dataTier.postgres.databaseName": "Agent-DB"}, "dataTier.postgres.databaseName",
     "is not a PostgreSQL identifier"),
    ("dev", {"dataTier.postgres.instanceClass": "t4g.micro"}, "dataTier.postgres.instanceClass",
     "is not an RDS for PostgreSQL instance class"),
    ("dev", {"dataTier.bootstrap.postgresImage": "postgres:16 alpine"}, "dataTier.bootstrap.postgresImage",
     "not an image reference"),
    ("dev", {"dataTier.buckets.infrequentAccessAfterDays": 10}, "dataTier.buckets.infrequentAccessAfterDays",
     "must be at least 30"),
    ("dev", {"dataTier.cache": {}}, "dataTier.cache", "unknown key"),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "phrase"), BAD_DATA_CONFIGS,
                         ids=[f"{s}:{p}:{next(iter(o.values()))}" for s, o, p, _ in BAD_DATA_CONFIGS])
def test_bad_data_config_names_the_key_and_registers_nothing(stack, overrides, path, phrase):
    err = config_error(stack, overrides)  # asserts nothing was registered
    assert path in err.paths, f"{path} not named in:\n{err}"
    assert phrase.lower() in dict(err.issues)[path].lower(), dict(err.issues)[path]


def test_every_data_problem_is_reported_at_once():
    err = config_error("prod", {"dataTier.postgres.engineVersion": "14", "dataTier.postgres.multiAz": False,
                                "dataTier.secrets.recoveryWindowDays": 2})
    assert {"dataTier.postgres.engineVersion", "dataTier.secrets.recoveryWindowDays"} <= set(err.paths)


def test_prod_multi_az_rule_still_applies_when_the_rest_is_valid():
    err = config_error("prod", {"dataTier.postgres.multiAz": False})
    assert err.paths == ["dataTier.postgres.multiAz"]


@pytest.mark.parametrize("version", POSTGRES_MAJOR_VERSIONS)
def test_every_supported_postgres_major_is_accepted(version):
    assert DataTierConfig.model_validate({"postgres": {"engineVersion": version}}).postgres.parameter_group_family \
        == f"postgres{version}"


@pytest.mark.parametrize(("engine", "version"), [(e, v) for e, vs in CACHE_ENGINE_VERSIONS.items() for v in vs])
def test_every_supported_cache_version_is_accepted(engine, version):
    cfg = DataTierConfig.model_validate({"redis": {"engine": engine, "engineVersion": version}})
    assert cfg.redis.parameter_group_family.startswith(engine)


def test_windows_that_wrap_midnight_are_checked_for_overlap():
    wrapped = DataTierConfig.model_validate({"postgres": {"backupWindow": "23:30-00:30",
                                                          "maintenanceWindow": "mon:00:00-mon:01:00"}})
    assert [p.split(":")[0] for p in wrapped.problems()] == ["dataTier.postgres.maintenanceWindow"]
    week_end = DataTierConfig.model_validate({"postgres": {"backupWindow": "23:00-23:45",
                                                           "maintenanceWindow": "sun:23:30-mon:00:30"}})
    assert week_end.problems(), "a window across the end of the week still overlaps"
    apart = DataTierConfig.model_validate({"postgres": {"backupWindow": "23:00-23:30",
                                                        "maintenanceWindow": "mon:00:00-mon:01:00"}})
    assert apart.problems() == []


def test_choosing_valkey_without_a_version_takes_its_default():
    assert DataTierConfig.model_validate({"redis": {"engine": "valkey"}}).redis.engine_version == "8.0"


def test_tier_defaults_for_the_data_tier():
    base = {"owner": "a", "costCenter": "b", "observability": {"alertEmails": ["oncall@example.com"]},
            "deployRoleArns": ["arn:aws:iam::111122223333:role/Deploy"],
            "delivery": {"ciRunner": {"enabled": False}},
            "backup": {"vaultAdminRoleArns": ["arn:aws:iam::111122223333:role/Admin"],
                       "breakGlassRoleArn": "arn:aws:iam::111122223333:role/BreakGlass", "drRegion": "us-west-2"}}
    tiers = {t: validate_config({**base, "environment": t}, stack=t, region="us-east-1").data_tier
             for t in TIERS}
    assert [t.postgres.instance_class for t in tiers.values()] == ["db.t4g.micro", "db.t4g.large", "db.r7g.large"]
    assert [t.postgres.multi_az for t in tiers.values()] == [False, False, True]
    assert [t.postgres.backup_retention_days for t in tiers.values()] == [1, 7, 35]
    assert [t.redis.automatic_failover for t in tiers.values()] == [False, True, True]
    assert [t.secrets.recovery_window_days for t in tiers.values()] == [0, 7, 30]
    assert [t.log_retention_days for t in tiers.values()] == [14, 30, 365]
    assert [t.buckets.noncurrent_version_expiration_days for t in tiers.values()] == [7, 30, 90]
    assert tiers["dev"].postgres_image.startswith("postgres:16-alpine@sha256:")  # pinned on every tier
