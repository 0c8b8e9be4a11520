"""Cross-account promotion: dev's repositories let staging's and prod's deploy roles pull, and nothing more.

The release workflow copies a digest from dev's registry into the target stack's own (tools/release-image.sh
record, run as the target's deploy role). With one account per environment that pull crosses accounts, so dev's
repositories carry a repository policy; with one account (the committed stack files) they carry none.
"""

from __future__ import annotations

import json

import pytest

from tests.harness import config_error, plan, review

OTHERS = ["444455556666", "777788889999"]  # AWS documentation account ids (docs/accounts.md)
REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"


def _promoting(runtime: str, **extra: object):
    return plan("dev", {"runtime": runtime, "delivery.imagePull.accountIds": OTHERS, **extra})


@pytest.mark.parametrize("runtime", ["vm", "eks"])
def test_each_dev_repository_lets_only_the_other_accounts_deploy_roles_pull(runtime):
    result = _promoting(runtime)
    repositories = result.of_type(REPOSITORY)
    policies = result.of_type(REPOSITORY_POLICY)
    assert repositories and len(policies) == len(repositories)
    for repo in repositories:
        (policy,) = [p for p in policies if p.parent == repo.urn]
        assert policy.props["repository"] == repo.props["name"]
        assert json.loads(policy.props["policy"]) == {"Version": "2012-10-17", "Statement": [{
            "Sid": "PromotionPull",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::444455556666:root", "arn:aws:iam::777788889999:root"]},
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Condition": {"ArnEquals": {"aws:PrincipalArn": [
                "arn:aws:iam::444455556666:role/AgentPlatformDeploy",
                "arn:aws:iam::777788889999:role/AgentPlatformDeploy"]}},
        }]}


def test_the_deploy_role_name_is_configurable():
    result = _promoting("vm", **{"delivery.imagePull.roleName": "ReleasePromoter"})
    document = json.loads(result.of_type(REPOSITORY_POLICY)[0].props["policy"])
    assert document["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
        "arn:aws:iam::444455556666:role/ReleasePromoter", "arn:aws:iam::777788889999:role/ReleasePromoter"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_without_other_accounts_no_repository_has_a_policy(stack):
    assert plan(stack).of_type(REPOSITORY_POLICY) == []


def test_a_promoting_plan_passes_the_pack():
    verdicts = review(_promoting("eks"))
    assert verdicts.mandatory == []
    assert [v for v in verdicts.violations if v.policy.startswith(("ecr-", "resource-policy"))] == []


def test_the_repository_key_grants_the_pulling_accounts_nothing():
    """ECR decrypts with its own grant on the key; the pulling role never calls KMS (components/services/image.py)."""
    result = _promoting("vm")
    for key in result.of_type("aws:kms/key:Key"):
        assert not any(account in key.props["policy"] for account in OTHERS), key.name


@pytest.mark.parametrize("accounts,problem", [
    (["111122223333"], "this stack's own account"),
    (["444455556666", "444455556666"], "each account once"),
    (["4444-5555-6666"], "not an AWS account id"),
])
def test_bad_pull_accounts_are_refused(accounts, problem):
    err = config_error("dev", {"delivery.imagePull.accountIds": accounts})
    assert any(path.startswith("delivery.imagePull") for path in err.paths), err.paths
    assert problem in str(err)


def test_a_bad_role_name_is_refused():
    err = config_error("dev", {"delivery.imagePull.accountIds": OTHERS, "delivery.imagePull.roleName": "role/x"})
    assert "delivery.imagePull.roleName" in err.paths
