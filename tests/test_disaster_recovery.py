"""Region loss: prod replicates every stateful store to its DR region, and prod-dr rebuilds the platform there.

Requirements from issue 21 and seed 004 (RPO <= 1 h, RTO <= 4 h on region loss), read on the real plans.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from planning.model import Plan, PlannedResource
from tests.harness import config_error, plan, tags_of

DR_REGION = "us-west-2"
DB_BACKUPS = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
SECRET = "aws:secretsmanager/secret:Secret"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
ECR_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
KMS_KEY = "aws:kms/key:Key"
RDS = "aws:rds/instance:Instance"
RECORD = "aws:route53/record:Record"


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan("prod")


@pytest.fixture(scope="module")
def dr() -> Plan:
    return plan("prod-dr")


def region_of(p: Plan, res: PlannedResource) -> str | None:
    """The region of a resource's explicit provider (None: the stack's default provider)."""
    if res.provider is None:
        return None
    # A provider reference is "<provider urn>::<id>".
    provider = next((r for r in p.resources if res.provider.startswith(r.urn + "::")), None)
    assert provider is not None, res.provider
    return provider.inputs.get("region")


def _statements(document: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(document)["Statement"]}


def test_postgres_backups_replicate_to_the_dr_region_under_a_key_there(prod: Plan) -> None:
    replication = prod.one(DB_BACKUPS)
    db = prod.one(RDS)
    assert db.urn in replication.property_dependencies["sourceDbInstanceArn"]
    assert region_of(prod, replication) == DR_REGION
    key = next(r for r in prod.of_type(KMS_KEY) if r.urn in replication.property_dependencies["kmsKeyId"])
    assert region_of(prod, key) == DR_REGION and key.name == "data-dr-database-key"
    assert replication.inputs["retentionPeriod"] == 35  # prod's dataTier.postgres.backupRetentionDays


def test_the_data_bucket_replicates_with_rtc_to_a_guarded_replica(prod: Plan) -> None:
    config = prod.one(BUCKET_REPLICATION)
    source = prod.one(BUCKET, "data-data")
    replica = prod.one(BUCKET, "data-data-replica")
    assert source.urn in config.property_dependencies["bucket"]
    assert replica.urn in config.property_dependencies["rules"]
    assert region_of(prod, replica) == DR_REGION and region_of(prod, source) is None
    (rule,) = config.inputs["rules"]
    assert rule["status"] == "Enabled" and rule["deleteMarkerReplication"] == {"status": "Enabled"}
    assert rule["sourceSelectionCriteria"]["sseKmsEncryptedObjects"]["status"] == "Enabled"
    destination = rule["destination"]
    assert destination["replicationTime"] == {"status": "Enabled", "time": {"minutes": 15}}
    assert destination["metrics"] == {"status": "Enabled", "eventThreshold": {"minutes": 15}}
    # The replica has the primary's guards, in its own region.
    children = {r.type.rsplit(":", 1)[-1]: r for r in prod.resources if r.parent == replica.urn}
    assert children["BucketVersioning"].inputs["versioningConfiguration"]["status"] == "Enabled"
    block = children["BucketPublicAccessBlock"].inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    encryption = children["BucketServerSideEncryptionConfiguration"].inputs["rules"][0]
    assert encryption["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    policy = _statements(children["BucketPolicy"].inputs["policy"])
    assert policy["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    primary_rules = {r["id"] for r in prod.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                                               "data-data-lifecycle").inputs["rules"]}
    replica_rules = {r["id"] for r in children["BucketLifecycleConfiguration"].inputs["rules"]}
    assert replica_rules == primary_rules
    assert tags_of(replica)["agent-platform/role"] == "replica"
    assert all(region_of(prod, c) == DR_REGION for c in children.values())


def test_the_replication_role_reads_the_source_and_writes_the_replica_only(prod: Plan) -> None:
    role = prod.one("aws:iam/role:Role", "data-data-replication-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"}
    policy = _statements(prod.one("aws:iam/rolePolicy:RolePolicy", "data-data-replication-policy").inputs["policy"])
    assert set(policy["WriteReplicas"]["Action"]) == {"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}
    assert policy["DecryptSourceObjects"]["Action"] in ("kms:Decrypt", ["kms:Decrypt"])
    assert policy["DecryptSourceObjects"]["Condition"]["StringLike"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    assert policy["EncryptReplicas"]["Condition"]["StringLike"]["kms:ViaService"] == "s3.us-west-2.amazonaws.com"
    # Bucket keys: the encryption context is the bucket ARN (no "/*").
    for sid in ("DecryptSourceObjects", "EncryptReplicas"):
        assert not str(policy[sid]["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]).endswith("/*")
    assert not any(s.get("Resource") == "*" for s in policy.values())


def test_every_application_secret_has_a_replica_under_the_dr_key(prod: Plan) -> None:
    dr_key = prod.one(KMS_KEY, "data-dr-secrets-key")
    app = [s for s in prod.of_type(SECRET) if "agent-platform/secret-kind" in tags_of(s)]
    assert len(app) >= 7  # four LLM keys, JWT, encryption key, database and cache credentials
    for secret in app:
        (replica,) = secret.inputs["replicas"]
        assert replica["region"] == DR_REGION
        assert dr_key.urn in secret.property_dependencies["replicas"]


def test_only_the_opted_in_stack_owns_the_registry_replication(prod: Plan, dr: Plan) -> None:
    (config,) = prod.of_type(ECR_REPLICATION)
    (rule,) = config.inputs["replicationConfiguration"]["rules"]
    assert rule["destinations"][0]["region"] == DR_REGION
    assert rule["repositoryFilters"] == [{"filter": "agent-platform-prod/", "filterType": "PREFIX_MATCH"}]
    template = prod.one(ECR_TEMPLATE)
    assert template.inputs["appliedFors"] == ["REPLICATION"] and template.inputs["prefix"] == "agent-platform-prod"
    assert template.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    assert template.inputs["imageTagMutability"] == "IMMUTABLE"
    assert region_of(prod, template) == DR_REGION
    for other in (dr, plan("staging"), plan("dev")):
        assert other.of_type(ECR_REPLICATION) == [], other.stack


def test_restore_tests_also_restore_in_the_dr_region(prod: Plan) -> None:
    dr_tests = prod.one("aws:backup/restoreTestingPlan:RestoreTestingPlan", "backup-dr-restore-tests")
    assert region_of(prod, dr_tests) == DR_REGION
    dr_vault = prod.one("aws:backup/vault:Vault", "backup-dr-vault")
    assert dr_vault.urn in dr_tests.property_dependencies["recoveryPointSelection"]


def test_prod_exports_what_the_dr_stack_restores_from(prod: Plan) -> None:
    state = prod.outputs["drState"]
    assert {"dataBucketName", "dataKeyArn", "secretsKeyArn", "secretArns"} <= set(state)
    assert {"jwt", "encryption-key", "openai"} <= set(state["secretArns"])
    assert all(f":{DR_REGION}:" in arn for arn in state["secretArns"].values())


def test_the_dr_stack_restores_postgres_from_the_replicated_backups(dr: Plan) -> None:
    db = dr.one(RDS)
    point = db.inputs["restoreToPointInTime"]
    assert point["sourceDbInstanceAutomatedBackupsArn"].startswith("arn:aws:rds:us-west-2:")
    assert point["useLatestRestorableTime"] is True
    assert "username" not in db.inputs  # the restored instance keeps the source's master user


def test_the_dr_stack_points_at_the_replica_bucket_and_secrets_without_creating_them(dr: Plan) -> None:
    assert [b.name for b in dr.of_type(BUCKET)] == ["data-logs"]  # the data bucket is prod's replica
    names = {s.name for s in dr.of_type(SECRET)}
    assert not names & {"data-jwt-secret", "data-encryption-key", "data-llm-openai"}
    replica_bucket = "data-data-replica-4f1c2b9"  # Pulumi.prod-dr.yaml recovery.dataBucketName
    jwt = "arn:aws:secretsmanager:us-west-2:111122223333:secret:agent-platform-prod/jwt-3kQ9Zx"
    text = json.dumps([r.inputs for r in dr.resources])
    assert replica_bucket in text and jwt in text


def test_the_dr_stack_takes_over_the_public_names_and_prod_never_overwrites(prod: Plan, dr: Plan) -> None:
    aliases = [r for r in dr.of_type(RECORD) if r.inputs.get("aliases")]
    assert aliases and all(r.inputs["allowOverwrite"] is True for r in aliases)
    assert all(r.inputs["allowOverwrite"] is False for r in prod.of_type(RECORD) if r.inputs.get("aliases"))


BAD_DR_CONFIGS = [
    ("prod", {"backup.replication.enabled": False}, "backup.replication.enabled", "daily backup copies alone"),
    ("prod", {"backup.replication.replicationTimeControl": False}, "backup.replication.replicationTimeControl",
     "Replication Time Control"),
    ("prod-dr", {"recovery.sourceRegion": "us-west-2"}, "recovery.sourceRegion", "must differ"),
    ("prod-dr", {"recovery.dataKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
     "recovery.dataKeyArn", "must be in the stack's region"),
    ("prod-dr", {"recovery.secretArns": {"jwt": "arn:aws:secretsmanager:us-west-2:111122223333:secret:a-AbCdEf"}},
     "recovery.secretArns", "missing encryption-key"),
    ("prod-dr", {"recovery.databaseAutomatedBackupsArn": "arn:aws:rds:us-west-2:111122223333:db:postgres"},
     "recovery.databaseAutomatedBackupsArn", "replicated automated backups"),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "phrase"), BAD_DR_CONFIGS,
                         ids=[f"{s}:{p}" for s, _, p, _ in BAD_DR_CONFIGS])
def test_bad_dr_config_names_the_key_and_registers_nothing(stack: str, overrides: dict[str, Any], path: str,
                                                           phrase: str) -> None:
    err = config_error(stack, overrides)
    assert path in err.paths, f"{path} not named in:\n{err}"
    assert phrase.lower() in dict(err.issues)[path].lower()


def test_staging_replicates_once_it_configures_a_dr_region() -> None:
    assert plan("staging").of_type(DB_BACKUPS) == []
    staging = plan("staging", {"backup.drRegion": DR_REGION})
    assert len(staging.of_type(DB_BACKUPS)) == 1 and len(staging.of_type(BUCKET_REPLICATION)) == 1
    assert staging.of_type(ECR_REPLICATION) == []  # the registry's configuration stays prod's


def test_the_estimate_prices_replication_and_the_idle_dr_footprint(prod: Plan) -> None:
    from planning.cost_report import stack_cost, stack_report

    report = stack_report(prod)
    usage = stack_cost("prod").usage
    lines: dict[tuple[str, str], Any] = {(line.resource, line.price_key): line for line in report.lines}
    replicated = usage.dr_replication_gb / 2  # shared by the S3 and the RDS replication
    assert lines[("data-data-replication", "s3.transfer.inter-region")].quantity == replicated
    assert lines[("data-data-replication", "s3.replication-time-control")].quantity == replicated
    assert lines[("data-postgres-dr-backups", "rds.transfer.inter-region")].quantity == replicated
    backups = lines[("data-postgres-dr-backups", "rds.backup-storage")]
    assert backups.quantity == prod.one(RDS).inputs["allocatedStorage"] and backups.region == DR_REGION
    # The replica stores a copy of the data bucket's share; it does not dilute the primary buckets' shares.
    primary = lines[("data-data", "s3.standard.storage")]
    replica = lines[("data-data-replica", "s3.standard.storage")]
    assert replica.quantity == primary.quantity and replica.region == DR_REGION
    images = lines[("images-replication", "ecr.storage")]
    assert images.quantity == usage.ecr_storage_gb and images.region == DR_REGION
    secret_replicas = [line for line in report.lines
                       if line.price_key == "secretsmanager.secret" and "replica" in line.item]
    assert len(secret_replicas) == len([s for s in prod.of_type(SECRET) if s.inputs.get("replicas")]) >= 7
    # Restore tests stay unpriced, in every region, as before (billed per test, not in the catalogue).
    assert not [u for u in report.unpriced if ("replica" in u.resource or "dr-" in u.resource)
                and u.type != "aws:backup/restoreTestingPlan:RestoreTestingPlan"]


def test_ecr_creates_dr_repositories_with_only_the_documented_rights(prod: Plan) -> None:
    """ECR user guide, "Create a custom policy for repository creation templates", scoped to the stack's prefix."""
    role = prod.one("aws:iam/role:Role", "images-template-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ecr.amazonaws.com"}
    policy = _statements(prod.one("aws:iam/rolePolicy:RolePolicy", "images-template-policy").inputs["policy"])
    repos = policy["CreateReplicatedRepositories"]
    assert set(repos["Action"]) == {"ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"}
    assert repos["Resource"] in (["arn:aws:ecr:us-west-2:123456789012:repository/agent-platform-prod/*"],
                                 "arn:aws:ecr:us-west-2:123456789012:repository/agent-platform-prod/*")
    assert set(policy["UseDrKey"]["Action"]) == {"kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"}


