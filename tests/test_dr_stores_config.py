"""The optional stores' DR settings: refused in words before anything is registered, accepted when they meet the RPO.

- A document store that replicates to backup.drRegion joins a DocumentDB global cluster, which db.t3, db.t4g and
  db.r4 instances cannot (DocumentDB developer guide, global clusters limitations).
- A dedicated vector store on EKS reaches the DR region through its snapshots in the replicated data bucket: the
  schedule's longest gap plus S3 RTC's 15 minutes must fit backup.rpoTargetMinutes.
"""

from __future__ import annotations

import pytest
from agent_contract.schedules import max_gap_minutes

from tests.config_support import assert_words, reason, rejected, validated
from tests.harness import config_error

DOCS = {"dataTier.documentStore": {"databaseName": "app"}}


@pytest.mark.parametrize(("schedule", "gap"), [
    ("*/30 * * * *", 30), ("0,30 * * * *", 30), ("0,50 * * * *", 50), ("15 * * * *", 60),
    ("0 */2 * * *", 120), ("15 3 * * *", 1440), ("0 2,14 * * *", 720), ("*/7 * * * *", 7),
    ("0,45 * * * *", 45),
])
def test_the_longest_gap_of_a_schedule(schedule: str, gap: int) -> None:
    """*/7 runs at :00 ... :56 and again at :00 (4 minutes): its longest gap is 7; 0,45 leaves 45 then 15."""
    assert max_gap_minutes(schedule) == gap


@pytest.mark.parametrize("schedule", ["0 2 * * 1", "0 2 1 * *", "not a schedule", "61 * * * *", "*/0 * * * *"])
def test_schedules_that_skip_days_or_do_not_parse_give_no_gap(schedule: str) -> None:
    assert max_gap_minutes(schedule) is None


def test_a_t_class_document_store_cannot_join_a_global_cluster() -> None:
    err = rejected("staging", {**DOCS, "backup.drRegion": "us-west-2"})
    text = reason(err, "dataTier.documentStore.instanceClass")
    assert "db.t4g.medium" in text and "global cluster" in text and "db.r6g.large" in text
    assert_words(text)


def test_a_t_class_document_store_is_fine_without_replication() -> None:
    assert validated("staging", DOCS).data_tier.document_store is not None
    cfg = validated("staging", {**DOCS, "backup.drRegion": "us-west-2", "backup.replication.enabled": False})
    assert not cfg.backup.replicates


def test_an_r_class_document_store_replicates() -> None:
    cfg = validated("staging", {**DOCS, "backup.drRegion": "us-west-2",
                                "dataTier.documentStore.instanceClass": "db.r6g.large"})
    assert cfg.needs_standby_network


def test_prod_snapshots_a_vector_store_every_30_minutes() -> None:
    cfg = validated("prod", {"dataTier.vectorStore": "qdrant"})
    assert cfg.data_tier.qdrant.snapshot_schedule == "*/30 * * * *"
    assert cfg.backup.rpo_target_minutes == 60


@pytest.mark.parametrize("schedule", ["15 3 * * *", "0 * * * *", "0,50 * * * *"])
def test_a_vector_store_snapshotting_too_rarely_for_the_rpo_is_refused(schedule: str) -> None:
    err = rejected("prod", {"dataTier.vectorStore": "weaviate", "dataTier.weaviate.snapshotSchedule": schedule})
    text = reason(err, "dataTier.weaviate.snapshotSchedule")
    assert "15 minutes of S3 replication" in text and "*/30 * * * *" in text
    assert_words(text)


def test_without_rtc_the_vector_store_has_no_bound() -> None:
    err = rejected("prod", {"dataTier.vectorStore": "qdrant", "backup.replication.replicationTimeControl": False})
    assert "no time bound" in reason(err, "dataTier.qdrant.snapshotSchedule")


def test_the_vm_runtime_meets_the_rpo_with_the_same_schedule() -> None:
    """On VMs a systemd timer snapshots to the same replicated bucket: a daily one is refused, */30 accepted."""
    overrides = {"dataTier.vectorStore": "qdrant", "backup.drRegion": "us-west-2"}
    assert "15 minutes of S3 replication" in reason(rejected("dev", overrides), "dataTier.qdrant.snapshotSchedule")
    cfg = validated("dev", {**overrides, "dataTier.qdrant.snapshotSchedule": "*/30 * * * *"})
    assert cfg.backup.replicates


@pytest.mark.parametrize("cidr", ["10.0.0.0/8", "10.255.0.0/27", "8.8.8.0/24", "not-a-cidr"])
def test_the_standby_cidr_is_a_private_block_of_useful_size(cidr: str) -> None:
    err = rejected("prod", {"backup.replication.standbyCidr": cidr})
    text = reason(err, "backup.replication.standbyCidr")
    assert "10.255.0.0/24" in text
    assert_words(text)


def test_a_document_store_snapshot_needs_a_document_store() -> None:
    arn = "arn:aws:rds:us-west-2:111122223333:cluster-snapshot:gatekeeper-prod-promoted"
    err = config_error("prod-dr", {"recovery.documentStoreSnapshotArn": arn})
    assert "dataTier.documentStore" in reason(err, "recovery.documentStoreSnapshotArn")
    cfg = validated("prod-dr", {"recovery.documentStoreSnapshotArn": arn, **DOCS})
    assert cfg.recovery is not None and cfg.recovery.document_store_snapshot_arn == arn


def test_a_document_store_snapshot_must_be_in_the_dr_region() -> None:
    arn = "arn:aws:rds:us-east-1:111122223333:cluster-snapshot:gatekeeper-prod-promoted"
    err = rejected("prod-dr", {"recovery.documentStoreSnapshotArn": arn, **DOCS})
    assert "us-west-2" in reason(err, "recovery.documentStoreSnapshotArn")


def test_a_dr_stack_restores_its_document_store_from_the_promoted_secondary_snapshot() -> None:
    from tests.harness import plan

    arn = "arn:aws:rds:us-west-2:111122223333:cluster-snapshot:agent-platform-prod-docdb-dr-promoted"
    restored = plan("prod-dr", {**DOCS, "recovery.documentStoreSnapshotArn": arn})
    cluster = restored.one("aws:docdb/cluster:Cluster", "data-docdb")
    assert cluster.props["snapshotIdentifier"] == arn
    # The rebuilt store replicates onward like any protected one (prod-dr's own drRegion, us-east-2).
    assert "globalClusterIdentifier" in cluster.ignore_changes
    fresh = plan("prod-dr", DOCS).one("aws:docdb/cluster:Cluster", "data-docdb")
    assert "snapshotIdentifier" not in fresh.props
