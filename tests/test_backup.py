"""Backups per tier: an encrypted, locked vault; plans from config; DR copies in prod; scheduled restore tests."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from planning.model import Plan
from tests.harness import STACKS, plan, review, tags_of

VAULT = "aws:backup/vault:Vault"
PLAN = "aws:backup/plan:Plan"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
POLICY = "aws:backup/vaultPolicy:VaultPolicy"
SELECTION = "aws:backup/selection:Selection"
NOTIFICATIONS = "aws:backup/vaultNotifications:VaultNotifications"
RESTORE_PLAN = "aws:backup/restoreTestingPlan:RestoreTestingPlan"
RESTORE_SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
PROVIDER = "pulumi:providers:aws"
BREAK_GLASS = "arn:aws:iam::111122223333:role/BackupBreakGlass"
DATABASE = "aws:rds/instance:Instance"
BUCKET = "aws:s3/bucket:Bucket"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"


def rules(stack: str, overrides: dict | None = None) -> dict[str, dict]:
    return {r["ruleName"]: r for r in plan(stack, overrides).one(PLAN).props["rules"]}


def test_prod_plans_vault_plan_lock_selection_dr_vault_and_restore_tests():
    prod = plan("prod")
    counts = prod.type_counts()
    assert counts[VAULT] == 2 and counts[LOCK] == 2 and counts[POLICY] == 2
    assert counts[PLAN] == 1 and counts[SELECTION] == 1 and counts[NOTIFICATIONS] == 1
    # One restore testing plan per region: the primary's and the DR vault's, each restoring the database and the
    # bucket (the DR region's database restores land in the standby network's isolated subnets).
    assert counts[RESTORE_PLAN] == 2 and counts[RESTORE_SELECTION] == 4


@pytest.mark.parametrize("stack", STACKS)
def test_backup_policies_find_nothing_in_any_stack(stack):
    backup = [v for v in review(plan(stack)).violations if v.policy.startswith("backup-")]
    assert backup == [], [f"{v.policy}: {v.message}" for v in backup]


def test_prod_review_has_zero_mandatory_violations():
    mandatory = review(plan("prod")).mandatory
    assert mandatory == [], [f"{v.policy} on {v.resource_name}: {v.message}" for v in mandatory]


def test_vaults_are_encrypted_with_their_own_keys_and_protected():
    prod = plan("prod")
    for vault_name in ("backup-vault", "backup-dr-vault"):
        vault = prod.one(VAULT, vault_name)
        key = prod.one(KEY, f"{vault_name}-key")
        assert key.urn in vault.property_dependencies["kmsKeyArn"]
        assert vault.props["forceDestroy"] is False
        assert vault.protect and vault.retain_on_delete and key.protect
        assert tags_of(vault)["component"] == "backup"
    dev_vault = plan("dev").one(VAULT)
    # dev is disposable: `pulumi destroy` deletes the recovery points with the vault.
    assert not dev_vault.protect and dev_vault.props["forceDestroy"] is True


def test_only_the_backup_role_may_use_the_vault_key():
    prod = plan("prod")
    role = prod.one(ROLE, "backup-role")
    key = prod.one(KEY, "backup-vault-key")
    policy = json.loads(key.props["policy"])
    users = [s for s in policy["Statement"] if s.get("Sid") == "AllowRoleUse"]
    assert role.urn in key.property_dependencies["policy"]
    assert len(users) == 1 and len(users[0]["Principal"]["AWS"]) == 1
    assert users[0]["Principal"]["AWS"][0].startswith("arn:aws:iam::123456789012:role/backup-role-")
    assert not [s for s in policy["Statement"] if s.get("Principal") == "*"]


def test_the_dr_vault_and_its_key_live_in_the_dr_region_through_the_dr_provider():
    prod = plan("prod")
    dr = prod.one(PROVIDER, "aws-dr")
    assert dr.props["region"] == "us-west-2"
    for name in ("backup-dr-vault", "backup-dr-vault-key", "backup-dr-vault-policy", "backup-dr-vault-lock"):
        found = [r for r in prod if r.name == name]
        assert found and found[0].provider_urn == dr.urn, name
    for name in ("backup-vault", "backup-vault-key", "backup-plan", "backup-selection"):
        assert next(r for r in prod if r.name == name).provider_urn != dr.urn, name
    assert "backupDrVaultArn" in prod.outputs
    assert not plan("dev").of_type(PROVIDER) or all(p.name != "aws-dr" for p in plan("dev").of_type(PROVIDER))
    assert "backupDrVaultArn" not in plan("dev").outputs


DEPLOY_ROLES = ["arn:aws:iam::111122223333:role/AgentPlatformDeploy", "arn:aws:iam::111122223333:role/PlatformAdmin"]


def _vault_policy(stack: str, overrides: dict | None = None, name: str = "backup-vault-policy") -> dict[str, dict]:
    doc = json.loads(plan(stack, overrides).one(POLICY, name).props["policy"])
    return {s["Sid"]: s for s in doc["Statement"]}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_vault_policy_lets_only_break_glass_delete_or_shorten_recovery_points(stack):
    deny = _vault_policy(stack)
    points = deny["DenyEarlyRecoveryPointDeletion"]
    assert points["Effect"] == "Deny" and points["Principal"] == {"AWS": "*"}
    assert {"backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"} <= set(points["Action"])
    assert points["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [BREAK_GLASS]}}
    guard = deny["DenyVaultGuardRemoval"]
    assert "backup:PutBackupVaultAccessPolicy" in guard["Action"]
    assert BREAK_GLASS in guard["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_deploy_role_may_change_and_delete_the_vault(stack):
    # The CI deploy role runs `pulumi up`: denied PutBackupVaultAccessPolicy, it could never update the policy.
    for name in [p.name for p in plan(stack).of_type(POLICY)]:
        exempt = _vault_policy(stack, name=name)["DenyVaultGuardRemoval"]["Condition"]["ArnNotEquals"]
        assert set(DEPLOY_ROLES) <= set(exempt["aws:PrincipalArn"]), name
        assert {"backup:DeleteBackupVault", "backup:PutBackupVaultAccessPolicy"} <= set(
            _vault_policy(stack, name=name)["DenyVaultGuardRemoval"]["Action"])


def test_a_configured_deploy_role_joins_the_vault_admins():
    new_role = "arn:aws:iam::111122223333:role/ReleaseBot"
    exempt = _vault_policy("prod", {"deployRoleArns": [new_role]})["DenyVaultGuardRemoval"]["Condition"]
    assert new_role in exempt["ArnNotEquals"]["aws:PrincipalArn"]


def test_dev_deploy_roles_may_delete_recovery_points_so_destroy_succeeds():
    points = _vault_policy("dev")["DenyEarlyRecoveryPointDeletion"]
    assert set(points["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == {BREAK_GLASS, *DEPLOY_ROLES}
    assert not plan("dev").of_type(LOCK)


def test_without_any_exempt_role_nobody_deletes_recovery_points_and_the_policy_stays_manageable():
    bare = plan("prod", {"backup.breakGlassRoleArn": None, "backup.vaultAdminRoleArns": [], "deployRoleArns": [],
                         "cluster.adminRoleArns": ["arn:aws:iam::111122223333:role/PlatformAdmin"]})
    doc = json.loads(bare.one(POLICY, "backup-vault-policy").props["policy"])
    (statement,) = doc["Statement"]
    assert statement["Sid"] == "DenyEarlyRecoveryPointDeletion" and "Condition" not in statement
    assert "backup:PutBackupVaultAccessPolicy" not in statement["Action"], "no deployment could change it"


def test_vault_lock_is_compliance_in_prod_governance_in_staging_and_absent_in_dev():
    prod_lock = plan("prod").one(LOCK, "backup-vault-lock").props
    assert prod_lock["changeableForDays"] >= 3
    assert (prod_lock["minRetentionDays"], prod_lock["maxRetentionDays"]) == (35, 400)
    staging_lock = plan("staging").one(LOCK).props
    assert "changeableForDays" not in staging_lock
    assert (staging_lock["minRetentionDays"], staging_lock["maxRetentionDays"]) == (7, 120)
    assert plan("dev").of_type(LOCK) == []


def test_prod_has_point_in_time_recovery_and_long_retention_copied_to_the_dr_vault():
    prod = rules("prod")
    assert list(prod) == ["continuous", "daily", "weekly", "monthly"]
    assert prod["continuous"]["enableContinuousBackup"] is True
    assert prod["continuous"]["lifecycle"] == {"deleteAfter": 35}
    assert "copyActions" not in prod["continuous"], "copies of continuous backups lose PITR; snapshots are copied"
    dr_arn = plan("prod").outputs["backupDrVaultArn"]
    for name, days in (("daily", 35), ("weekly", 90), ("monthly", 365)):
        assert prod[name]["lifecycle"] == {"deleteAfter": days}
        assert prod[name]["copyActions"] == [{"destinationVaultArn": dr_arn, "lifecycle": {"deleteAfter": days}}]


def test_rules_carry_timezone_windows_and_recovery_point_tags():
    for rule in rules("prod").values():
        assert rule["scheduleExpressionTimezone"] == "Etc/UTC"
        assert rule["startWindow"] == 60 and rule["completionWindow"] == 480
        assert rule["recoveryPointTags"]["stack"] == "prod"
    assert rules("prod")["weekly"]["schedule"] == "cron(0 6 ? * SUN *)"
    assert rules("prod")["monthly"]["schedule"] == "cron(0 6 1 * ? *)"


def test_dev_runs_one_cheap_daily_rule_with_short_retention_and_nothing_else():
    dev = plan("dev")
    assert rules("dev") == {"daily": rules("dev")["daily"]}
    daily = rules("dev")["daily"]
    assert daily["schedule"] == "cron(0 6 * * ? *)" and daily["lifecycle"] == {"deleteAfter": 7}
    assert "copyActions" not in daily and "enableContinuousBackup" not in daily
    assert dev.of_type(LOCK) == [] and dev.of_type(RESTORE_PLAN) == []
    assert len(dev.of_type(VAULT)) == 1


MONTHLY = {"enabled": True, "retentionDays": 365, "coldStorageAfterDays": 30}
# dev's rules configured at once (each test asserts its own): one plan.
CONFIGURED_RULES = {"backup.hourly": {"enabled": True, "everyHours": 4, "retentionDays": 2},
                    "backup.daily.at": "01:30", "backup.timezone": "Europe/Berlin", "backup.monthly": MONTHLY}


def test_rules_come_from_config_alone():
    hourly = rules("dev", CONFIGURED_RULES)
    assert hourly["hourly"]["schedule"] == "cron(0 0/4 * * ? *)"
    assert hourly["hourly"]["lifecycle"] == {"deleteAfter": 2}
    assert hourly["daily"]["schedule"] == "cron(30 1 * * ? *)"
    assert hourly["daily"]["scheduleExpressionTimezone"] == "Europe/Berlin"


def test_cold_storage_is_set_only_for_resource_types_that_support_it():
    warm = rules("dev", CONFIGURED_RULES)["monthly"]
    assert warm["lifecycle"] == {"deleteAfter": 365}, "RDS and S3 recovery points cannot move to cold storage"
    cold = rules("dev", {"backup.monthly": MONTHLY, "backup.resourceTypes": ["RDS", "S3", "EFS"]})["monthly"]
    assert cold["lifecycle"] == {"deleteAfter": 365, "coldStorageAfter": 30}


def test_selection_takes_only_tagged_rds_and_s3_of_this_stack():
    selection = plan("prod").one(SELECTION).props
    assert selection["resources"] == ["arn:aws:rds:us-east-1:123456789012:db:*", "arn:aws:s3:::*"]
    assert "*" not in selection["resources"] and "selectionTags" not in selection, "ListOfTags would OR, not AND"
    assert selection["conditions"] == [{"stringEquals": [
        {"key": "aws:ResourceTag/backup-plan", "value": "default"},
        {"key": "aws:ResourceTag/project", "value": "agent-platform"},
        {"key": "aws:ResourceTag/stack", "value": "prod"},
    ]}]


def test_backup_role_is_assumable_only_by_aws_backup_for_this_account():
    prod = plan("prod")
    role = prod.one(ROLE, "backup-role")
    trust = json.loads(role.props["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]
    attached = sorted(a.props["policyArn"].rsplit("/", 1)[-1] for a in prod.of_type(ATTACHMENT)
                      if a.parent == role.urn)
    assert attached == ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores",
                        "AWSBackupServiceRolePolicyForS3Backup", "AWSBackupServiceRolePolicyForS3Restore"]
    without_s3 = plan("dev", {"backup.resourceTypes": ["RDS"], "backup.restoreTesting.resourceTypes": ["RDS"]})
    role = without_s3.one(ROLE, "backup-role")
    assert len([a for a in without_s3.of_type(ATTACHMENT) if a.parent == role.urn]) == 2


def test_failed_copy_and_s3_object_events_and_failed_jobs_reach_the_alert_topic():
    prod = plan("prod")
    topic = prod.one("aws:sns/topic:Topic", "alerts-topic")
    notifications = prod.one(NOTIFICATIONS).props
    assert "COPY_JOB_FAILED" in notifications["backupVaultEvents"]
    assert not {"BACKUP_JOB_FAILED", "RESTORE_JOB_FAILED", "BACKUP_JOB_EXPIRED"} & set(
        notifications["backupVaultEvents"]), "deprecated events that AWS Backup never sends"
    assert topic.urn in prod.one(NOTIFICATIONS).property_dependencies["snsTopicArn"]
    rule = prod.one("aws:cloudwatch/eventRule:EventRule", "backup-job-failures")
    pattern = json.loads(rule.props["eventPattern"])
    assert pattern["source"] == ["aws.backup"] and "Backup Job State Change" in pattern["detail-type"]
    assert {"state": ["FAILED", "ABORTED", "EXPIRED"]} in pattern["detail"]["$or"]
    target = prod.one("aws:cloudwatch/eventTarget:EventTarget", "backup-job-failures")
    assert topic.urn in target.property_dependencies["arn"]


def test_restore_tests_run_the_database_and_bucket_isolated_and_private():
    prod = plan("prod")
    tests = prod.one(RESTORE_PLAN, "backup-restore-tests").props
    assert tests["name"] == "agent_platform_prod_restore_tests"
    selection = tests["recoveryPointSelection"]
    assert selection["algorithm"] == "LATEST_WITHIN_WINDOW"
    assert selection["includeVaults"] == [f"arn:aws:backup:us-east-1:123456789012:backup-vault:"
                                          f"{prod.outputs['backupVaultName']}"]
    assert selection["recoveryPointTypes"] == ["CONTINUOUS", "SNAPSHOT"]
    database = prod.one(RESTORE_SELECTION, "backup-restore-tests-database").props
    assert database["protectedResourceType"] == "RDS" and database["validationWindowHours"] == 4
    overrides = database["restoreMetadataOverrides"]
    assert overrides["publiclyAccessible"] == "false"
    subnets = prod.one("aws:rds/subnetGroup:SubnetGroup", "backup-restore-tests-subnets")
    restore_db = prod.one(RESTORE_SELECTION, "backup-restore-tests-database")
    assert subnets.urn in restore_db.property_dependencies["restoreMetadataOverrides"]
    assert overrides["dbSubnetGroupName"].startswith("backup-restore-tests-subnets-")
    assert subnets.props["subnetIds"] == [f"network-isolated-{i}-id" for i in range(3)]
    sealed = prod.one("aws:ec2/securityGroup:SecurityGroup", "backup-restore-tests-sg")
    assert sealed.props["ingress"] == [] and sealed.props["egress"] == []
    assert json.loads(overrides["vpcSecurityGroupIds"]) == [f"{sealed.name}-id"]
    bucket = prod.one(RESTORE_SELECTION, "backup-restore-tests-data-bucket").props
    assert bucket["protectedResourceType"] == "S3"
    for props in (database, bucket):
        keys = {c["key"]: c["value"] for c in props["protectedResourceConditions"]["stringEquals"]}
        assert keys["aws:ResourceTag/backup-plan"] == "default" and keys["aws:ResourceTag/stack"] == "prod"


def test_staging_tests_restores_monthly_from_snapshots():
    tests = plan("staging").one(RESTORE_PLAN).props
    assert tests["scheduleExpression"] == "cron(0 6 1 * ? *)"
    assert tests["recoveryPointSelection"]["recoveryPointTypes"] == ["SNAPSHOT"]


@pytest.mark.parametrize("stack", STACKS)
def test_backup_outputs_name_the_vault_and_plan_for_the_runbook(stack):
    outputs = plan(stack).outputs
    assert outputs["backupVaultName"].startswith("backup-vault-")
    assert outputs["backupPlanId"] == rules_plan_id(stack)


def rules_plan_id(stack: str) -> str:
    plan_res = plan(stack).one(PLAN)
    selection = plan(stack).one(SELECTION)
    assert plan_res.urn in selection.property_dependencies["planId"]
    return selection.props["planId"]


# --- coverage: the stack policy proves every stateful resource is backed up -------------------------------------


def _edited(source: Plan, type_: str, name: str, edit: Any) -> Plan:
    """A copy of a plan with one resource's inputs changed (the cached plan itself stays untouched)."""
    resources = [dataclasses.replace(r, inputs=edit(dict(r.inputs))) if (r.type, r.name) == (type_, name) else r
                 for r in source]
    return Plan(source.stack, resources, source.outputs)


