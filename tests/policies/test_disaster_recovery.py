"""Disaster recovery policies on the real prod plan: each store's missing or weakened cross-region copy is named."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from planning import policy_config
from planning.engine import ROOT
from planning.model import Plan
from planning.review import Violation, review
from planning.stacks import StackRef
from tests.harness import plan, plan_file
from tests.policies.planting import Change, drop, edit, only, violations

REPLICATION = "dr-cross-region-replication"
RESTORE = "dr-restore-testing"
DB_BACKUPS = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
SECRET = "aws:secretsmanager/secret:Secret"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
RESTORE_PLAN = "aws:backup/restoreTestingPlan:RestoreTestingPlan"


@pytest.fixture(scope="module")
def prod() -> Plan:
    return plan("prod")


def _without_rtc(inputs: dict[str, Any]) -> None:
    del inputs["rules"][0]["destination"]["replicationTime"]


def _without_kms_objects(inputs: dict[str, Any]) -> None:
    del inputs["rules"][0]["sourceSelectionCriteria"]


def _replica_without_key(inputs: dict[str, Any]) -> None:
    inputs["replicas"] = [{"region": inputs["replicas"][0]["region"]}]


PLANTINGS: dict[str, tuple[Change, str]] = {
    "database backups not replicated": (drop(DB_BACKUPS, "data-postgres-dr-backups"), "data-postgres"),
    "replicated backups without a key": (edit(DB_BACKUPS, "data-postgres-dr-backups", lambda i: i.pop("kmsKeyId")),
                                         "kmsKeyId"),
    "data bucket not replicated": (drop(BUCKET_REPLICATION, "data-data-replication"), "data-data"),
    "replication without RTC": (edit(BUCKET_REPLICATION, "data-data-replication", _without_rtc),
                                "Replication Time Control"),
    "SSE-KMS objects left out": (edit(BUCKET_REPLICATION, "data-data-replication", _without_kms_objects),
                                 "SSE-KMS"),
    "secret without replica": (edit(SECRET, "data-jwt-secret", lambda i: i.pop("replicas")), "data-jwt-secret"),
    "secret replica on the AWS key": (edit(SECRET, "data-encryption-key", _replica_without_key), "kmsKeyId"),
    "images not replicated": (drop(ECR_REPLICATION, "images-replication"), "not replicated"),
}


def test_the_prod_plan_keeps_every_store_in_the_dr_region(prod: Plan) -> None:
    assert violations(prod, REPLICATION) == []
    assert violations(prod, RESTORE) == []


@pytest.mark.parametrize("what", PLANTINGS)
def test_a_missing_or_weak_replication_is_named(prod: Plan, what: str) -> None:
    change, needle = PLANTINGS[what]
    found = violations(change(prod), REPLICATION)
    assert found, f"{what}: not reported"
    assert any(needle in v.message for v in found), [v.message for v in found]


def test_an_rpo_tighter_than_backup_replication_asks_for_a_read_replica(prod: Plan) -> None:
    config = only(REPLICATION, "prod")
    config[REPLICATION]["maxRpoMinutes"] = 20  # RDS backup replication lags up to 30 minutes, RTC 15
    found = review(prod, config, only={REPLICATION}).violations
    assert [v for v in found if "read replica" in v.message]
    assert not [v for v in found if "RTC" in v.message]


def test_restore_tests_must_also_restore_in_the_dr_region(prod: Plan) -> None:
    found = violations(drop(RESTORE_PLAN, "backup-dr-restore-tests")(prod), RESTORE)
    assert [v for v in found if "backup-dr-vault" in v.message]


def test_stacks_without_a_dr_requirement_are_not_asked(prod: Plan) -> None:
    config = only(REPLICATION, "prod")
    config[REPLICATION]["required"] = False
    planted = drop(BUCKET_REPLICATION, "data-data-replication")(prod)
    assert not review(planted, config, only={REPLICATION}).violations


DR_COPIES_FOLLOW_THE_PRIMARY_RULES = {
    "s3-public-access-blocked": drop("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                                     "data-data-replica-public-access-block"),
    "s3-tls-only": drop("aws:s3/bucketPolicy:BucketPolicy", "data-data-replica-policy"),
    "kms-key-rotation-enabled": edit("aws:kms/key:Key", "data-dr-objects-key",
                                     lambda i: i.update(enableKeyRotation=False)),
}


@pytest.mark.parametrize("policy", DR_COPIES_FOLLOW_THE_PRIMARY_RULES)
def test_dr_keys_and_buckets_pass_the_primary_rules(prod: Plan, policy: str) -> None:
    """The data policies are type-based: a weakened DR key or replica bucket is caught like a primary one."""
    assert violations(prod, policy) == []
    assert violations(DR_COPIES_FOLLOW_THE_PRIMARY_RULES[policy](prod), policy)


# --- stores only AWS Backup copies: the vector store's volumes (000, 003) ---------------------------------

HOURLY_PLAN = "aws:backup/plan:Plan"
HOURLY_SELECTIONS = ("backup-hourly-documentdb-selection", "backup-hourly-vector-volumes-selection")
BLUEPRINT_STORES = {"000-llm-agent-system": "storage-class", "003-bsc-rag": "storage-class"}


@pytest.fixture(scope="module", params=sorted(BLUEPRINT_STORES))
def with_store(request: pytest.FixtureRequest) -> tuple[Plan, str, dict[str, Any]]:
    """A blueprint's prod plan, the name of its store's resource, and its own policy config."""
    ref = StackRef.from_file(ROOT / "blueprints" / request.param / "Pulumi.prod.yaml")
    return plan_file(ref.path), BLUEPRINT_STORES[request.param], policy_config.for_stack(ref)


def _found(planned: Plan, config: dict[str, Any]) -> list[Violation]:
    return review(planned, config, only={REPLICATION}).violations


def _daily(inputs: dict[str, Any]) -> None:
    inputs["rules"][0]["schedule"] = "cron(0 5 * * ? *)"


def _every_two_hours(inputs: dict[str, Any]) -> None:
    inputs["rules"][0]["schedule"] = "cron(0 0/2 * * ? *)"


def _no_copy(inputs: dict[str, Any]) -> None:
    del inputs["rules"][0]["copyActions"]


def _wrong_component(inputs: dict[str, Any]) -> None:
    for condition in inputs["conditions"][0]["stringEquals"]:
        if condition["key"] == "aws:ResourceTag/component":
            condition["value"] = "other"


STORE_PLANTINGS: dict[str, Change] = {
    "no hourly plan": lambda p: drop(HOURLY_PLAN, "backup-hourly-plan")(
        drop("aws:backup/selection:Selection", *[s for s in HOURLY_SELECTIONS if _has(p, s)])(p)),
    "hourly plan made daily": edit(HOURLY_PLAN, "backup-hourly-plan", _daily),
    "hourly plan every two hours": edit(HOURLY_PLAN, "backup-hourly-plan", _every_two_hours),
    "no copy action": edit(HOURLY_PLAN, "backup-hourly-plan", _no_copy),
}


def _has(plan: Plan, name: str) -> bool:
    return any(r.name == name for r in plan.of_type("aws:backup/selection:Selection"))


def test_the_blueprint_stores_are_copied_hourly(with_store: tuple[Plan, str, dict[str, Any]]) -> None:
    planned, _, config = with_store
    assert _found(planned, config) == []
    rules = [r for p in planned.of_type(HOURLY_PLAN) if p.name == "backup-hourly-plan" for r in p.inputs["rules"]]
    assert [r["schedule"] for r in rules] == ["cron(0 * ? * * *)"]  # AWS Backup's shortest interval: 60 minutes
    assert rules[0]["copyActions"][0]["destinationVaultArn"].startswith("arn:aws:backup:us-west-2:")


@pytest.mark.parametrize("what", STORE_PLANTINGS)
def test_a_store_without_an_hourly_copy_fails(with_store: tuple[Plan, str, dict[str, Any]], what: str) -> None:
    planned, store, config = with_store
    found = _found(STORE_PLANTINGS[what](planned), config)
    assert [v for v in found if store in v.message], f"{what}: {[v.message for v in found]}"


def test_the_vector_volumes_selection_takes_only_the_vector_store(with_store: tuple[Plan, str, dict[str, Any]]) -> None:
    planned, store, config = with_store
    planted = edit("aws:backup/selection:Selection", "backup-hourly-vector-volumes-selection", _wrong_component)
    assert [v for v in _found(planted(planned), config) if store in v.message]


def test_an_rpo_under_an_hour_is_beyond_aws_backup(with_store: tuple[Plan, str, dict[str, Any]]) -> None:
    planned, store, config = with_store
    config = copy.deepcopy(config)
    config[REPLICATION]["maxRpoMinutes"] = 45
    found = _found(planned, config)
    assert [v for v in found if store in v.message and "shortest interval" in v.message]


def test_the_vm_vector_volume_is_judged_too() -> None:
    """The VM runtime's data volume is a planned EBS volume (component=vector-store), judged like the StorageClass."""
    vm = plan("dev", {"dataTier.vectorStore": "qdrant", "dataTier.qdrant.snapshotSchedule": "*/30 * * * *",
                      "backup.drRegion": "us-west-2"})
    config = only(REPLICATION, "prod")
    assert not [v for v in review(vm, config, only={REPLICATION}).violations
                if "vector-store-data" in v.message]
    planted = edit(HOURLY_PLAN, "backup-hourly-plan", _no_copy)(vm)
    assert [v for v in review(planted, config, only={REPLICATION}).violations
            if "vector-store-data" in v.message]


