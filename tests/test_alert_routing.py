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



def _matches(pattern: dict, event: dict) -> bool:
    """EventBridge's exact-value matching: every pattern key present in the event with one of the listed values."""
    for key, expected in pattern.items():
        if key not in event:
            return False
        if isinstance(expected, dict):
            if not isinstance(event[key], dict) or not _matches(expected, event[key]):
                return False
        elif event[key] not in expected:
            return False
    return True


# A rotation failure as CloudTrail records it for Secrets Manager (a service event, not an API call: Secrets
# Manager user guide, "Logging AWS Secrets Manager events with AWS CloudTrail"), as EventBridge delivers it.
ROTATION_FAILED = {"source": "aws.secretsmanager", "detail-type": "AWS Service Event via CloudTrail",
                   "detail": {"eventSource": "secretsmanager.amazonaws.com", "eventName": "RotationFailed",
                              "additionalEventData": {"SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:"
                                                                  "secret:prod/app-AbCdEf"}}}


@pytest.mark.parametrize("stack", STACKS)
def test_a_failed_credential_rotation_reaches_the_alert_topic(stack):
    """A failed rotation keeps the old credentials working, so without this alert nobody would learn of it."""
    p = plan(stack)
    rule = p.one(RULE, "data-rotation-failures")
    pattern = json.loads(rule.props["eventPattern"])
    assert _matches(pattern, ROTATION_FAILED)
    assert not _matches(pattern, {**ROTATION_FAILED, "detail": {**ROTATION_FAILED["detail"],
                                                                 "eventName": "RotationSucceeded"}})
    target = p.one(TARGET, "data-rotation-failures")
    assert p.one("aws:sns/topic:Topic", "alerts-topic").urn in target.property_dependencies["arn"]
    assert "roleArn" not in target.props