def _without_backup_tag(inputs: dict) -> dict:
    return {**inputs, "tags": {k: v for k, v in inputs["tags"].items() if k != "backup-plan"}}


def _coverage(result) -> list[str]:
    return [v.resource_name for v in result.violations
            if v.policy == "backup-coverage" and v.enforcement == "mandatory"]


def test_the_data_tier_tags_what_aws_backup_must_protect_and_nothing_else():
    prod = plan("prod")
    assert tags_of(prod.one(DATABASE, "data-postgres"))["backup-plan"] == "default"
    assert tags_of(prod.one(BUCKET, "data-data"))["backup-plan"] == "default"
    assert "backup-plan" not in tags_of(prod.one(BUCKET, "data-logs")), "access logs are not backed up"
    assert _coverage(review(prod)) == []


@pytest.mark.parametrize(("type_", "name"), [(DATABASE, "data-postgres"), (BUCKET, "data-data")])
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_removing_a_stateful_resources_backup_tag_fails_the_stack_policy(stack, type_, name):
    untagged = _edited(plan(stack), type_, name, _without_backup_tag)
    assert _coverage(review(untagged)) == [name]


def test_a_backup_selection_for_another_stack_does_not_cover_this_one():
    def other_stack(inputs: dict) -> dict:
        conditions = inputs["conditions"][0]["stringEquals"]
        return {**inputs, "conditions": [{"stringEquals": [
            {**c, "value": "staging"} if c["key"] == "aws:ResourceTag/stack" else c for c in conditions]}]}

    foreign = _edited(plan("prod"), SELECTION, "backup-selection", other_stack)
    assert sorted(_coverage(review(foreign))) == ["data-data", "data-postgres"]


def test_redis_is_covered_by_its_own_snapshots_not_by_aws_backup():
    prod = plan("prod")
    assert prod.one(REDIS).props["snapshotRetentionLimit"] >= 7
    no_snapshots = _edited(prod, REDIS, "data-redis", lambda i: {**i, "snapshotRetentionLimit": 0})
    assert _coverage(review(no_snapshots)) == ["data-redis"]