# --- DocumentDB (blueprint 004): a global cluster with a headless secondary in the DR region -------------------

DOCDB = "aws:docdb/cluster:Cluster"
DOCDB_INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
GLOBAL = "aws:docdb/globalCluster:GlobalCluster"
RESTORE_SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"


@pytest.fixture(scope="module")
def gatekeeper() -> tuple[Plan, dict[str, Any]]:
    ref = StackRef.from_file(ROOT / "blueprints" / "004-gatekeeper" / "Pulumi.prod.yaml")
    return plan_file(ref.path), policy_config.for_stack(ref)


def _one(planned: Plan, type_: str, name: str) -> Any:
    found = [r for r in planned.of_type(type_) if r.name == name]
    assert len(found) == 1, f"{type_} {name}: {len(found)}"
    return found[0]


def test_documentdb_joins_a_global_cluster_with_a_headless_secondary_in_the_dr_region(
        gatekeeper: tuple[Plan, dict[str, Any]]) -> None:
    planned, config = gatekeeper
    assert _found(planned, config) == []
    primary, secondary = _one(planned, DOCDB, "data-docdb"), _one(planned, DOCDB, "data-docdb-dr")
    glob = _one(planned, GLOBAL, "data-docdb-global")
    # The existing cluster joins through the global cluster's source, never through its own input (which the
    # provider refuses to add to an existing cluster), and ignores the identifier it reads back afterwards.
    assert glob.property_dependencies["sourceDbClusterIdentifier"] == (primary.urn,)
    assert "globalClusterIdentifier" not in primary.inputs
    assert "globalClusterIdentifier" in primary.ignore_changes
    assert secondary.property_dependencies["globalClusterIdentifier"] == (glob.urn,)
    assert secondary.inputs["engineVersion"] == primary.inputs["engineVersion"]
    assert secondary.inputs["storageEncrypted"] is True
    assert secondary.property_dependencies["kmsKeyId"] == (_one(planned, "aws:kms/key:Key",
                                                                 "data-dr-documents-key").urn,)
    assert secondary.provider and "aws-dr" in secondary.provider and primary.provider != secondary.provider
    assert glob.protect and secondary.protect and glob.inputs["deletionProtection"] is True
    # Headless: no instance belongs to the secondary (the primary keeps its three).
    members = [i for i in planned.of_type(DOCDB_INSTANCE) if i.property_dependencies.get("clusterIdentifier")]
    assert {i.property_dependencies["clusterIdentifier"] for i in members} == {(primary.urn,)}
    # The hourly AWS Backup copy stays as the second line of defence.
    assert _has(planned, "backup-hourly-documentdb-selection")


