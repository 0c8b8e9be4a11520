"""Events of AWS services reach the KMS-encrypted alert topic, each publisher held to its documented condition.

- ElastiCache cannot publish to an encrypted topic and sets aws:SourceOwner, not aws:SourceAccount (ElastiCache
  user guide, "Event Notifications and Amazon SNS"): its events go through an EventBridge rule instead.
- EventBridge sets aws:SourceAccount and aws:SourceArn = the rule's ARN; AWS Backup sets aws:SourceAccount and
  aws:SourceArn = the vault's ARN (each service's "Cross-service confused deputy prevention" page).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import STACKS
from tests.harness import plan

REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
# The events ElastiCache sends to EventBridge (EventBridge events reference, "Amazon ElastiCache events").
ELASTICACHE_EVENTS = {"Cache Created", "Cache Creation Failed", "Cache Deleted", "Snapshot Created",
                      "Snapshot Creation Failed", "Cache Update Failed", "Cache Updated", "Cache Limit Approaching",
                      "Snapshot Export Failed", "Snapshot Copy Failed"}


def _statements(document: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(document)["Statement"]}


@pytest.mark.parametrize("stack", STACKS)
def test_redis_events_reach_the_encrypted_topic_through_eventbridge(stack):
    p = plan(stack)
    redis = p.one(REDIS, "data-redis")
    assert "notificationTopicArn" not in redis.props, "ElastiCache cannot publish to a KMS-encrypted topic"
    rule = p.one(RULE, "data-redis-events")
    pattern = json.loads(rule.props["eventPattern"])
    assert pattern["source"] == ["aws.elasticache"]
    assert set(pattern["detail-type"]) <= ELASTICACHE_EVENTS
    assert {"Cache Update Failed", "Cache Limit Approaching", "Snapshot Creation Failed"} <= set(pattern["detail-type"])
    assert pattern["detail"]["SourceIdentifier"] == [{"prefix": redis.props["replicationGroupId"]}]
    target = p.one(TARGET, "data-redis-events")
    topic = p.one("aws:sns/topic:Topic", "alerts-topic")
    assert topic.urn in target.property_dependencies["arn"]
    assert "roleArn" not in target.props, "SNS targets use the topic policy; a role breaks KMS-encrypted delivery"


def test_topic_policy_holds_each_publisher_to_its_documented_source():
    p = plan("prod")
    statements = _statements(p.one("aws:sns/topicPolicy:TopicPolicy", "alerts-policy").props["policy"])
    principals = {svc for s in statements.values() if s["Effect"] == "Allow"
                  for svc in s["Principal"]["Service"]}
    assert "elasticache.amazonaws.com" not in principals
    events = statements["EventRulesPublish"]
    assert events["Principal"]["Service"] == ["events.amazonaws.com"]
    assert events["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"},
                                   "ArnLike": {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/*"}}
    backup = statements["BackupVaultsPublish"]
    assert backup["Principal"]["Service"] == ["backup.amazonaws.com"]
    assert backup["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:backup:us-east-1:123456789012:backup-vault:*"}}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"


def test_the_topic_key_lets_eventbridge_encrypt_and_nothing_lets_elasticache():
    p = plan("prod")
    key = _statements(p.one("aws:kms/key:Key", "alerts-key").props["policy"])["AllowServiceUse"]
    services = key["Principal"]["Service"]
    assert "events.amazonaws.com" in services and "elasticache.amazonaws.com" not in services
    assert {"kms:GenerateDataKey*", "kms:Decrypt*"} <= set(key["Action"])

