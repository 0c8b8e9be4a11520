"""Backup config is checked before anything exists: bad schedules, locks and tier rules fail with one clear error."""

from __future__ import annotations

import pytest

from config import validate_config
from config.backup import BackupConfig
from tests.harness import config_error

PROD_ONLY_DAILY = {"backup.continuous": {"enabled": False}}

# (stack, overrides, the key the error must name, a phrase of the reason)
BAD_BACKUP_CONFIGS = [
    ("prod", {"backup.drRegion": None}, "backup.drRegion", "prod needs a DR region"),
    ("prod", {"backup.drRegion": "us-east-1"}, "backup.drRegion", "must differ from the stack's region"),
    ("prod", {"backup.lock.changeableForDays": 1}, "backup.lock.changeableForDays", "at least 3 days"),
    ("prod", {"backup.lock": {"mode": "compliance", "changeableForDays": None}}, "backup.lock.changeableForDays",
     "cooling-off of at least 3"),
    ("prod", {"backup.lock": {"mode": "governance", "minRetentionDays": 35, "maxRetentionDays": 400}},
     "backup.lock.mode", "compliance-mode lock"),
    ("staging", {"backup.lock.mode": "none"}, "backup.lock.mode", "staging needs a vault lock"),
    ("staging", {"backup.lock.changeableForDays": 7}, "backup.lock.changeableForDays",
     "only a compliance-mode lock"),
    ("prod", PROD_ONLY_DAILY, "backup.rpoTargetMinutes", "enable backup.continuous or backup.hourly"),
    ("prod", {"backup.rpoTargetMinutes": 240}, "backup.rpoTargetMinutes", "1 hour or better"),
    ("prod", {"backup.daily.retentionDays": 14}, "backup.daily.retentionDays",
     "below backup.lock.minRetentionDays (35)"),
    ("prod", {"backup.monthly.retentionDays": 730}, "backup.monthly.retentionDays",
     "above backup.lock.maxRetentionDays (400)"),
    ("prod", {"backup.weekly.drRetentionDays": 7}, "backup.weekly.drRetentionDays", "below backup.lock"),
    ("prod", {"backup.continuous.retentionDays": 30, "backup.lock.minRetentionDays": 30},
     "backup.continuous.retentionDays", "dataTier.postgres.backupRetentionDays (35)"),
    ("prod", {"backup.restoreTesting.enabled": False}, "backup.restoreTesting.enabled", "tested on a schedule"),
    ("dev", {"backup.monthly": {"enabled": True, "retentionDays": 100, "coldStorageAfterDays": 30}},
     "backup.monthly.retentionDays", "coldStorageAfterDays + 90 (120)"),
    ("dev", {"backup.completionWindowMinutes": 120, "backup.startWindowMinutes": 90},
     "backup.completionWindowMinutes", "60 minutes longer than startWindowMinutes"),
    ("dev", {"backup.startWindowMinutes": 30}, "backup.startWindowMinutes", "must be at least 60"),
    ("dev", {"backup.timezone": "Mars/Olympus"}, "backup.timezone", "not an IANA time zone"),
    ("dev", {"backup.daily.at": "25:00"}, "backup.daily.at", "is not a time of day HH:MM"),
    ("dev", {"backup.daily.enabled": False}, "backup", "no rule is enabled"),
    ("dev", {"backup.resourceTypes": ["EFS"], "backup.continuous.enabled": True},
     "backup.continuous.enabled", "supports continuous backup"),
    ("dev", {"backup.resourceTypes": ["RDS"], "backup.restoreTesting.enabled": True},
     "backup.restoreTesting.resourceTypes", "S3 not backed up"),
    ("dev", {"backup.daily.enabled": False, "backup.weekly.enabled": True, "backup.rpoTargetMinutes": 20160,
             "backup.restoreTesting": {"enabled": True, "selectionWindowDays": 3}},
     "backup.restoreTesting.selectionWindowDays", "may hold no recovery point"),
    ("dev", {"backup.hourly.everyHours": 5}, "backup.hourly.everyHours", "use one of 1, 2, 3, 4, 6, 8 or 12"),
    ("dev", {"backup.lock": {"mode": "compliance", "minRetentionDays": 400, "maxRetentionDays": 35,
                             "changeableForDays": 3}},
     "backup.lock.minRetentionDays", "must not exceed maxRetentionDays"),
    ("dev", {"backup.bogus": 1}, "backup.bogus", "unknown key"),
    ("dev", {"backup.lock": {"mode": "governance", "minRetentionDays": 1, "maxRetentionDays": 35}},
     "backup.lock.mode", "must stay destroyable"),
    ("staging", {"protect": False}, "backup.lock.mode", "must stay destroyable"),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "phrase"), BAD_BACKUP_CONFIGS,
                         ids=[f"{s}:{p}:{i}" for i, (s, _, p, _) in enumerate(BAD_BACKUP_CONFIGS)])
def test_bad_backup_config_names_the_key_and_registers_nothing(stack, overrides, path, phrase):
    err = config_error(stack, overrides)  # asserts nothing was registered
    assert path in err.paths, f"{path} not named in:\n{err}"
    reason = dict(err.issues)[path]
    assert phrase.lower() in reason.lower(), reason


def test_an_hourly_rule_also_meets_the_prod_rpo():
    overrides = {**PROD_ONLY_DAILY, "backup.hourly": {"enabled": True, "everyHours": 1, "retentionDays": 35}}
    from tests.harness import plan

    rules = {r["ruleName"] for r in plan("prod", overrides).one("aws:backup/plan:Plan").props["rules"]}
    assert rules == {"hourly", "daily", "weekly", "monthly"}


def _backup(**values) -> BackupConfig:
    base = {"environment": "dev", "owner": "a", "costCenter": "b", "backup": values}
    return validate_config(base, stack="dev", region="us-east-1").backup


def test_rpo_is_the_most_frequent_enabled_rule():
    assert _backup().rpo_minutes == 24 * 60
    assert _backup(hourly={"enabled": True, "everyHours": 6, "retentionDays": 7}).rpo_minutes == 6 * 60
    assert _backup(continuous={"enabled": True, "retentionDays": 1}).rpo_minutes == 15
    weekly = _backup(daily={"enabled": False}, weekly={"enabled": True}, rpoTargetMinutes=7 * 24 * 60)
    assert weekly.rpo_minutes == 7 * 24 * 60


def test_dr_copies_need_a_dr_region_and_a_rule_that_copies():
    assert not _backup().copies_to_dr()
    cfg = _backup(drRegion="us-west-2")
    assert cfg.copies_to_dr()
    assert ("backup.daily.drRetentionDays", 7) in cfg.retentions()
    err = config_error("prod", {"backup.daily.copyToDrRegion": False, "backup.weekly.copyToDrRegion": False,
                                "backup.monthly.copyToDrRegion": False})
    assert "no rule copies to it" in dict(err.issues)["backup.drRegion"]


def test_every_problem_is_reported_at_once():
    err = config_error("prod", {"backup.drRegion": None, "backup.lock.changeableForDays": 1,
                                "backup.continuous": {"enabled": False}})
    assert {"backup.drRegion", "backup.lock.changeableForDays", "backup.rpoTargetMinutes"} <= set(err.paths)