DOCDB_PLANTINGS: dict[str, Change] = {
    "no global cluster": lambda p: drop(GLOBAL, "data-docdb-global")(drop(DOCDB, "data-docdb-dr")(p)),
    "global cluster without a secondary": drop(DOCDB, "data-docdb-dr"),
}


@pytest.mark.parametrize("what", DOCDB_PLANTINGS)
def test_documentdb_without_a_cross_region_secondary_fails(gatekeeper: tuple[Plan, dict[str, Any]],
                                                           what: str) -> None:
    planned, config = gatekeeper
    found = _found(DOCDB_PLANTINGS[what](planned), config)
    assert [v for v in found if "data-docdb " in v.message and "global cluster" in v.message], \
        [v.message for v in found]


def test_a_documentdb_secondary_needs_a_key_of_its_region(gatekeeper: tuple[Plan, dict[str, Any]]) -> None:
    planned, config = gatekeeper
    found = _found(edit(DOCDB, "data-docdb-dr", lambda i: i.pop("kmsKeyId"))(planned), config)
    assert [v for v in found if "data-docdb-dr" in v.message and "kmsKeyId" in v.message]


def test_the_dr_restore_tests_restore_the_database_copies_into_the_standby_network(
        gatekeeper: tuple[Plan, dict[str, Any]]) -> None:
    planned, config = gatekeeper
    assert review(planned, config, only={RESTORE}).violations == []
    standby = {r.urn for r in planned.of_type("aws:ec2/subnet:Subnet") if r.name.startswith("standby-isolated-")}
    assert len(standby) == 3
    sealed = _one(planned, "aws:ec2/securityGroup:SecurityGroup", "backup-dr-restore-tests-sg")
    assert sealed.inputs["ingress"] == [] and sealed.inputs["egress"] == []
    assert sealed.property_dependencies["vpcId"] == (_one(planned, "aws:ec2/vpc:Vpc", "standby-vpc").urn,)
    for name, group_type, group in (("backup-dr-restore-tests-database", "aws:rds/subnetGroup:SubnetGroup",
                                     "backup-dr-restore-tests-subnets"),
                                    ("backup-dr-restore-tests-document-store", "aws:docdb/subnetGroup:SubnetGroup",
                                     "backup-dr-restore-tests-docdb-subnets")):
        selection = _one(planned, RESTORE_SELECTION, name)
        subnets = _one(planned, group_type, group)
        assert set(subnets.property_dependencies["subnetIds"]) == standby
        assert subnets.urn in selection.property_dependencies["restoreMetadataOverrides"]
        assert sealed.urn in selection.property_dependencies["restoreMetadataOverrides"]
        assert selection.inputs["validationWindowHours"] == _one(
            planned, RESTORE_SELECTION, "backup-restore-tests-database").inputs["validationWindowHours"]


