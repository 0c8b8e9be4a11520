"""Vector store snapshots in two retention classes: a sub-daily schedule (the prod tier's 30 minutes, for the 1 h RPO)
keeps its frequent runs under a recent prefix that S3 expires after recentSnapshotRetentionDays, on the data bucket
and on its DR replica (replication does not copy lifecycle rules); the first run of each day is kept
snapshotRetentionDays. The scripts choose the class; the config bounds the recent window."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from components.data.vector import snapshot_script
from planning.cost_report import stack_report
from planning.engine import with_paths
from tests.harness import config_error, plan
from tests.policies.planting import edit, violations

LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKETS = ("data-data-lifecycle", "data-data-replica-lifecycle")


def _rules(result, name: str) -> dict[str, dict]:
    return {r["filter"]["prefix"]: r for r in result.one(LIFECYCLE, name).props["rules"] if r["filter"]["prefix"]}


@pytest.mark.parametrize(("store", "recent"), [("qdrant", "vector-store/qdrant/recent/"),
                                                ("weaviate", "vector-store/weaviate/recent-")])
def test_a_sub_daily_schedule_expires_its_recent_prefix_on_both_buckets(store, recent):
    result = plan("prod", {"dataTier.vectorStore": store})  # the prod tier snapshots every 30 minutes
    for name in BUCKETS:
        rules = _rules(result, name)
        assert rules[recent]["expiration"] == {"days": 1}, name
        assert rules[recent]["noncurrentVersionExpiration"] == {"noncurrentDays": 1}, name
        # The daily class keeps the store's whole prefix for snapshotRetentionDays (the prod tier's 30).
        assert rules[f"vector-store/{store}/"]["expiration"] == {"days": 30}, name


def test_a_daily_schedule_has_no_recent_class():
    result = plan("staging", {"dataTier.vectorStore": "qdrant"})  # staging: '15 3 * * *'
    assert set(_rules(result, "data-data-lifecycle")) == {"vector-store/qdrant/"}


def test_the_recent_window_follows_the_config():
    result = plan("prod", {"dataTier.vectorStore": "qdrant", "dataTier.qdrant.recentSnapshotRetentionDays": 2})
    for name in BUCKETS:
        assert _rules(result, name)["vector-store/qdrant/recent/"]["expiration"] == {"days": 2}


def test_a_sub_daily_schedule_may_not_keep_its_frequent_snapshots_long():
    err = config_error("prod", {"dataTier.vectorStore": "qdrant", "dataTier.qdrant.recentSnapshotRetentionDays": 10})
    reasons = dict(err.issues)
    assert list(reasons) == ["dataTier.qdrant.recentSnapshotRetentionDays"]
    assert "48 times a day" in reasons["dataTier.qdrant.recentSnapshotRetentionDays"]


def test_the_snapshot_job_states_both_retention_classes_for_the_estimate():
    annotations = plan("prod", {"dataTier.vectorStore": "qdrant"}).one(
        "kubernetes:batch/v1:CronJob", "vector-store-snapshot").props["metadata"]["annotations"]
    assert annotations["agent-platform/snapshot-retention-days"] == "30"
    assert annotations["agent-platform/snapshot-recent-retention-days"] == "1"
    assert annotations["agent-platform/snapshot-noncurrent-days"] == "90"  # prod tier buckets


def test_on_vms_the_daily_snapshot_is_priced_with_its_noncurrent_days():
    overrides = {"dataTier.vectorStore": "qdrant"}
    result = plan("dev", overrides)  # the VM runtime: a daily timer
    tags = result.one("aws:ebs/volume:Volume", "vector-store-data").props["tags"]
    assert tags["agent-platform/snapshot-noncurrent-days"] == "7"  # dev tier buckets.noncurrentVersionExpirationDays
    report = stack_report(result, with_paths("dev", overrides))
    snapshots = [line for line in report.of_resource("vector-store-data")
                 if line.price_key == "s3.standard.storage" and "snapshots" in line.item]
    # dev: vectorSnapshotGb 1, qdrant snapshotRetentionDays 3, + 1 day to midnight UTC + 7 noncurrent days.
    assert [line.quantity for line in snapshots] == [pytest.approx(1 * (3 + 1 + 7))]


# --- the review: vector-store-snapshots-bounded -------------------------------------------------------------------

BOUNDED = "vector-store-snapshots-bounded"


def _without_recent(inputs: dict) -> None:
    inputs["rules"] = [r for r in inputs["rules"] if "/recent" not in (r.get("filter") or {}).get("prefix", "")]


def _recent_days(days: int):
    def change(inputs: dict) -> None:
        for rule in inputs["rules"]:
            if "/recent" in (rule.get("filter") or {}).get("prefix", ""):
                rule["expiration"]["days"] = days
    return change


@pytest.mark.parametrize("store", ["qdrant", "weaviate"])
def test_the_planned_sub_daily_store_passes_the_bound(store):
    assert not violations(plan("prod", {"dataTier.vectorStore": store}), BOUNDED)
    assert not violations(plan("staging", {"dataTier.vectorStore": store}), BOUNDED)


@pytest.mark.parametrize("bucket", BUCKETS)
def test_a_bucket_keeping_every_30_minute_snapshot_fails_the_review(bucket):
    planned = plan("prod", {"dataTier.vectorStore": "qdrant"})
    found = violations(edit(LIFECYCLE, bucket, _without_recent)(planned), BOUNDED)
    assert [v.urn.rsplit("::", 1)[-1] for v in found] == [bucket]
    assert violations(edit(LIFECYCLE, bucket, _recent_days(10))(planned), BOUNDED)


def test_a_daily_schedule_needs_no_recent_rule():
    planned = plan("staging", {"dataTier.vectorStore": "qdrant"})
    assert not violations(edit(LIFECYCLE, "data-data-lifecycle", _without_recent)(planned), BOUNDED)


# --- the scripts choose the class: run with curl and aws replaced by recorders ------------------------------------


def _tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\necho \"{name} $*\" >> \"$CALLS\"\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run(tmp_path: Path, kind: str, *, curl: str, aws: str, env: dict[str, str]) -> list[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(bin_dir, "curl", curl)
    _tool(bin_dir, "aws", aws)
    (tmp_path / "key").write_text("secret")
    script = tmp_path / "snapshot.sh"
    script.write_text(snapshot_script(kind))
    calls = tmp_path / "calls"
    subprocess.run(["/bin/sh", str(script)], check=True, capture_output=True, timeout=30, env={
        "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls), "API_KEY_FILE": str(tmp_path / "key"),
        **env})
    return calls.read_text().splitlines()


QDRANT_CURL = """case "$*" in
  *"-X POST"*) echo '{"result":{"name":"full-1.snapshot","creation_time":null,"size":42}}' ;;
  *"-X DELETE"*) echo '{"result":true}' ;;
  *) echo snapshot-bytes ;;
