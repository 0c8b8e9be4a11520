"""DataTier per tier: private, encrypted stores sized and protected by tier; secrets that never leak."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.data.naming import SECRET_KIND_TAG, physical_name
from planning.model import Plan, PlannedResource, is_secret
from tests.harness import STACKS, plan, review, tags_of

DB = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SAR = "aws:serverlessrepository/cloudFormationStack:CloudFormationStack"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
RANDOM_BYTES = "random:index/randomBytes:RandomBytes"
EKS = "aws:eks/cluster:Cluster"

# What the mock engine returns for secret config values and pulumi-random results.
MOCK_SECRET = "mock-secret-value-of-"
MOCK_RANDOM = ("m0ckm0ck", "bW9ja2VkLWtleS1ieXRlcy1tb2NrZWQta2V5LWJ5dGVzLTAwMDA=")


def data_children(p: Plan) -> list[PlannedResource]:
    return [r for r in p if p.component_label(r) == "data"]


def key_urn(p: Plan, purpose: str) -> str:
    return p.one(KEY, f"data-{purpose}-key").urn


def deps(res: PlannedResource, prop: str) -> tuple[str, ...]:
    return res.property_dependencies.get(prop, ())


# --- tier differences -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "expected"), [
    ("dev", {"instanceClass": "db.t4g.micro", "multiAz": False, "backupRetentionPeriod": 1,
             "deletionProtection": False, "skipFinalSnapshot": True, "applyImmediately": True,
             "maxAllocatedStorage": 50}),
    ("staging", {"instanceClass": "db.t4g.large", "multiAz": False, "backupRetentionPeriod": 7,
                 "deletionProtection": True, "skipFinalSnapshot": False, "applyImmediately": False,
                 "maxAllocatedStorage": 200}),
    ("prod", {"instanceClass": "db.r7g.large", "multiAz": True, "backupRetentionPeriod": 35,
              "deletionProtection": True, "skipFinalSnapshot": False, "applyImmediately": False,
              "maxAllocatedStorage": 1000}),
])
def test_database_size_availability_and_protection_follow_the_tier(stack, expected):
    db = plan(stack).one(DB, "data-postgres")
    assert {k: db.props[k] for k in expected} == expected
    protected = stack != "dev"
    assert db.protect is protected
    assert db.props.get("finalSnapshotIdentifier") == (f"agent-platform-{stack}-postgres-final" if protected else None)
    assert db.props["deleteAutomatedBackups"] is not protected


@pytest.mark.parametrize(("stack", "node_type", "nodes", "failover", "snapshots"), [
    ("dev", "cache.t4g.micro", 1, False, 1),
    ("staging", "cache.t4g.small", 2, True, 3),
    ("prod", "cache.r7g.large", 3, True, 14),
])
def test_cache_size_failover_and_snapshots_follow_the_tier(stack, node_type, nodes, failover, snapshots):
    redis = plan(stack).one(REDIS, "data-redis")
    props = redis.props
    assert (props["nodeType"], props["numCacheClusters"]) == (node_type, nodes)
    assert props["automaticFailoverEnabled"] is failover and props["multiAzEnabled"] is failover
    assert props["snapshotRetentionLimit"] == snapshots
    assert redis.protect is (stack != "dev")
    assert ("finalSnapshotIdentifier" in props) is (stack != "dev")


def test_dev_is_disposable_and_prod_keeps_everything():
    dev, prod = plan("dev"), plan("prod")
    for bucket in dev.of_type(BUCKET):
        assert bucket.props["forceDestroy"] is True and not bucket.protect and not bucket.retain_on_delete
    for bucket in prod.of_type(BUCKET):
        assert bucket.props["forceDestroy"] is False and bucket.protect and bucket.retain_on_delete
    assert {s.props["recoveryWindowInDays"] for s in data_children(dev) if s.type == SECRET} == {0}
    assert {s.props["recoveryWindowInDays"] for s in data_children(prod) if s.type == SECRET} == {30}
    assert all(s.protect for s in data_children(prod) if s.type in (SECRET, KEY))
    assert {g.props["retentionInDays"] for g in data_children(dev) if g.type == LOG_GROUP} == {14}
    assert {g.props["retentionInDays"] for g in data_children(prod) if g.type == LOG_GROUP} == {365}


# --- secrets never leak -----------------------------------------------------------------------------------------


def plaintext_hits(value: Any, path: str = "") -> list[str]:
    """Paths of mock secret values found outside secret wrappers."""
    if is_secret(value):
        return []
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in plaintext_hits(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in plaintext_hits(v, f"{path}[{i}]")]
    if isinstance(value, str) and (MOCK_SECRET in value or any(m in value for m in MOCK_RANDOM)):
        return [path]
    return []


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_appears_in_plaintext_in_any_input_or_output(stack):
    p = plan(stack)
    leaks = [f"{r.type} {r.name}{hit}" for r in p for hit in plaintext_hits(r.inputs)]
    assert leaks == []
    exported = json.dumps(p.outputs)
    assert MOCK_SECRET not in exported and not any(m in exported for m in MOCK_RANDOM)


@pytest.mark.parametrize("stack", STACKS)
def test_secret_values_reach_secrets_manager_only_as_pulumi_secrets(stack):
    p = plan(stack)
    if stack != "prod-dr":  # a DR stack reads prod's replicated LLM keys; it writes no value of its own for them
        providers = p.one("aws:secretsmanager/secret:Secret", "data-llm-openai")  # every stack lists openai
        version = next(v for v in p.of_type(SECRET_VERSION) if v.parent == providers.urn)
        assert is_secret(version.inputs["secretString"])
        assert version.props["secretString"] == f"{MOCK_SECRET}openaiApiKey", "the search above would find it"
    for v in p.of_type(SECRET_VERSION):
        assert is_secret(v.inputs["secretString"]), v.name
    redis = p.one(REDIS, "data-redis")
    assert is_secret(redis.inputs["authToken"])


def test_every_configured_llm_provider_gets_its_own_secret_and_exported_arn():
    prod = plan("prod")
    providers = ["openai", "anthropic", "openrouter", "google"]
    assert sorted(prod.outputs["llmKeySecretArns"]) == sorted(providers)
    for provider in providers:
        secret = prod.one(SECRET, f"data-llm-{provider}")
        assert tags_of(secret)[SECRET_KIND_TAG] == "api-key"
        assert prod.outputs["llmKeySecretArns"][provider].startswith("arn:aws:secretsmanager:")
    assert "data-llm-cohere" not in {s.name for s in prod.of_type(SECRET)}


def test_outputs_expose_arns_and_endpoints_only():
    outputs = plan("staging").outputs
    for key in ("appDbSecretArn", "redisAuthSecretArn", "jwtSecretArn", "encryptionKeySecretArn"):
        assert outputs[key].startswith("arn:aws:secretsmanager:"), key
    assert outputs["postgresHost"].endswith(".rds.amazonaws.com")
    assert outputs["redisHost"].endswith(".cache.amazonaws.com")


def test_generated_secrets_are_strong_and_shell_safe():
    p = plan("dev")
    jwt = p.one(RANDOM_PASSWORD, "data-jwt-secret-value").props
    assert jwt["length"] >= 32 and jwt["special"] is False
    assert p.one(RANDOM_BYTES, "data-encryption-key-value").props["length"] == 32
    assert p.one(RANDOM_PASSWORD, "data-app-db-password").props["special"] is False
    token = p.one(RANDOM_PASSWORD, "data-redis-auth-token").props
    assert token["length"] >= 32 and token["special"] is False


def test_every_data_secret_is_encrypted_with_the_secrets_key_and_says_what_it_holds():
    p = plan("prod")
    secrets = [r for r in data_children(p) if r.type == SECRET]
    # four providers, jwt, encryption key, the application's and the exporter's database logins, cache credentials
    assert len(secrets) == 4 + 5
    for secret in secrets:
        assert deps(secret, "kmsKeyId") == (key_urn(p, "secrets"),), secret.name
        assert tags_of(secret)[SECRET_KIND_TAG]
    kinds = {s.name: tags_of(s)[SECRET_KIND_TAG] for s in secrets}
    assert kinds["data-app-db-credentials"] == "database-credentials"
    assert kinds["data-redis-auth"] == "cache-credentials"


def test_application_credentials_name_the_app_role_never_the_master_user():
    p = plan("prod")
    credentials = p.one(SECRET, "data-app-db-credentials")
    value = json.loads(next(v for v in p.of_type(SECRET_VERSION) if v.parent == credentials.urn).props["secretString"])
    master = p.one(DB, "data-postgres").props["username"]
    assert value["username"] == "agent_app" != master
    assert value["engine"] == "postgres" and value["port"] == 5432 and value["dbname"] == "agent_platform"
    assert value["host"] == p.outputs["postgresHost"]


def test_application_credentials_rotate_with_aws_rotation_function_after_the_bootstrap():
    p = plan("prod")
    rotation = p.one(ROTATION, "data-app-db-rotation")
    assert deps(rotation, "secretId") == (p.one(SECRET, "data-app-db-credentials").urn,)
    assert rotation.props["rotationRules"]["automaticallyAfterDays"] == 30
    assert rotation.props["rotateImmediately"] is False
    job = p.one("kubernetes:batch/v1:Job", "data-bootstrap")
    assert job.urn in rotation.dependencies, "the role must exist before rotating"
    app = p.one(SAR, "data-rotation-function")
    assert app.props["applicationId"] == ("arn:aws:serverlessrepo:us-east-1:297356227824:applications/"
                                          "SecretsManagerRDSPostgreSQLRotationSingleUser")
    params = app.props["parameters"]
    assert params["kmsKeyArn"].startswith("arn:aws:kms:") and params["endpoint"].startswith("https://secretsmanager.")
    assert set(params["vpcSubnetIds"].split(",")) == {f"network-private-{i}-id" for i in range(3)}
    assert p.one(LOG_GROUP, "data-rotation-logs").props["name"] == f"/aws/lambda/{params['functionName']}"


# --- PostgreSQL -----------------------------------------------------------------------------------------------


def test_database_is_private_encrypted_and_observable():
    p = plan("prod")
    db = p.one(DB, "data-postgres")
    props = db.props
    assert props["engine"] == "postgres" and props["engineVersion"] == "16"
    assert props["publiclyAccessible"] is False and props["storageEncrypted"] is True
    assert deps(db, "kmsKeyId") == (key_urn(p, "database"),)
    assert props["manageMasterUserPassword"] is True and "password" not in props
    assert deps(db, "masterUserSecretKmsKeyId") == (key_urn(p, "secrets"),)
    assert props["iamDatabaseAuthenticationEnabled"] is True
    assert props["performanceInsightsEnabled"] is True and deps(db, "performanceInsightsKmsKeyId")
    assert props["monitoringInterval"] == 15 and deps(db, "monitoringRoleArn")
    assert props["autoMinorVersionUpgrade"] is True and props["copyTagsToSnapshot"] is True
    assert props["storageType"] == "gp3" and props["maxAllocatedStorage"] > props["allocatedStorage"]
    for kind in props["enabledCloudwatchLogsExports"]:
        group = p.one(LOG_GROUP, f"data-postgres-{kind}-logs")
        assert group.props["name"] == f"/aws/rds/instance/{props['identifier']}/{kind}"
        assert group.urn in db.dependencies, "RDS would otherwise create the group unencrypted, kept forever"


def test_database_lives_in_isolated_subnets():
    p = plan("prod")
    subnets = p.one("aws:rds/subnetGroup:SubnetGroup", "data-postgres-subnets")
    # The stack's own isolated subnets, not the DR region's standby network (restore tests only).
    isolated = {r.urn for r in p.of_type("aws:ec2/subnet:Subnet") if r.name.startswith("network-isolated-")}
    assert len(isolated) == 3
    assert set(deps(subnets, "subnetIds")) == isolated


def test_parameter_group_forces_tls_and_carries_the_seed_tuning():
    group = plan("dev").one("aws:rds/parameterGroup:ParameterGroup", "data-postgres-params").props
    params = {x["name"]: x for x in group["parameters"]}
    assert group["family"] == "postgres16"
    assert params["rds.force_ssl"]["value"] == "1"
    assert params["shared_preload_libraries"] == {"name": "shared_preload_libraries", "value": "pg_stat_statements",
                                                  "applyMethod": "pending-reboot"}
    assert params["log_min_duration_statement"]["value"] == "1000"
    assert int(params["idle_in_transaction_session_timeout"]["value"]) > 0
    assert params["log_statement"]["value"] == "none"


# dev's stores configured at once (each test asserts its own setting): one plan.
CONFIGURED_STORES = {"dataTier.postgres.engineVersion": "17", "dataTier.postgres.parameters": {"work_mem": "16384"},
                     "dataTier.redis.engine": "redis", "dataTier.redis.authTokenGeneration": 2}


def test_engine_version_and_parameters_come_from_config():
    p = plan("dev", CONFIGURED_STORES)
    assert p.one(DB, "data-postgres").props["engineVersion"] == "17"
    group = p.one("aws:rds/parameterGroup:ParameterGroup", "data-postgres-params").props
    assert group["family"] == "postgres17"
    assert {"name": "work_mem", "value": "16384", "applyMethod": "immediate"} in group["parameters"]


def test_database_and_data_bucket_opt_into_the_backup_plan_and_logs_do_not():
    p = plan("prod")
    assert tags_of(p.one(DB, "data-postgres"))["backup-plan"] == "default"
    assert tags_of(p.one(BUCKET, "data-data"))["backup-plan"] == "default"
    logs = tags_of(p.one(BUCKET, "data-logs"))
    assert "backup-plan" not in logs and logs["agent-platform/role"] == "logs"
    assert "backup-plan" not in tags_of(p.one(REDIS, "data-redis"))


# --- Redis ------------------------------------------------------------------------------------------------------


def test_cache_requires_tls_and_auth_and_encrypts_with_its_own_key():
    p = plan("prod")
    redis = p.one(REDIS, "data-redis")
    props = redis.props
    assert props["transitEncryptionEnabled"] is True and props["transitEncryptionMode"] == "required"
    assert props["atRestEncryptionEnabled"] is True and deps(redis, "kmsKeyId") == (key_urn(p, "cache"),)
    assert props["authTokenUpdateStrategy"] == "ROTATE"
    auth = p.one(SECRET, "data-redis-auth")
    version = next(v for v in p.of_type(SECRET_VERSION) if v.parent == auth.urn)
    assert version.props["secretString"] == props["authToken"]
    assert props["engine"] == "redis" and props["engineVersion"] == "7.1" and props["port"] == 6379
    assert "notificationTopicArn" not in props  # events go through EventBridge (tests/test_alert_routing.py)
    assert {c["logType"] for c in props["logDeliveryConfigurations"]} == {"slow-log", "engine-log"}


@pytest.mark.parametrize(("stack", "family"), [("dev", "valkey8"), ("staging", "redis7")])
def test_cache_evicts_least_recently_used_keys_like_the_seeds(stack, family):
    group = plan(stack).one("aws:elasticache/parameterGroup:ParameterGroup", "data-redis-params").props
    assert group["family"] == family
    assert {"name": "maxmemory-policy", "value": "allkeys-lru"} in group["parameters"]


def test_valkey_is_dev_tiers_default_and_redis_stays_a_config_choice():
    redis = plan("dev").one(REDIS, "data-redis").props
    assert (redis["engine"], redis["engineVersion"]) == ("valkey", "8.0")
    assert plan("staging").one(REDIS, "data-redis").props["engine"] == "redis"
    p = plan("dev", CONFIGURED_STORES)  # engine redis
    assert (p.one(REDIS, "data-redis").props["engine"], p.one(REDIS, "data-redis").props["engineVersion"]) \
        == ("redis", "7.1")
    assert p.one("aws:elasticache/parameterGroup:ParameterGroup", "data-redis-params").props["family"] == "redis7"


def test_bumping_the_auth_token_generation_replaces_the_token():
    token = plan("dev", CONFIGURED_STORES).one(RANDOM_PASSWORD, "data-redis-auth-token")  # generation 2
    assert token.props["keepers"] == {"generation": "2"}


# --- security groups --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "port"), [("postgres", 5432), ("redis", 6379)])
def test_data_ports_are_reachable_only_from_workload_groups(role, port):
    p = plan("prod")
    group = p.one(SG, f"data-{role}-sg")
    rules = [r for r in p.of_type(INGRESS) if deps(r, "securityGroupId") == (group.urn,)]
    workloads = p.one(EKS, "cluster-eks").urn
    rotation = p.one(SG, "data-rotation-sg").urn
    sources = {deps(r, "referencedSecurityGroupId")[0] for r in rules}
    assert sources == ({workloads, rotation} if role == "postgres" else {workloads})
    for rule in rules:
        assert rule.props["ipProtocol"] == "tcp" and rule.props["fromPort"] == rule.props["toPort"] == port
        assert not {"cidrIpv4", "cidrIpv6", "prefixListId"} & set(rule.props)
    assert "ingress" not in group.props and "egress" not in group.props
    assert not [r for r in p.of_type(EGRESS) if deps(r, "securityGroupId") == (group.urn,)]


def test_rotation_function_may_only_reach_the_database_and_https():
    p = plan("dev")
    group = p.one(SG, "data-rotation-sg")
    egress = {(r.props["fromPort"], r.props.get("cidrIpv4")) for r in p.of_type(EGRESS)
              if deps(r, "securityGroupId") == (group.urn,)}
    assert egress == {(5432, None), (443, "0.0.0.0/0")}
    assert not [r for r in p.of_type(INGRESS) if deps(r, "securityGroupId") == (group.urn,)]


# --- buckets ----------------------------------------------------------------------------------------------------


def bucket_config(p: Plan, bucket: PlannedResource, type_: str) -> dict[str, Any]:
    (found,) = [r for r in p.of_type(type_) if deps(r, "bucket") == (bucket.urn,)]
    return found.props


@pytest.mark.parametrize("name", ["data-data", "data-logs"])
def test_buckets_are_private_owner_enforced_versioned_and_tls_only(name):
    p = plan("prod")
    bucket = p.one(BUCKET, name)
    block = bucket_config(p, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    ownership = bucket_config(p, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    versioning = bucket_config(p, bucket, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    policy = json.loads(bucket_config(p, bucket, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    deny = next(s for s in policy["Statement"] if s.get("Sid") == "DenyInsecureTransport")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == ["s3:*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = bucket_config(p, bucket, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
    by_id = {r["id"]: r for r in rules}
    assert by_id["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] == 90
    assert by_id["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7


def test_data_bucket_uses_its_own_kms_key_with_bucket_keys_and_logs_to_the_logs_bucket():
    p = plan("prod")
    data, logs = p.one(BUCKET, "data-data"), p.one(BUCKET, "data-logs")
    encryption = [r for r in p.of_type("aws:s3/bucketServerSideEncryptionConfiguration:"
                                       "BucketServerSideEncryptionConfiguration") if deps(r, "bucket") == (data.urn,)]
    (rule,) = encryption[0].props["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms" and rule["bucketKeyEnabled"]
    assert deps(encryption[0], "rules") == (key_urn(p, "objects"),)
    logging = bucket_config(p, data, "aws:s3/bucketLogging:BucketLogging")
    assert logging["targetPrefix"] == "s3-access/data/"
    (log_rule,) = bucket_config(p, logs, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                      "BucketServerSideEncryptionConfiguration")["rules"]
    assert log_rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256", "ALB logs need SSE-S3"
    transitions = {r["id"]: r for r in bucket_config(
        p, data, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]}
    assert transitions["infrequent-access"]["transitions"] == [{"days": 30, "storageClass": "STANDARD_IA"}]


def test_logs_bucket_accepts_s3_and_load_balancer_logs_only_on_their_prefixes():
    p = plan("dev")
    policy = json.loads(bucket_config(p, p.one(BUCKET, "data-logs"), "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    grants = {s["Sid"]: s for s in policy["Statement"] if s["Effect"] == "Allow"}
    assert grants["S3ServerAccessLogs"]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert grants["S3ServerAccessLogs"]["Resource"][0].endswith("/s3-access/*")
    assert grants["LoadBalancerAccessLogs"]["Resource"][0].endswith("/alb/AWSLogs/123456789012/*")
    assert all(s["Action"] == ["s3:PutObject"] for s in grants.values())


# --- keys, naming, review -------------------------------------------------------------------------------------


def test_one_rotating_key_per_purpose():
    p = plan("dev")
    keys = [k for k in data_children(p) if k.type == KEY]
    assert sorted(k.name for k in keys) == ["data-cache-key", "data-database-key", "data-objects-key",
                                            "data-secrets-key"]
    assert all(k.props["enableKeyRotation"] is True for k in keys)


def test_physical_names_stay_within_aws_limits():
    assert physical_name("agent-platform-prod", "redis", 40) == "agent-platform-prod-redis"
    long = physical_name("agent-platform-" + "x" * 50, "redis", 40)
    assert len(long) <= 40 and long.endswith("-redis") and "--" not in long
    assert long != physical_name("agent-platform-" + "x" * 49 + "y", "redis", 40)
    assert physical_name("9lives", "postgres", 63)[0].isalpha()


@pytest.mark.parametrize("stack", STACKS)
def test_data_tier_passes_every_data_policy(stack):
    names = {p.name for p in review(plan(stack)).policies}
    assert {"rds-storage-encrypted-cmk", "s3-tls-only", "secretsmanager-rotation"} <= names
    found = [v for v in review(plan(stack)).violations
             if v.component == "data" and v.enforcement == "mandatory"]
    assert found == [], [f"{v.policy}: {v.message}" for v in found]


@pytest.mark.parametrize("stack", STACKS)
def test_offline_review_has_zero_mandatory_violations(stack):
    mandatory = review(plan(stack)).mandatory
    assert mandatory == [], [f"{v.policy} on {v.resource_name}: {v.message}" for v in mandatory]