def test_the_primary_restore_tests_restore_the_document_store_like_the_database(
        gatekeeper: tuple[Plan, dict[str, Any]]) -> None:
    """The same bar as PostgreSQL in the stack's own region: restored into its isolated subnets, reached by nothing."""
    planned, _ = gatekeeper
    isolated = {r.urn for r in planned.of_type("aws:ec2/subnet:Subnet") if r.name.startswith("network-isolated-")}
    assert len(isolated) == 3
    sealed = _one(planned, "aws:ec2/securityGroup:SecurityGroup", "backup-restore-tests-sg")
    assert sealed.inputs["ingress"] == [] and sealed.inputs["egress"] == []
    selection = _one(planned, RESTORE_SELECTION, "backup-restore-tests-document-store")
    assert selection.inputs["protectedResourceType"] == "DocumentDB"
    subnets = _one(planned, "aws:docdb/subnetGroup:SubnetGroup", "backup-restore-tests-docdb-subnets")
    assert set(subnets.property_dependencies["subnetIds"]) == isolated
    assert {subnets.urn, sealed.urn} <= set(selection.property_dependencies["restoreMetadataOverrides"])
    assert selection.inputs["validationWindowHours"] == _one(
        planned, RESTORE_SELECTION, "backup-restore-tests-database").inputs["validationWindowHours"]


