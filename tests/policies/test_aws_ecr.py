"""ECR repository policies: immutability, scan on push, KMS encryption and lifecycle, tested both ways."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.policies.support import TAGS, UNKNOWN, found, res

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
GOOD: dict[str, Any] = {
    "name": "agent-platform-prod/api",
    "imageTagMutability": "IMMUTABLE",
    "imageScanningConfiguration": {"scanOnPush": True},
    "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}],
    "tags": {**TAGS, "component": "services"},
}
RESOURCE_POLICIES = ["ecr-image-tags-immutable", "ecr-scan-on-push", "ecr-encrypted-with-kms"]


def repo(**changes: Any):
    props = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return res(REPOSITORY, "service-api-repo", props)


@pytest.mark.parametrize("policy", RESOURCE_POLICIES)
def test_hardened_repository_passes(policy: str):
    assert found(policy, repo()) == []


# --- ecr-image-tags-immutable ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mutability", ["MUTABLE", None, "IMMUTABLE_WITH_EXCLUSION"])
def test_mutable_tags_are_reported(mutability: str | None):
    (violation,) = found("ecr-image-tags-immutable", repo(imageTagMutability=mutability))
    assert "IMMUTABLE" in violation.message


def test_exclusions_are_accepted_only_when_configured():
    config = {"ecr-image-tags-immutable": {"allowExclusions": True}}
    assert found("ecr-image-tags-immutable", repo(imageTagMutability="IMMUTABLE_WITH_EXCLUSION"),
                 config=config) == []


def test_unknown_mutability_reports_nothing():
    assert found("ecr-image-tags-immutable", repo(imageTagMutability=UNKNOWN)) == []


# --- ecr-scan-on-push ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scanning", [None, {"scanOnPush": False}])
def test_repository_without_scan_on_push_is_reported(scanning: dict[str, Any] | None):
    assert len(found("ecr-scan-on-push", repo(imageScanningConfiguration=scanning))) == 1


def test_unknown_scan_setting_reports_nothing():
    assert found("ecr-scan-on-push", repo(imageScanningConfiguration={"scanOnPush": UNKNOWN})) == []


# --- ecr-encrypted-with-kms ----------------------------------------------------------------------------------------


def test_default_aes256_encryption_is_reported():
    (violation,) = found("ecr-encrypted-with-kms", repo(encryptionConfigurations=None))
    assert "AES256" in violation.message


def test_kms_without_customer_key_is_reported_unless_allowed():
    aws_managed = repo(encryptionConfigurations=[{"encryptionType": "KMS"}])
    (violation,) = found("ecr-encrypted-with-kms", aws_managed)
    assert "aws/ecr" in violation.message
    config = {"ecr-encrypted-with-kms": {"requireCustomerKey": False}}
    assert found("ecr-encrypted-with-kms", aws_managed, config=config) == []


def test_key_arn_unknown_until_the_key_exists_reports_nothing():
    assert found("ecr-encrypted-with-kms", repo(encryptionConfigurations=[{"encryptionType": "KMS",
                                                                           "kmsKey": UNKNOWN}])) == []


# --- ecr-lifecycle-policy ------------------------------------------------------------------------------------------


def test_repository_with_a_lifecycle_policy_passes():
    repository = repo()
    policy = res(LIFECYCLE, "service-api-repo-lifecycle", {"repository": UNKNOWN, "policy": "{}"},
                 prop_deps={"repository": [repository]})
    assert found("ecr-lifecycle-policy", repository, policy) == []


def test_lifecycle_policy_naming_the_repository_literally_counts():
    policy = res(LIFECYCLE, "lifecycle", {"repository": "agent-platform-prod/api", "policy": "{}"})
    assert found("ecr-lifecycle-policy", repo(), policy) == []


def test_repository_without_a_lifecycle_policy_is_reported():
    other = res(REPOSITORY, "other-repo", {**GOOD, "name": "agent-platform-prod/other"})
    policy = res(LIFECYCLE, "other-lifecycle", {"repository": "agent-platform-prod/other", "policy": "{}"})
    (violation,) = found("ecr-lifecycle-policy", repo(), other, policy)
    assert violation.resource_name == "service-api-repo"


def test_unknown_repository_name_reports_only_when_nothing_points_at_it():
    unnamed = repo(name=UNKNOWN)
    assert len(found("ecr-lifecycle-policy", unnamed)) == 1
    policy = res(LIFECYCLE, "lifecycle", {"repository": UNKNOWN, "policy": "{}"}, prop_deps={"repository": [unnamed]})
    assert found("ecr-lifecycle-policy", unnamed, policy) == []


# --- ecr-repository-policy-pull-only -------------------------------------------------------------------------------

REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
PULL = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
STAGING_ROLE = "arn:aws:iam::444455556666:role/AgentPlatformDeploy"


def repo_policy(*, principal: Any = None, actions: Any = None, condition: Any = "default", **extra: Any):
    stmt: dict[str, Any] = {"Sid": "PromotionPull", "Effect": "Allow",
                            "Principal": principal or {"AWS": ["arn:aws:iam::444455556666:root"]},
                            "Action": PULL if actions is None else actions, **extra}
    if condition == "default":
        condition = {"ArnEquals": {"aws:PrincipalArn": [STAGING_ROLE]}}
    if condition is not None:
        stmt["Condition"] = condition
    document = json.dumps({"Version": "2012-10-17", "Statement": [stmt]})
    return res(REPOSITORY_POLICY, "service-api-repo-pull", {"repository": "agent-platform-dev/api", "policy": document})


def test_pull_only_to_a_named_role_of_another_account_passes():
    assert found("ecr-repository-policy-pull-only", repo_policy()) == []


def test_a_role_principal_needs_no_condition():
    assert found("ecr-repository-policy-pull-only", repo_policy(principal={"AWS": STAGING_ROLE}, condition=None)) == []


@pytest.mark.parametrize("actions", [["ecr:*"], [*PULL, "ecr:PutImage"], "ecr:SetRepositoryPolicy",
                                     ["ecr:Batch*"], [*PULL, "ecr:DeleteRepository"]])
def test_anything_beyond_pull_is_reported(actions: Any):
    (violation,) = found("ecr-repository-policy-pull-only", repo_policy(actions=actions))
    assert "only lets other accounts pull" in violation.message


def test_not_action_is_reported():
    violations = found("ecr-repository-policy-pull-only", repo_policy(actions=[], NotAction=["ecr:DeleteRepository"]))
    assert any("NotAction" in v.message for v in violations)


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": "444455556666"},
                                       {"AWS": ["arn:aws:iam::444455556666:root"]}])
def test_a_whole_account_or_anyone_without_a_role_condition_is_reported(principal: Any):
    (violation,) = found("ecr-repository-policy-pull-only", repo_policy(principal=principal, condition=None))
    assert "aws:PrincipalArn" in violation.message


@pytest.mark.parametrize("condition", [
    {"ArnEquals": {"aws:PrincipalArn": "*"}},
    {"ArnNotEquals": {"aws:PrincipalArn": [STAGING_ROLE]}},
    {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}},
])
def test_a_condition_that_does_not_name_the_role_is_reported(condition: Any):
    assert len(found("ecr-repository-policy-pull-only", repo_policy(principal="*", condition=condition))) == 1


def test_the_org_condition_is_accepted_when_configured():
    config = {"ecr-repository-policy-pull-only": {"principalConditionKeys": ["aws:PrincipalArn", "aws:PrincipalOrgID"]}}
    policy = repo_policy(condition={"StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}})
    assert found("ecr-repository-policy-pull-only", policy, config=config) == []


def test_an_unknown_policy_document_reports_nothing():
    policy = res(REPOSITORY_POLICY, "service-api-repo-pull",
                 {"repository": "agent-platform-dev/api", "policy": UNKNOWN})
    assert found("ecr-repository-policy-pull-only", policy) == []
