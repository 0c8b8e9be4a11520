"""The VM runtime's vector store snapshots on any every-day schedule, so it meets the RPO on region loss as on EKS.

Its systemd timer runs the schedule's times (systemd.time(7) calendar events, checked here with the real
``systemd-analyze calendar`` of the machine); the data volume carries the schedule's runs a day and longest gap as
tags, which the cost estimate (every run priced) and the review (``dr-cross-region-replication``: gap + 15 minutes
of S3 RTC <= RPO; ``vector-store-snapshots-bounded``: the recent snapshots expire) read.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess

import pytest

from components.services.vm.vector_store import on_calendar
from planning.cost_report import stack_report
from planning.engine import with_paths
from planning.policy_config import facts, merged
from planning.review import load_policy_config
from tests.config_support import assert_words, reason, rejected, validated
from tests.harness import plan, review
from tests.policies.planting import edit

VOLUME = "aws:ebs/volume:Volume"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
EVERY_30 = "*/30 * * * *"
# Staging on the VM runtime with a Qdrant store replicated to a DR region (staging replicates when it names one).
VM_DR = {"runtime": "vm", "dataTier.vectorStore": "qdrant", "backup.drRegion": "us-west-2",
         "dataTier.qdrant.snapshotSchedule": EVERY_30}
GAP_TAG = "agent-platform/snapshot-max-gap-minutes"
RUNS_TAG = "agent-platform/snapshot-runs-per-day"


def _settings() -> dict:
    """The policy settings this stack would be reviewed with (generated from its config: DR required)."""
    return merged(load_policy_config("staging"), facts(validated("staging", VM_DR)))


def _violations(planned, policy: str) -> list:
    entry = _settings().get(policy, {})
    entry = {**(entry if isinstance(entry, dict) else {}), "enforcementLevel": "mandatory"}
    settings = {"all": "disabled", policy: entry}
    return review(planned, settings, only={policy}).violations


def _elapses(calendar: str, count: int) -> list[str]:
    """The first ``count`` times systemd would run ``calendar`` from 2026-01-01 00:00 UTC (HH:MM)."""
    out = subprocess.run(["systemd-analyze", "calendar", "--base-time=2025-12-31 23:59:59 UTC",
                          f"--iterations={count}", calendar], check=True, capture_output=True, text=True,
                         env={"TZ": "UTC", "PATH": "/usr/bin:/bin"}).stdout
    return re.findall(r"2026-01-0[12] (\d\d:\d\d):00 UTC", out)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize(("schedule", "first_runs"), [
    ("15 3 * * *", ["03:15", "03:15"]),  # daily: the same time the next day
    (EVERY_30, ["00:00", "00:30", "01:00", "01:30"]),
    ("0 2,14 * * *", ["02:00", "14:00", "02:00"]),
    ("*/20 1-2 * * *", ["01:00", "01:20", "01:40", "02:00", "02:20", "02:40", "01:00"]),
    ("5,35 */6 * * *", ["00:05", "00:35", "06:05", "06:35", "12:05"]),
])
def test_the_timer_runs_at_the_times_the_cron_schedule_names(schedule, first_runs):
    assert _elapses(on_calendar(schedule), len(first_runs)) == first_runs


def test_the_vm_store_snapshots_every_30_minutes_and_tags_its_volume_with_the_cadence():
    result = plan("staging", VM_DR)
    text = base64.b64decode(result.one(TEMPLATE, "vector-store-template").props["userData"]).decode()
    assert f"OnCalendar={on_calendar(EVERY_30)}" in text
    tags = result.one(VOLUME, "vector-store-data").props["tags"]
    assert (tags[RUNS_TAG], tags[GAP_TAG]) == ("48", "30")
    assert tags["agent-platform/snapshot-recent-retention-days"] == "1"
    # The recent class expires on the data bucket and on its replica, as on EKS.
    for name in ("data-data-lifecycle", "data-data-replica-lifecycle"):
        prefixes = {r["filter"]["prefix"]: r for r in result.one(LIFECYCLE, name).props["rules"]}
        assert prefixes["vector-store/qdrant/recent/"]["expiration"] == {"days": 1}, name
    assert not review(result, _settings()).mandatory


def test_every_run_of_the_vm_timer_is_priced():
    result = plan("staging", VM_DR)
    report = stack_report(result, with_paths("staging", dict(VM_DR)))
    lines = [line for line in report.of_resource("vector-store-data") if "snapshot runs a day" in line.item]
    assert lines and all("48 snapshot runs a day" in line.item for line in lines)
    storage = [line for line in report.of_resource("vector-store-data")
               if line.price_key == "s3.standard.storage" and "more runs a day under the recent prefix" in line.item]
    assert len(storage) == 2  # the data bucket and its replica


def test_a_daily_vm_timer_is_refused_when_the_store_replicates():
    err = rejected("staging", {**VM_DR, "dataTier.qdrant.snapshotSchedule": "15 3 * * *"})
    text = reason(err, "dataTier.qdrant.snapshotSchedule")
    assert "15 minutes of S3 replication" in text and EVERY_30 in text
    assert_words(text)


def test_a_daily_vm_timer_is_fine_without_a_dr_region():
    cfg = validated("dev", {"dataTier.vectorStore": "qdrant"})
    assert cfg.runtime == "vm" and cfg.data_tier.qdrant.snapshot_schedule == "15 3 * * *"


@pytest.mark.parametrize("schedule", ["0 3 * * 1", "0 3 1 * *"])
def test_a_vm_timer_that_skips_days_is_refused(schedule):
    err = rejected("dev", {"dataTier.vectorStore": "qdrant", "dataTier.qdrant.snapshotSchedule": schedule})
    text = reason(err, "dataTier.qdrant.snapshotSchedule")
    assert "every day" in text and schedule in text
    assert_words(text)


def _tag(key: str, value: str | None):
    def change(inputs: dict) -> None:
        if value is None:
            inputs["tags"].pop(key)
        else:
            inputs["tags"][key] = value
    return change


@pytest.mark.parametrize("gap", ["1440", None])
def test_the_review_fails_a_vm_store_whose_snapshots_miss_the_rpo(gap):
    planned = plan("staging", VM_DR)
    assert not _violations(planned, "dr-cross-region-replication")
    found = _violations(edit(VOLUME, "vector-store-data", _tag(GAP_TAG, gap))(planned), "dr-cross-region-replication")
    assert [v.urn.rsplit("::", 1)[-1] for v in found] == ["vector-store-data"]
    assert ("1440 minutes apart" if gap else GAP_TAG) in found[0].message


def test_the_review_fails_a_frequent_vm_timer_whose_recent_snapshots_never_expire():
    planned = plan("staging", VM_DR)

    def without_recent(inputs: dict) -> None:
        inputs["rules"] = [r for r in inputs["rules"] if "/recent" not in (r.get("filter") or {}).get("prefix", "")]

    assert not _violations(planned, "vector-store-snapshots-bounded")
    found = _violations(edit(LIFECYCLE, "data-data-lifecycle", without_recent)(planned),
                       "vector-store-snapshots-bounded")
    assert [v.urn.rsplit("::", 1)[-1] for v in found] == ["data-data-lifecycle"]
    assert "48 full snapshots a day" in found[0].message


def test_a_schedule_that_skips_days_gets_one_reason_when_the_store_replicates():
    key = "dataTier.qdrant.snapshotSchedule"
    on_vm = rejected("staging", {**VM_DR, key: "0 3 * * 1"})
    assert [k for k, _ in on_vm.issues].count(key) == 1
    assert "every day" in reason(on_vm, key)
    on_eks = rejected("prod", {"dataTier.vectorStore": "qdrant", key: "0 3 * * 1"})
    text = reason(on_eks, key)
    assert "does not run every day" in text and "?" not in text
    assert_words(text)