def _no_overrides(inputs: dict[str, Any]) -> None:
    inputs.pop("restoreMetadataOverrides")


RESTORE_PLANTINGS: dict[str, tuple[Change, str]] = {
    "RDS copy not restored": (drop(RESTORE_SELECTION, "backup-dr-restore-tests-database"), "no RDS copy"),
    "DocumentDB copy not restored": (drop(RESTORE_SELECTION, "backup-dr-restore-tests-document-store"),
                                     "no DocumentDB copy"),
    "RDS copy restored into the default VPC": (
        edit(RESTORE_SELECTION, "backup-dr-restore-tests-database", _no_overrides), "dbSubnetGroupName"),
    "DocumentDB copy restored into the default VPC": (
        edit(RESTORE_SELECTION, "backup-dr-restore-tests-document-store", _no_overrides), "vpcSecurityGroupIds"),
}


@pytest.mark.parametrize("what", RESTORE_PLANTINGS)
def test_dr_restore_tests_without_the_database_copies_fail(gatekeeper: tuple[Plan, dict[str, Any]],
                                                           what: str) -> None:
    planned, config = gatekeeper
    change, needle = RESTORE_PLANTINGS[what]
    found = review(change(planned), config, only={RESTORE}).violations
    assert [v for v in found if needle in v.message], [v.message for v in found]


# --- vector stores on EKS: snapshots into the replicated data bucket, gap + RTC within the RPO ----------------

CRON_JOB = "kubernetes:batch/v1:CronJob"


@pytest.fixture(scope="module")
def bsc_rag() -> tuple[Plan, dict[str, Any]]:
    ref = StackRef.from_file(ROOT / "blueprints" / "003-bsc-rag" / "Pulumi.prod.yaml")
    return plan_file(ref.path), policy_config.for_stack(ref)


def _schedule(value: str) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        inputs["spec"]["schedule"] = value
    return change


def test_the_vector_snapshots_run_often_enough_for_the_rpo(bsc_rag: tuple[Plan, dict[str, Any]]) -> None:
    planned, config = bsc_rag
    job = [j for j in planned.of_type(CRON_JOB) if j.inputs["metadata"]["name"] == "vector-store-snapshot"]
    assert [j.inputs["spec"]["schedule"] for j in job] == ["*/30 * * * *"]
    assert config[REPLICATION]["maxRpoMinutes"] == 60
    assert _found(planned, config) == []


@pytest.mark.parametrize("schedule", ["0 2 * * *", "0 * * * *", "0,50 * * * *"])
def test_vector_snapshots_too_far_apart_fail(bsc_rag: tuple[Plan, dict[str, Any]], schedule: str) -> None:
    """Daily, hourly (60 + 15 > 60) and a 50-minute gap inside each hour (50 + 15 > 60) all miss the RPO."""
    planned, config = bsc_rag
    job = next(j for j in planned.of_type(CRON_JOB) if j.inputs["metadata"]["name"] == "vector-store-snapshot")
    found = _found(edit(CRON_JOB, job.name, _schedule(schedule))(planned), config)
    assert [v for v in found if job.name in v.message and "15 minutes of S3" in v.message], \
        [v.message for v in found]
