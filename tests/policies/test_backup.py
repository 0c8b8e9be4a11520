"""Backup policies: encrypted and locked vaults, coverage of stateful resources, retention, RPO, DR copies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from planning.review import pack_module
from tests.policies.support import TAGS, UNKNOWN, found, res, stack_config

pack_module()  # puts policies/ on the import path, as the CLI does when it loads the pack
from agent_policies.backup import interval_minutes  # noqa: E402

VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
DATABASE = "aws:rds/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
KEY = "aws:kms/key:Key"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
PLAN_TAGS = {**TAGS, "backup-plan": "default"}
CONDITIONS = [{"stringEquals": [{"key": "aws:ResourceTag/backup-plan", "value": "default"},
                                {"key": "aws:ResourceTag/stack", "value": TAGS["stack"]}]}]
PATTERNS = ["arn:aws:rds:us-east-1:123456789012:db:*", "arn:aws:s3:::*"]


# --- backup-vault-cmk-encrypted ----------------------------------------------------------------------------------


def test_vault_with_a_customer_key_passes():
    key = res(KEY, "vault-key", {"enableKeyRotation": True, "tags": TAGS})
    vault = res(VAULT, "vault", {"kmsKeyArn": KEY_ARN, "tags": TAGS}, prop_deps={"kmsKeyArn": [key]})
    assert found("backup-vault-cmk-encrypted", key, vault) == []


@pytest.mark.parametrize("key", [None, "alias/aws/backup", "arn:aws:kms:us-east-1:123456789012:alias/aws/backup"])
def test_vault_on_the_aws_managed_key_is_reported(key):
    props = {"tags": TAGS} if key is None else {"kmsKeyArn": key, "tags": TAGS}
    (violation,) = found("backup-vault-cmk-encrypted", res(VAULT, "vault", props))
    assert violation.enforcement == "mandatory" and "aws/backup" in violation.message


def test_vault_key_unknown_during_preview_reports_nothing():
    assert found("backup-vault-cmk-encrypted", res(VAULT, "vault", {"kmsKeyArn": UNKNOWN, "tags": TAGS})) == []


# --- backup-vault-locked -----------------------------------------------------------------------------------------


def vault_with_lock(**lock: Any) -> list:
    vault = res(VAULT, "vault", {"kmsKeyArn": KEY_ARN, "tags": TAGS})
    props = {"backupVaultName": "vault-1234", "minRetentionDays": 35, "maxRetentionDays": 400,
             "changeableForDays": 3, **lock}
    props = {k: v for k, v in props.items() if v is not None}
    return [vault, res(LOCK, "vault-lock", props, prop_deps={"backupVaultName": [vault]})]


def test_compliance_locked_vault_passes_in_prod():
    assert found("backup-vault-locked", *vault_with_lock(), config=stack_config("prod")) == []


def test_unlocked_vault_is_reported_in_protected_environments():
    vault = res(VAULT, "vault", {"kmsKeyArn": KEY_ARN, "tags": TAGS})
    for stack in ("staging", "prod"):
        (violation,) = found("backup-vault-locked", vault, config=stack_config(stack))
        assert violation.urn == vault.urn and violation.enforcement == "mandatory"
    assert found("backup-vault-locked", vault, config=stack_config("dev")) == []


def test_lock_is_matched_by_vault_name_too():
    vault = res(VAULT, "vault", {"name": "agent-vault", "kmsKeyArn": KEY_ARN, "tags": TAGS})
    lock = res(LOCK, "lock", {"backupVaultName": "agent-vault", "minRetentionDays": 35, "changeableForDays": 3})
    other = res(LOCK, "other-lock", {"backupVaultName": "someone-elses", "minRetentionDays": 35})
    assert found("backup-vault-locked", vault, lock, config=stack_config("prod")) == []
    assert len(found("backup-vault-locked", vault, other, config=stack_config("prod"))) == 1


def test_governance_lock_is_reported_where_compliance_is_required():
    resources = vault_with_lock(changeableForDays=None)
    assert found("backup-vault-locked", *resources, config=stack_config("staging")) == []
    (violation,) = found("backup-vault-locked", *resources, config=stack_config("prod"))
    assert "governance mode" in violation.message


def test_lock_below_the_minimum_retention_is_reported():
    (violation,) = found("backup-vault-locked", *vault_with_lock(minRetentionDays=7), config=stack_config("prod"))
    assert "min_retention_days >= 35" in violation.message


def test_lock_without_a_minimum_retention_is_reported():
    (violation,) = found("backup-vault-locked", *vault_with_lock(minRetentionDays=None), config=stack_config("prod"))
    assert "sets no min_retention_days" in violation.message


def test_lock_values_unknown_during_preview_report_nothing():
    resources = vault_with_lock(changeableForDays=UNKNOWN, minRetentionDays=UNKNOWN)
    assert found("backup-vault-locked", *resources, config=stack_config("prod")) == []


# --- backup-coverage ---------------------------------------------------------------------------------------------


def selection(**changes: Any):
    props: dict[str, Any] = {"planId": "plan-id", "iamRoleArn": "arn:aws:iam::123456789012:role/backup",
                             "resources": PATTERNS, "conditions": CONDITIONS}
    props.update(changes)
    return res(SELECTION, "selection", {k: v for k, v in props.items() if v is not None})


def database(tags: dict | None = None, name: str = "postgres"):
    return res(DATABASE, name, {"engine": "postgres", "tags": PLAN_TAGS if tags is None else tags})


def bucket(name: str, tags: dict):
    return res(BUCKET, name, {"tags": tags})


def coverage(*resources, config: dict | None = None) -> list[str]:
    return [v.resource_name for v in found("backup-coverage", *resources, config=config)]


def test_tagged_database_and_bucket_taken_by_a_selection_pass():
    assert coverage(selection(), database(), bucket("data", PLAN_TAGS)) == []


def test_untagged_database_or_bucket_is_reported():
    assert coverage(selection(), database(TAGS), bucket("data", TAGS)) == ["postgres", "data"]


def test_stack_without_any_selection_reports_every_stateful_resource():
    assert coverage(database()) == ["postgres"]


def test_selection_that_does_not_take_the_type_does_not_cover_it():
    only_s3 = selection(resources=["arn:aws:s3:::*"])
    assert coverage(only_s3, database(), bucket("data", PLAN_TAGS)) == ["postgres"]


def test_tag_conditions_must_all_hold():
    other_stack = {**PLAN_TAGS, "stack": "staging"}
    assert coverage(selection(), database(other_stack)) == ["postgres"]
    not_equal = [{"stringNotEquals": [{"key": "aws:ResourceTag/environment", "value": "dev"}]}]
    assert coverage(selection(conditions=not_equal), database({**TAGS, "environment": "dev"})) == ["postgres"]
    like = [{"stringLikes": [{"key": "aws:ResourceTag/backup-plan", "value": "def*"}]}]
    assert coverage(selection(conditions=like), database()) == []


def test_list_of_tags_selects_any_resource_with_the_tag():
    by_tag = selection(resources=None, conditions=None,
                       selectionTags=[{"type": "STRINGEQUALS", "key": "backup-plan", "value": "default"}])
    assert coverage(by_tag, database(), database(TAGS, name="scratch")) == ["scratch"]


def test_selection_by_resource_reference_and_exclusion():
    db = database(TAGS)
    by_arn = res(SELECTION, "by-arn", {"planId": "p", "iamRoleArn": "r", "resources": [UNKNOWN]},
                 prop_deps={"resources": [db]})
    assert coverage(by_arn, db) == []
    excluded = res(SELECTION, "excluded", {"planId": "p", "iamRoleArn": "r", "resources": PATTERNS,
                                           "conditions": CONDITIONS, "notResources": [UNKNOWN]},
                   prop_deps={"notResources": [database(name="postgres")]})
    assert coverage(excluded, database()) == ["postgres"]


def test_buckets_without_data_are_exempt_by_role_tag_or_as_log_targets():
    logs = bucket("logs", {**TAGS, "agent-platform/role": "logs"})
    access_logs = bucket("access-logs", TAGS)
    data = bucket("data", PLAN_TAGS)
    logging = res("aws:s3/bucketLogging:BucketLogging", "data-logging", {"bucket": "x", "targetBucket": "y"},
                  prop_deps={"bucket": [data], "targetBucket": [access_logs]})
    assert coverage(selection(), logs, access_logs, data, logging) == []
    strict = {"backup-coverage": {"logTargetsHoldNoData": False}}
    assert coverage(selection(), logs, access_logs, data, logging, config=strict) == ["access-logs"]
    alb_logs = bucket("alb-logs", TAGS)
    balancer = res("aws:lb/loadBalancer:LoadBalancer", "alb", {"accessLogs": {"bucket": "z"}, "tags": TAGS},
                   prop_deps={"accessLogs": [alb_logs]})
    assert coverage(selection(), alb_logs, balancer) == []


def test_redis_is_covered_by_its_own_snapshots():
    kept = res(REDIS, "redis", {"snapshotRetentionLimit": 14, "tags": TAGS})
    none = res(REDIS, "cache", {"tags": TAGS})
    assert coverage(kept, none, config=stack_config("prod")) == ["cache"]
    short = res(REDIS, "redis", {"snapshotRetentionLimit": 3, "tags": TAGS})
    assert coverage(short, config=stack_config("prod")) == ["redis"]
    assert coverage(short, config=stack_config("staging")) == []


def test_unknown_tags_or_selections_report_nothing():
    assert coverage(selection(), res(DATABASE, "postgres", {"engine": "postgres", "tags": UNKNOWN})) == []
    unknown_tag = {**TAGS, "backup-plan": UNKNOWN}
    assert coverage(selection(), database(unknown_tag)) == []
    assert coverage(selection(conditions=UNKNOWN), database(TAGS)) == []
    assert coverage(res(REDIS, "redis", {"snapshotRetentionLimit": UNKNOWN, "tags": TAGS})) == []


def test_covered_types_come_from_config():
    only_db = {"backup-coverage": {"selectedTypes": ["aws:rds/instance:Instance"]}}
    assert coverage(selection(), bucket("data", TAGS), config=only_db) == []


# --- backup-retention-minimum and backup-rpo ---------------------------------------------------------------------


def rule(name: str, schedule: str, keep: Any, **extra: Any) -> dict[str, Any]:
    return {"ruleName": name, "targetVaultName": "vault", "schedule": schedule, "lifecycle": {"deleteAfter": keep},
            **extra}


PROD_RULES = [
    rule("continuous", "cron(0 6 * * ? *)", 35, enableContinuousBackup=True),
    rule("daily", "cron(0 6 * * ? *)", 35,
         copyActions=[{"destinationVaultArn": "arn", "lifecycle": {"deleteAfter": 35}}]),
    rule("monthly", "cron(0 6 1 * ? *)", 365),
]


def plan_with(rules: list[dict[str, Any]], name: str = "plan", **kwargs: Any):
    return res(PLAN, name, {"rules": copy.deepcopy(rules), "tags": TAGS}, **kwargs)


def test_prod_rules_pass_retention_and_rpo():
    for policy in ("backup-retention-minimum", "backup-rpo"):
        assert found(policy, plan_with(PROD_RULES), config=stack_config("prod")) == []


def test_short_retention_is_reported_for_rules_and_copies():
    short = [rule("daily", "cron(0 6 * * ? *)", 7,
                  copyActions=[{"destinationVaultArn": "arn", "lifecycle": {"deleteAfter": 14}}])]
    messages = [v.message for v in found("backup-retention-minimum", plan_with(short), config=stack_config("prod"))]
    assert sorted(messages) == ["Rule daily keeps its copies 14 day(s); this stack requires at least 35.",
                                "Rule daily keeps recovery points 7 day(s); this stack requires at least 35."]


def test_sub_daily_rules_may_keep_less():
    hourly = [rule("hourly", "cron(0 * * * ? *)", 2), rule("daily", "cron(0 6 * * ? *)", 35)]
    assert found("backup-retention-minimum", plan_with(hourly), config=stack_config("prod")) == []


def test_retention_unknown_during_preview_reports_nothing():
    assert found("backup-retention-minimum", plan_with([rule("daily", "cron(0 6 * * ? *)", UNKNOWN)]),
                 config=stack_config("prod")) == []


def test_daily_snapshots_miss_the_prod_rpo():
    daily = [rule("daily", "cron(0 6 * * ? *)", 35)]
    assert found("backup-rpo", plan_with(daily), config=stack_config("dev")) == []
    (violation,) = found("backup-rpo", plan_with(daily), config=stack_config("prod"))
    assert "1440 minutes" in violation.message and "RPO is 60" in violation.message


def test_an_hourly_rule_meets_the_prod_rpo():
    hourly = [rule("hourly", "cron(0 * * * ? *)", 2)]
    assert found("backup-rpo", plan_with(hourly), config=stack_config("prod")) == []


def test_unknown_or_unreadable_schedules_report_nothing_unless_another_rule_decides():
    for schedule in (UNKNOWN, "rate(1 hour)"):
        assert found("backup-rpo", plan_with([rule("odd", schedule, 35)]), config=stack_config("prod")) == []
    mixed = [rule("odd", UNKNOWN, 35), rule("hourly", "cron(0 * * * ? *)", 2)]
    assert found("backup-rpo", plan_with(mixed), config=stack_config("prod")) == []


@pytest.mark.parametrize(("schedule", "minutes"), [
    ("cron(0 * * * ? *)", 60), ("cron(0 0/4 * * ? *)", 240), ("cron(0 */6 * * ? *)", 360),
    ("cron(0 6,18 * * ? *)", 720), ("cron(0 2,4 * * ? *)", 22 * 60), ("cron(30 6 * * ? *)", 1440),
    ("cron(0 6 ? * SUN *)", 10080), ("cron(0 6 1 * ? *)", 44640), ("rate(1 day)", None),
])
def test_schedule_intervals(schedule, minutes):
    assert interval_minutes(schedule) == minutes


# --- backup-cross-region-copy ------------------------------------------------------------------------------------


def dr_stack(dr_region: str = "us-west-2", copy: bool = True) -> list:
    provider = res("pulumi:providers:aws", "aws-dr", {"region": dr_region})
    vault = res(VAULT, "vault", {"kmsKeyArn": KEY_ARN, "tags": TAGS})
    dr_vault = res(VAULT, "dr-vault", {"kmsKeyArn": KEY_ARN, "tags": TAGS}, provider=provider)
    copies = [{"destinationVaultArn": UNKNOWN, "lifecycle": {"deleteAfter": 35}}] if copy else []
    rules = [rule("daily", "cron(0 6 * * ? *)", 35, copyActions=copies)]
    plan = plan_with(rules, prop_deps={"rules": [vault, dr_vault] if copy else [vault]})
    return [provider, vault, dr_vault, plan]


def test_copy_to_a_vault_in_the_dr_region_passes():
    assert found("backup-cross-region-copy", *dr_stack(), config=stack_config("prod")) == []


def test_plan_without_copies_is_reported_in_prod_only():
    (violation,) = found("backup-cross-region-copy", *dr_stack(copy=False), config=stack_config("prod"))
    assert violation.enforcement == "mandatory" and "another region" in violation.message
    for stack in ("dev", "staging"):
        assert found("backup-cross-region-copy", *dr_stack(copy=False), config=stack_config(stack)) == []


def test_copy_within_the_same_region_is_reported():
    vault = res(VAULT, "vault", {"kmsKeyArn": KEY_ARN, "tags": TAGS})
    other = res(VAULT, "second-vault", {"kmsKeyArn": KEY_ARN, "tags": TAGS})
    copies = [{"destinationVaultArn": "arn:aws:backup:us-east-1:123456789012:backup-vault:second"}]
    plan = res(PLAN, "plan", {"region": "us-east-1", "tags": TAGS,
                              "rules": [rule("daily", "cron(0 6 * * ? *)", 35, copyActions=copies)]},
               prop_deps={"rules": [vault, other]})
    assert len(found("backup-cross-region-copy", vault, other, plan, config=stack_config("prod"))) == 1


def test_literal_destination_in_another_region_passes():
    copies = [{"destinationVaultArn": "arn:aws:backup:eu-west-1:444455556666:backup-vault:central"}]
    plan = res(PLAN, "plan", {"region": "us-east-1", "tags": TAGS,
                              "rules": [rule("daily", "cron(0 6 * * ? *)", 35, copyActions=copies)]})
    assert found("backup-cross-region-copy", plan, config=stack_config("prod")) == []


def test_copy_destinations_unknown_during_preview_report_nothing():
    assert found("backup-cross-region-copy", plan_with(UNKNOWN), config=stack_config("prod")) == []
    copies = [{"destinationVaultArn": UNKNOWN}]
    plan = plan_with([rule("daily", "cron(0 6 * * ? *)", 35, copyActions=copies)])
    assert found("backup-cross-region-copy", plan, config=stack_config("prod")) == []
