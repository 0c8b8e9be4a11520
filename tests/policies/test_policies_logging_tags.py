"""CloudWatch log groups and required tags."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from tests.policies.support import TAGS, UNKNOWN, found, res, secret, stack_config

ROOT = Path(__file__).resolve().parents[2]
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def log_group(**props: Any):
    return res(LOG_GROUP, "logs", {"name": "/agent-platform/x", "kmsKeyId": KEY_ARN, "retentionInDays": 90,
                                   "tags": TAGS, **props})


# --- log-group-kms-encrypted ------------------------------------------------------------------------------------


def test_log_group_with_kms_key_passes():
    assert found("log-group-kms-encrypted", log_group()) == []
    assert found("log-group-kms-encrypted", log_group(kmsKeyId=secret(KEY_ARN))) == []


def test_log_group_without_kms_key_is_reported():
    assert len(found("log-group-kms-encrypted", log_group(kmsKeyId=None))) == 1


def test_unknown_kms_key_reports_nothing():
    assert found("log-group-kms-encrypted", log_group(kmsKeyId=UNKNOWN)) == []


# --- log-group-retention --------------------------------------------------------------------------------------------


def test_retention_within_bounds_passes():
    assert found("log-group-retention", log_group()) == []


@pytest.mark.parametrize("days", [None, 0, 3, 3654])
def test_missing_or_out_of_bounds_retention_is_reported(days: int | None):
    assert len(found("log-group-retention", log_group(retentionInDays=days))) == 1


def test_prod_requires_a_year_of_logs():
    prod = stack_config("prod")
    (violation,) = found("log-group-retention", log_group(retentionInDays=90), config=prod)
    assert "365" in violation.message and violation.enforcement == "mandatory"
    assert found("log-group-retention", log_group(retentionInDays=365), config=prod) == []


def test_unknown_retention_reports_nothing():
    assert found("log-group-retention", log_group(retentionInDays=UNKNOWN)) == []


# --- required-tags -----------------------------------------------------------------------------------------------


def test_fully_tagged_resource_passes():
    assert found("required-tags", res("aws:ec2/vpc:Vpc", "vpc", {"tags": TAGS})) == []


def test_missing_and_empty_tags_are_reported():
    tags = {k: v for k, v in TAGS.items() if k not in ("owner", "cost-center")} | {"component": " "}
    node_group = res("aws:eks/nodeGroup:NodeGroup", "ng", {"tags": tags})
    messages = sorted(v.message for v in found("required-tags", node_group))
    assert messages == ["Missing required tag(s): owner, cost-center.",
                        "Required tag(s) with an empty value: component."]


def test_untagged_resource_is_reported_and_untaggable_one_is_not():
    violations = found("required-tags", res("aws:kms/key:Key", "key", {}), res("aws:ec2/route:Route", "route", {}))
    assert [v.resource_name for v in violations] == ["key"]


def test_unknown_tags_report_nothing():
    assert found("required-tags", res("aws:ec2/vpc:Vpc", "vpc", {"tags": UNKNOWN})) == []
    assert found("required-tags", res("aws:ec2/vpc:Vpc", "vpc", {"tags": {**TAGS, "owner": UNKNOWN}})) == []


def test_autoscaling_group_list_tags_are_understood():
    asg = "aws:autoscaling/group:Group"
    listed = [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in TAGS.items()]
    assert found("required-tags", res(asg, "asg", {"tags": listed})) == []
    assert len(found("required-tags", res(asg, "asg", {"tags": listed[1:]}))) == 1


def test_explicit_provider_default_tags_count():
    provider = res("pulumi:providers:aws", "aws-tagged", {"region": "us-east-1",
                                                           "defaultTags": json.dumps({"tags": TAGS})})
    vpc = res("aws:ec2/vpc:Vpc", "vpc", {"tags": {"Name": "vpc"}}, provider=provider)
    assert found("required-tags", provider, vpc) == []


def test_required_tags_come_from_config():
    config = {"required-tags": {"requiredTags": ["data-classification"]}}
    (violation,) = found("required-tags", res("aws:ec2/vpc:Vpc", "vpc", {"tags": TAGS}), config=config)
    assert "data-classification" in violation.message


def test_tags_are_advisory_in_dev_and_mandatory_in_prod():
    untagged = res("aws:ec2/vpc:Vpc", "vpc", {})
    assert [v.enforcement for v in found("required-tags", untagged, config=stack_config("dev"))] == ["advisory"]
    assert [v.enforcement for v in found("required-tags", untagged, config=stack_config("prod"))] == ["mandatory"]


# --- the generated taggable-type list -----------------------------------------------------------------------------


def test_taggable_types_were_generated_from_the_pinned_pulumi_aws():
    data = json.loads((ROOT / "policies/agent_policies/data/taggable_aws_types.json").read_text())
    pinned = re.search(r"^pulumi-aws==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned is not None
    assert data["pulumiAws"] == pinned.group(1) == metadata.version("pulumi-aws"), (
        "regenerate with: .venv/bin/python policies/tools/gen_taggable.py")
    assert {"aws:ec2/vpc:Vpc", "aws:eks/nodeGroup:NodeGroup", "aws:kms/key:Key",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"} <= set(data["mapTags"])
    assert data["listTags"] == ["aws:autoscaling/group:Group"]
    assert "aws:ec2/route:Route" not in data["mapTags"]