DOCUMENT_STORE = {"dataTier.documentStore": {"engine": "documentdb"}}
BACKUP_PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"


@pytest.fixture(scope="module")
def prod_with_docdb() -> Plan:
    return plan("prod", DOCUMENT_STORE)


def test_the_committed_stacks_have_no_hourly_copy_plan(prod: Plan) -> None:
    assert [p.name for p in prod.of_type(BACKUP_PLAN)] == ["backup-plan"]


def test_a_document_store_gets_an_hourly_plan_copied_to_the_dr_vault(prod_with_docdb: Plan) -> None:
    hourly = next(p for p in prod_with_docdb.of_type(BACKUP_PLAN) if p.name == "backup-hourly-plan")
    [rule] = hourly.inputs["rules"]
    # AWS Backup rejects rules under 60 minutes apart: hourly is its shortest interval.
    assert rule["schedule"] == "cron(0 * ? * * *)"
    dr_vault = prod_with_docdb.one("aws:backup/vault:Vault", "backup-dr-vault")
    assert region_of(prod_with_docdb, dr_vault) == DR_REGION
    assert any(d.endswith("backup-dr-vault") for d in hourly.property_dependencies["rules"])
    daily = next(r for r in prod_with_docdb.one(BACKUP_PLAN, "backup-plan").inputs["rules"] if r["ruleName"] == "daily")
    assert rule["copyActions"][0]["lifecycle"] == daily["copyActions"][0]["lifecycle"]
    # The vault lock's minimum retention (prod: backup.lock.minRetentionDays) binds the local points too.
    assert rule["lifecycle"]["deleteAfter"] >= 7
    [selection] = [s for s in prod_with_docdb.of_type(SELECTION) if s.name.startswith("backup-hourly-")]
    assert selection.name == "backup-hourly-documentdb-selection"
    assert [r.split(":")[2:6:3] for r in selection.inputs["resources"]] == [["rds", "cluster"]]
    assert not [r for r in prod_with_docdb.of_type(SELECTION) if "vector" in r.name]


