"""Data policies: RDS, ElastiCache, S3, Secrets Manager and data-store ingress, each passed, caught and unknown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.policies.support import TAGS, UNKNOWN, found, res, secret

DB = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
SECRET = "aws:secretsmanager/secret:Secret"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SG = "aws:ec2/securityGroup:SecurityGroup"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
DROP = object()


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = {**base, **overrides}
    return {k: v for k, v in out.items() if v is not DROP}


# --- RDS ----------------------------------------------------------------------------------------------------------

RDS_OK = {
    "engine": "postgres", "engineVersion": "16", "instanceClass": "db.r7g.large", "storageEncrypted": True,
    "kmsKeyId": KEY_ARN, "publiclyAccessible": False, "multiAz": True, "backupRetentionPeriod": 14,
    "deletionProtection": True, "skipFinalSnapshot": False, "finalSnapshotIdentifier": "db-final",
    "iamDatabaseAuthenticationEnabled": True, "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "performanceInsightsEnabled": True, "performanceInsightsKmsKeyId": KEY_ARN, "autoMinorVersionUpgrade": True,
    "manageMasterUserPassword": True, "masterUserSecretKmsKeyId": KEY_ARN, "username": "platform_admin",
    "tags": TAGS,
}
RDS_POLICIES = ["rds-storage-encrypted-cmk", "rds-not-publicly-accessible", "rds-multi-az", "rds-backup-retention",
                "rds-deletion-protection", "rds-iam-authentication", "rds-log-exports",
                "rds-performance-insights-encrypted", "rds-auto-minor-version-upgrade", "rds-managed-master-password"]


def rds(**overrides: Any):
    return res(DB, "db", merged(RDS_OK, overrides), protect=True)


@pytest.mark.parametrize("policy", RDS_POLICIES)
def test_a_hardened_database_passes_every_rds_policy(policy):
    assert found(policy, rds()) == []


RDS_VIOLATIONS = [
    ("rds-storage-encrypted-cmk", {"storageEncrypted": DROP}, "unencrypted"),
    ("rds-storage-encrypted-cmk", {"kmsKeyId": DROP}, "aws/rds"),
    ("rds-not-publicly-accessible", {"publiclyAccessible": True}, "public"),
    ("rds-multi-az", {"multiAz": False}, "AZ outage"),
    ("rds-backup-retention", {"backupRetentionPeriod": 3}, "at least 7"),
    ("rds-backup-retention", {"backupRetentionPeriod": DROP}, "1 day"),
    ("rds-deletion-protection", {"deletionProtection": False}, "deletionProtection"),
    ("rds-deletion-protection", {"skipFinalSnapshot": True}, "final snapshot"),
    ("rds-deletion-protection", {"finalSnapshotIdentifier": DROP}, "finalSnapshotIdentifier"),
    ("rds-iam-authentication", {"iamDatabaseAuthenticationEnabled": DROP}, "only passwords"),
    ("rds-log-exports", {"enabledCloudwatchLogsExports": ["upgrade"]}, "postgresql"),
    ("rds-log-exports", {"engine": "mysql", "enabledCloudwatchLogsExports": []}, "no database log"),
    ("rds-performance-insights-encrypted", {"performanceInsightsEnabled": False}, "attributed"),
    ("rds-performance-insights-encrypted", {"performanceInsightsKmsKeyId": DROP}, "AWS-managed key"),
    ("rds-auto-minor-version-upgrade", {"autoMinorVersionUpgrade": False}, "never applied"),
    ("rds-managed-master-password", {"manageMasterUserPassword": DROP}, "manageMasterUserPassword"),
    ("rds-managed-master-password", {"manageMasterUserPassword": DROP, "password": secret("hunter2hunter2")},
     "in the state"),
]


@pytest.mark.parametrize(("policy", "overrides", "phrase"), RDS_VIOLATIONS,
                         ids=[f"{p}-{next(iter(o))}" for p, o, _ in RDS_VIOLATIONS])
def test_each_rds_weakness_is_reported(policy, overrides, phrase):
    violations = found(policy, rds(**overrides))
    assert violations and all(v.enforcement == "mandatory" for v in violations)
    assert any(phrase in v.message for v in violations), [v.message for v in violations]


@pytest.mark.parametrize(("policy", "field"), [
    ("rds-storage-encrypted-cmk", "storageEncrypted"), ("rds-not-publicly-accessible", "publiclyAccessible"),
    ("rds-multi-az", "multiAz"), ("rds-backup-retention", "backupRetentionPeriod"),
    ("rds-deletion-protection", "deletionProtection"), ("rds-iam-authentication", "iamDatabaseAuthenticationEnabled"),
    ("rds-log-exports", "enabledCloudwatchLogsExports"), ("rds-performance-insights-encrypted",
                                                          "performanceInsightsEnabled"),
    ("rds-auto-minor-version-upgrade", "autoMinorVersionUpgrade"),
    ("rds-managed-master-password", "manageMasterUserPassword"),
])
def test_rds_values_unknown_during_preview_report_nothing(policy, field):
    assert found(policy, rds(**{field: UNKNOWN, "kmsKeyId": UNKNOWN})) == []


def test_an_unknown_master_password_still_counts_as_set_by_the_program():
    (violation,) = found("rds-managed-master-password", rds(manageMasterUserPassword=DROP, password=UNKNOWN))
    assert "in the state" in violation.message


def test_rds_thresholds_come_from_the_stack_config():
    config = {"rds-backup-retention": {"minRetentionDays": 1}, "rds-deletion-protection": {"protectedEnvironment":
                                                                                           False}}
    dev_db = rds(backupRetentionPeriod=1, deletionProtection=False, skipFinalSnapshot=True)
    assert found("rds-backup-retention", dev_db, config=config) == []
    assert found("rds-deletion-protection", dev_db, config=config) == []
    assert found("rds-multi-az", rds(multiAz=False), config={"rds-multi-az": "advisory"})[0].enforcement == "advisory"


def test_read_replicas_are_not_asked_for_backups_or_a_master_password():
    replica = rds(replicateSourceDb="arn:aws:rds:us-east-1:123456789012:db:primary", backupRetentionPeriod=0,
                  manageMasterUserPassword=DROP, multiAz=False, skipFinalSnapshot=True)
    for policy in ("rds-backup-retention", "rds-managed-master-password", "rds-multi-az"):
        assert found(policy, replica) == [], policy


# --- ElastiCache --------------------------------------------------------------------------------------------------

REDIS_OK = {
    "engine": "redis", "engineVersion": "7.1", "nodeType": "cache.r7g.large", "numCacheClusters": 3,
    "automaticFailoverEnabled": True, "multiAzEnabled": True, "transitEncryptionEnabled": True,
    "transitEncryptionMode": "required", "atRestEncryptionEnabled": True, "kmsKeyId": KEY_ARN,
    "authToken": secret("m0ckm0ckm0ckm0ckm0ck"), "snapshotRetentionLimit": 7, "tags": TAGS,
}
REDIS_POLICIES = ["elasticache-transit-encryption", "elasticache-at-rest-encryption-cmk", "elasticache-auth-required",
                  "elasticache-automatic-failover", "elasticache-snapshot-retention"]


def cache(**overrides: Any):
    return res(REDIS, "redis", merged(REDIS_OK, overrides), protect=True)


@pytest.mark.parametrize("policy", REDIS_POLICIES)
def test_a_hardened_cache_passes_every_elasticache_policy(policy):
    assert found(policy, cache()) == []


REDIS_VIOLATIONS = [
    ("elasticache-transit-encryption", {"transitEncryptionEnabled": False}, "plain text"),
    ("elasticache-transit-encryption", {"transitEncryptionMode": "preferred"}, "\"required\""),
    ("elasticache-at-rest-encryption-cmk", {"atRestEncryptionEnabled": DROP}, "unencrypted"),
    ("elasticache-at-rest-encryption-cmk", {"kmsKeyId": DROP}, "service-owned key"),
    ("elasticache-auth-required", {"authToken": DROP}, "any client"),
    ("elasticache-automatic-failover", {"automaticFailoverEnabled": False}, "losing the primary"),
    ("elasticache-automatic-failover", {"multiAzEnabled": DROP}, "share the primary's availability zone"),
    ("elasticache-automatic-failover", {"numCacheClusters": 1}, "needs a replica"),
    ("elasticache-snapshot-retention", {"snapshotRetentionLimit": 0}, "at least 1"),
]


@pytest.mark.parametrize(("policy", "overrides", "phrase"), REDIS_VIOLATIONS,
                         ids=[f"{p}-{next(iter(o))}" for p, o, _ in REDIS_VIOLATIONS])
def test_each_cache_weakness_is_reported(policy, overrides, phrase):
    violations = found(policy, cache(**overrides))
    assert any(phrase in v.message for v in violations), [v.message for v in violations]


def test_rbac_user_groups_count_as_authentication():
    assert found("elasticache-auth-required", cache(authToken=DROP, userGroupIds=["app-users"])) == []


@pytest.mark.parametrize(("policy", "field"), [
    ("elasticache-transit-encryption", "transitEncryptionEnabled"),
    ("elasticache-at-rest-encryption-cmk", "atRestEncryptionEnabled"),
    ("elasticache-auth-required", "userGroupIds"),
    ("elasticache-automatic-failover", "automaticFailoverEnabled"),
    ("elasticache-snapshot-retention", "snapshotRetentionLimit"),
])
def test_cache_values_unknown_during_preview_report_nothing(policy, field):
    overrides = {field: UNKNOWN}
    if field == "userGroupIds":
        overrides["authToken"] = DROP
    assert found(policy, cache(**overrides)) == []


def test_snapshot_minimum_comes_from_the_stack_config():
    config = {"elasticache-snapshot-retention": {"minRetentionDays": 14}}
    (violation,) = found("elasticache-snapshot-retention", cache(snapshotRetentionLimit=7), config=config)
    assert "at least 14" in violation.message


# --- S3 -------------------------------------------------------------------------------------------------------------

TLS_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
    "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}]}
LIFECYCLE_RULES = [
    {"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {"prefix": ""},
     "noncurrentVersionExpiration": {"noncurrentDays": 30}},
    {"id": "abort-incomplete-uploads", "status": "Enabled", "filter": {"prefix": ""},
     "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}},
]
KMS_RULES = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
              "bucketKeyEnabled": True}]
S3_RULES = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]


def bucket_parts(name: str, *, tags: dict[str, str] | None = None, sse: Any = KMS_RULES, **parts: Any) -> list:
    """A bucket and its configuration resources; a part given as None is left out, a dict replaces its inputs."""
    bucket = res(BUCKET, name, {"tags": tags or TAGS, "forceDestroy": False}, protect=True)
    inputs = {
        "pab": (PAB, {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
                      "restrictPublicBuckets": True}),
        "sse": (SSE, {"rules": sse}),
        "versioning": (VERSIONING, {"versioningConfiguration": {"status": "Enabled"}}),
        "policy": (BUCKET_POLICY, {"policy": json.dumps(TLS_POLICY)}),
        "lifecycle": (LIFECYCLE, {"rules": LIFECYCLE_RULES}),
    }
    out = [bucket]
    for part, (type_, props) in inputs.items():
        given = parts.get(part, props)
        if given is not None:
            out.append(res(type_, f"{name}-{part}", {"bucket": UNKNOWN, **given}, prop_deps={"bucket": [bucket]},
                           parent=bucket))
    return out


def world(logging: bool = True, **data_parts: Any) -> list:
    """A data bucket logging to a logs bucket, both compliant unless a part is replaced."""
    logs = bucket_parts("logs", tags={**TAGS, "agent-platform/role": "logs"}, sse=S3_RULES)
    data = bucket_parts("data", **data_parts)
    if logging:
        data.append(res(LOGGING, "data-logging", {"bucket": UNKNOWN, "targetBucket": UNKNOWN,
                                                  "targetPrefix": "s3-access/data/"},
                        prop_deps={"bucket": [data[0]], "targetBucket": [logs[0]]}, parent=data[0]))
    return [*logs, *data]


S3_POLICIES = ["s3-public-access-blocked", "s3-default-encryption", "s3-versioning-enabled", "s3-tls-only",
               "s3-access-logging", "s3-lifecycle-configured"]


@pytest.mark.parametrize("policy", S3_POLICIES)
def test_a_data_bucket_and_its_log_bucket_pass_every_s3_policy(policy):
    assert found(policy, *world()) == []


S3_VIOLATIONS = [
    ("s3-public-access-blocked", {"pab": None}, "no aws.s3.BucketPublicAccessBlock"),
    ("s3-public-access-blocked", {"pab": {"blockPublicAcls": True, "blockPublicPolicy": False,
                                          "ignorePublicAcls": True, "restrictPublicBuckets": True}},
     "blockPublicPolicy"),
    ("s3-default-encryption", {"sse": None}, "no default encryption"),
    ("s3-default-encryption", {"sse": S3_RULES}, "data buckets use SSE-KMS"),
    ("s3-default-encryption", {"sse": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
     "aws/s3"),
    ("s3-versioning-enabled", {"versioning": None}, "not enabled"),
    ("s3-versioning-enabled", {"versioning": {"versioningConfiguration": {"status": "Suspended"}}}, "not enabled"),
    ("s3-tls-only", {"policy": None}, "denies requests without TLS"),
    ("s3-tls-only", {"policy": {"policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {**TLS_POLICY["Statement"][0], "Effect": "Allow"}]})}}, "denies requests without TLS"),
    ("s3-lifecycle-configured", {"lifecycle": None}, "no lifecycle rules"),
    ("s3-lifecycle-configured", {"lifecycle": {"rules": LIFECYCLE_RULES[:1]}}, "incomplete multipart"),
    ("s3-lifecycle-configured", {"lifecycle": {"rules": LIFECYCLE_RULES[1:]}}, "noncurrent versions"),
]


@pytest.mark.parametrize(("policy", "parts", "phrase"), S3_VIOLATIONS,
                         ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(S3_VIOLATIONS)])
def test_each_bucket_weakness_is_reported_on_the_bucket(policy, parts, phrase):
    (violation,) = found(policy, *world(**parts))
    assert violation.resource_name == "data" and phrase in violation.message, violation.message


def test_a_bucket_without_access_logging_is_reported_but_its_log_bucket_is_not():
    (violation,) = found("s3-access-logging", *world(logging=False))
    assert violation.resource_name == "data" and "no server access logging" in violation.message


def test_an_untagged_log_target_may_use_sse_s3_and_needs_no_logging_of_its_own():
    logs = bucket_parts("logs", sse=S3_RULES)  # recognised only as the target of the data bucket's logging
    data = bucket_parts("data")
    logging = res(LOGGING, "data-logging", {"bucket": UNKNOWN, "targetBucket": UNKNOWN, "targetPrefix": "x/"},
                  prop_deps={"bucket": [data[0]], "targetBucket": [logs[0]]})
    assert found("s3-default-encryption", *logs, *data, logging) == []
    assert found("s3-access-logging", *logs, *data, logging) == []


def test_inline_bucket_settings_count():
    bucket = res(BUCKET, "legacy", {"tags": TAGS, "versioning": {"enabled": True},
                                    "policy": json.dumps(TLS_POLICY),
                                    "lifecycleRules": [{"enabled": True, "abortIncompleteMultipartUploadDays": 7,
                                                        "noncurrentVersionExpiration": {"days": 30}}]})
    for policy in ("s3-versioning-enabled", "s3-tls-only", "s3-lifecycle-configured"):
        assert found(policy, bucket) == [], policy


@pytest.mark.parametrize(("policy", "parts"), [
    ("s3-public-access-blocked", {"pab": {"blockPublicAcls": UNKNOWN, "blockPublicPolicy": True,
                                          "ignorePublicAcls": True, "restrictPublicBuckets": True}}),
    ("s3-default-encryption", {"sse": UNKNOWN}),
    ("s3-versioning-enabled", {"versioning": {"versioningConfiguration": {"status": UNKNOWN}}}),
    ("s3-tls-only", {"policy": {"policy": UNKNOWN}}),
    ("s3-lifecycle-configured", {"lifecycle": {"rules": UNKNOWN}}),
])
def test_bucket_settings_unknown_during_preview_report_nothing(policy, parts):
    assert found(policy, *world(**parts)) == []


# --- Secrets Manager ----------------------------------------------------------------------------------------------

CREDENTIAL_TAGS = {**TAGS, "agent-platform/secret-kind": "database-credentials"}


def credentials(**overrides: Any):
    return res(SECRET, "app-db", merged({"kmsKeyId": KEY_ARN, "recoveryWindowInDays": 30, "tags": CREDENTIAL_TAGS},
                                        overrides), protect=True)


PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"


def parameter_group(*pairs: tuple[str, Any]):
    return res(PARAMETER_GROUP, "postgres-params", {"family": "postgres16", "tags": TAGS, "parameters": [
        {"name": name, "value": value, "applyMethod": "immediate"} for name, value in pairs]})


def test_hardened_parameter_groups_pass():
    good = parameter_group(("rds.force_ssl", "1"), ("password_encryption", "scram-sha-256"),
                           ("ssl_min_protocol_version", "TLSv1.3"), ("work_mem", "65536"))
    assert found("rds-parameters-hardened", good) == []


@pytest.mark.parametrize(("name", "value"), [("password_encryption", "md5"), ("ssl_min_protocol_version", "TLSv1"),
                                             ("rds.force_ssl", "0")])
def test_weakening_parameters_are_reported(name: str, value: str):
    (violation,) = found("rds-parameters-hardened", parameter_group((name, value)))
    assert name in violation.message and value in violation.message


def test_unknown_parameter_values_report_nothing():
    assert found("rds-parameters-hardened", parameter_group(("password_encryption", UNKNOWN))) == []


def test_a_secret_with_a_recovery_window_passes_and_one_deleted_at_once_is_reported():
    assert found("secretsmanager-recovery-window", credentials()) == []
    assert found("secretsmanager-recovery-window", credentials(recoveryWindowInDays=DROP)) == [], "AWS default: 30"
    (violation,) = found("secretsmanager-recovery-window", credentials(recoveryWindowInDays=0))
    assert "gone at once" in violation.message
    assert found("secretsmanager-recovery-window", credentials(recoveryWindowInDays=UNKNOWN)) == []
    config = {"secretsmanager-recovery-window": {"minRecoveryWindowDays": 30}}
    assert len(found("secretsmanager-recovery-window", credentials(recoveryWindowInDays=7), config=config)) == 1


def rotation_of(entry, **overrides: Any):
    props = merged({"secretId": UNKNOWN, "rotationLambdaArn": UNKNOWN,
                    "rotationRules": {"automaticallyAfterDays": 30}}, overrides)
    return res(ROTATION, f"{entry.name}-rotation", props, prop_deps={"secretId": [entry]})


def test_a_cmk_encrypted_secret_passes_and_one_on_the_default_key_is_reported():
    assert found("secretsmanager-cmk-encryption", credentials()) == []
    (violation,) = found("secretsmanager-cmk-encryption", credentials(kmsKeyId=DROP))
    assert "aws/secretsmanager" in violation.message
    assert found("secretsmanager-cmk-encryption", credentials(kmsKeyId=UNKNOWN)) == []


def test_rotated_database_credentials_pass():
    entry = credentials()
    assert found("secretsmanager-rotation", entry, rotation_of(entry)) == []


def test_database_credentials_without_rotation_are_reported():
    (violation,) = found("secretsmanager-rotation", credentials())
    assert violation.resource_name == "app-db" and "no aws.secretsmanager.SecretRotation" in violation.message
    entry = credentials()
    (disabled,) = found("secretsmanager-rotation", entry, rotation_of(entry, rotationEnabled=False))
    assert disabled.resource_name == "app-db"


def test_a_slow_or_empty_rotation_schedule_is_reported():
    entry = credentials()
    (slow,) = found("secretsmanager-rotation", entry, rotation_of(entry, rotationRules={"automaticallyAfterDays":
                                                                                          120}))
    assert "every 120 days" in slow.message
    (tight,) = found("secretsmanager-rotation", entry, rotation_of(entry), config={
        "secretsmanager-rotation": {"maxRotationDays": 14}})
    assert "at most 14" in tight.message
    (empty,) = found("secretsmanager-rotation", entry, rotation_of(entry, rotationRules={}))
    assert "sets no rotationRules" in empty.message


def test_secrets_that_aws_cannot_rotate_are_not_asked_to():
    api_key = res(SECRET, "openai", {"kmsKeyId": KEY_ARN, "tags": {**TAGS, "agent-platform/secret-kind": "api-key"}})
    untagged = res(SECRET, "other", {"kmsKeyId": KEY_ARN, "tags": TAGS})
    assert found("secretsmanager-rotation", api_key, untagged) == []


def test_rotation_with_unknown_values_reports_nothing():
    entry = credentials()
    assert found("secretsmanager-rotation", entry, rotation_of(entry, rotationRules=UNKNOWN)) == []
    assert found("secretsmanager-rotation", credentials(tags=UNKNOWN)) == []


# --- data-store-ingress-from-security-groups-only ------------------------------------------------------------------


def store_world(*rules: dict[str, Any], store: str = "postgres", inline: list | None = None) -> list:
    workloads = res(SG, "workloads", {"vpcId": UNKNOWN, "tags": TAGS})
    guard = res(SG, "guard", {"vpcId": UNKNOWN, "tags": TAGS, **({"ingress": inline} if inline is not None else {})})
    if store == "postgres":
        target = res(DB, "db", {**RDS_OK, "vpcSecurityGroupIds": [UNKNOWN]}, prop_deps={"vpcSecurityGroupIds": [guard]})
    else:
        target = res(REDIS, "redis", {**REDIS_OK, "securityGroupIds": [UNKNOWN]},
                     prop_deps={"securityGroupIds": [guard]})
    out = [workloads, guard, target]
    for i, props in enumerate(rules):
        prop_deps = {"securityGroupId": [guard]}
        if props.get("referencedSecurityGroupId") is UNKNOWN:
            prop_deps["referencedSecurityGroupId"] = [workloads]
        type_ = props.pop("type_", RULE)
        out.append(res(type_, f"rule-{i}", {"securityGroupId": UNKNOWN, "tags": TAGS, **props}, prop_deps=prop_deps))
    return out


def sg_rule(port: int = 5432, **props: Any) -> dict[str, Any]:
    return {"ipProtocol": "tcp", "fromPort": port, "toPort": port, "referencedSecurityGroupId": UNKNOWN, **props}


def test_store_port_from_a_workload_group_passes():
    assert found("data-store-ingress-from-security-groups-only", *store_world(sg_rule())) == []
    assert found("data-store-ingress-from-security-groups-only", *store_world(sg_rule(6379), store="redis")) == []


@pytest.mark.parametrize(("rule", "phrase"), [
    ({"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrIpv4": "10.0.0.0/8"}, "address range(s) 10.0.0.0/8"),
    ({"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "prefixListId": "pl-123"}, "address range(s) pl-123"),
    (sg_rule(fromPort=0, toPort=65535), "more than the store's port 5432"),
    (sg_rule(ipProtocol="-1", fromPort=DROP, toPort=DROP), "opens all traffic"),
    ({"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432}, "names no source security group"),
])
def test_address_ranges_and_extra_ports_on_a_store_group_are_reported(rule, phrase):
    rule = {k: v for k, v in rule.items() if v is not DROP}
    (violation,) = found("data-store-ingress-from-security-groups-only", *store_world(rule))
    assert violation.resource_name == "rule-0" and phrase in violation.message, violation.message


def test_inline_and_legacy_rules_are_checked_too():
    inline = [{"protocol": "tcp", "fromPort": 6379, "toPort": 6379, "cidrBlocks": ["10.0.0.0/16"]}]
    (violation,) = found("data-store-ingress-from-security-groups-only", *store_world(store="redis", inline=inline))
    assert violation.resource_name == "guard" and "10.0.0.0/16" in violation.message
    legacy = {"type_": LEGACY_RULE, "type": "ingress", "protocol": "tcp", "fromPort": 5432, "toPort": 5432,
              "cidrBlocks": ["0.0.0.0/0"]}
    (violation,) = found("data-store-ingress-from-security-groups-only", *store_world(legacy))
    assert "0.0.0.0/0" in violation.message


def test_groups_that_guard_no_data_store_are_not_judged_here():
    other = res(SG, "web", {"vpcId": UNKNOWN, "tags": TAGS})
    rule = res(RULE, "web-https", {"securityGroupId": UNKNOWN, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                                   "cidrIpv4": "10.0.0.0/8", "tags": TAGS}, prop_deps={"securityGroupId": [other]})
    assert found("data-store-ingress-from-security-groups-only", other, rule) == []


def test_store_rules_with_unknown_sources_report_nothing():
    rule = {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrIpv4": UNKNOWN}
    assert found("data-store-ingress-from-security-groups-only", *store_world(rule)) == []