esac"""
QDRANT_ENV = {"HOSTS": "qdrant-0.qdrant-headless", "PORT": "6333", "BUCKET": "data", "PREFIX": "vector-store/qdrant/",
              "KMS_KEY_ARN": "arn:aws:kms:us-east-1:111111111111:key/k"}


@pytest.mark.parametrize(("daily_exists", "expected"), [(False, "daily"), (True, "recent")])
def test_qdrant_writes_the_first_snapshot_of_the_day_as_daily_and_the_others_as_recent(tmp_path, daily_exists,
                                                                                          expected):
    code = 0 if daily_exists else 1
    listing = f'case "$*" in "s3 ls"*) exit {code} ;; *) cat > /dev/null ;; esac'
    calls = _run(tmp_path, "qdrant", curl=QDRANT_CURL, aws=listing, env=QDRANT_ENV)
    copies = [c for c in calls if c.startswith("aws s3 cp")]
    assert len(copies) == 1
    destination = copies[0].split()[4]
    assert destination.startswith(f"s3://data/vector-store/qdrant/{expected}/")
    assert destination.endswith("/qdrant-0/full-1.snapshot")


DAY = "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]"


@pytest.mark.parametrize(("status", "expected"), [("", r"daily-\d{8}"), ("SUCCESS", r"recent-\d{8}-\d{6}"),
                                                  ("STARTED", r"recent-\d{8}-\d{6}"), ("FAILED", r"daily-\d{8}-2")])
def test_weaviate_names_the_first_backup_of_the_day_daily_and_the_others_recent(tmp_path, status, expected):
    # Before the POST, today's first daily id answers ``status`` (an error body when empty: no such backup) and the
    # retry ids do not exist; after the POST every GET reports SUCCESS.
    body = f'{{"status":"{status}"}}' if status else '{"error":[{"message":"not found"}]}'
    missing = '{"error":[{"message":"not found"}]}'
    curl = ('if [ -e "$CALLS.posted" ]; then echo \'{"status":"SUCCESS"}\'; exit 0; fi\n'
            'case "$*" in\n'
            '  *"-X POST"*) touch "$CALLS.posted"; echo \'{}\' ;;\n'
            f'  *"/v1/backups/s3/daily-"{DAY}) echo \'{body}\' ;;\n'
            f"  *) echo '{missing}' ;;\n"
            'esac')
    calls = _run(tmp_path, "weaviate", curl=curl, aws="exit 1",
                 env={"STORE_URL": "http://weaviate:8080", "TIMEOUT_SECONDS": "30"})
    posts = [c for c in calls if "-X POST" in c]
    assert len(posts) == 1
    assert re.search(rf'\{{"id":"{expected}"\}}', posts[0]), posts[0]