def test_the_vector_volume_selection_takes_only_vector_store_volumes() -> None:
    # dev runs on the VM runtime, where the store's data volume is a planned aws:ebs/volume:Volume.
    p = plan("dev", {"dataTier.vectorStore": "qdrant", "dataTier.qdrant.snapshotSchedule": "*/30 * * * *",
                     "backup.drRegion": DR_REGION})
    [selection] = [s for s in p.of_type(SELECTION) if s.name == "backup-hourly-vector-volumes-selection"]
    assert [r.split(":")[2] for r in selection.inputs["resources"]] == ["ec2"]
    assert all(r.endswith(":volume/*") for r in selection.inputs["resources"])
    conditions = {c["key"]: c["value"] for c in selection.inputs["conditions"][0]["stringEquals"]}
    # Every tag the selection asks for is on the store's volume, and the component tag rules out other volumes.
    volume = next(v for v in p.of_type("aws:ebs/volume:Volume") if tags_of(v).get("component") == "vector-store")
    assert {f"aws:ResourceTag/{k}": v for k, v in tags_of(volume).items() if f"aws:ResourceTag/{k}" in conditions} \
        == conditions
    assert conditions["aws:ResourceTag/component"] == "vector-store"


def test_the_estimate_prices_the_hourly_copies(prod_with_docdb: Plan) -> None:
    from planning.cost_report import stack_cost, stack_report

    report = stack_report(prod_with_docdb)  # the store changes no usage assumption
    usage = stack_cost("prod").usage
    assert usage.dr_replication_gb > 0
    # S3 CRR, RDS backup replication, the DocumentDB global cluster and the hourly copies
    share = usage.dr_replication_gb / 4
    lines = [line for line in report.lines if line.resource == "backup-hourly-plan"]
    keys = {(line.price_key, line.region) for line in lines}
    assert ("backup.transfer.inter-region", None) in keys or ("backup.transfer.inter-region", "us-east-1") in keys
    transfer = next(line for line in lines if line.price_key == "backup.transfer.inter-region")
    assert transfer.quantity == pytest.approx(share) and transfer.monthly_usd > 0
    dr_storage = [line for line in lines if line.price_key == "backup.warm" and line.region == DR_REGION]
    assert dr_storage and dr_storage[0].monthly_usd > 0
