"""The in-VPC CI runner: EKS stacks get one in their private subnets, with a least-privilege role and its own logs."""

from __future__ import annotations

import json

import pytest

from config.delivery import runner_project_name
from tests.config_support import reason, rejected
from tests.harness import plan

PROJECT = "aws:codebuild/project:Project"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_eks_stacks_run_a_runner_named_as_the_workflows_address_it(stack):
    result = plan(stack)
    project = result.one(PROJECT).props
    assert project["name"] == runner_project_name(stack) == f"agent-platform-{stack}-ci-runner"
    assert project["source"]["type"] == "GITHUB"
    assert project["source"]["auth"]["type"] == "CODECONNECTIONS"
    assert project["environment"]["privilegedMode"] is False
    assert project["logsConfig"]["cloudwatchLogs"]["status"] == "ENABLED"
    assert project["logsConfig"]["s3Logs"]["status"] == "DISABLED"
    assert project["encryptionKey"]
    # In the private subnets, behind its own security group.
    vpc = project["vpcConfig"]
    # The mock engine names each resource's id "<name>-id": the runner sits in every private subnet, no other.
    private = {f"{r.name}-id" for r in result.of_type("aws:ec2/subnet:Subnet") if "-private-" in r.name}
    assert len(private) >= 2 and set(vpc["subnets"]) == private
    assert vpc["securityGroupIds"] == [f"{result.one('aws:ec2/securityGroup:SecurityGroup', 'ci-runner-sg').name}-id"]
    webhook = result.one("aws:codebuild/webhook:Webhook").props
    filters = {f["type"]: f["pattern"] for f in webhook["filterGroups"][0]["filters"]}
    assert filters["EVENT"] == "WORKFLOW_JOB_QUEUED"
    assert "pull-request" in filters["WORKFLOW_NAME"] and "deploy" in filters["WORKFLOW_NAME"]


def test_dev_on_the_vm_runtime_has_no_runner():
    assert plan("dev").of_type(PROJECT) == []


def test_runner_role_may_only_attach_to_the_vpc_write_its_logs_and_use_its_connection():
    result = plan("prod")
    policy = json.loads(result.one("aws:iam/rolePolicy:RolePolicy", "ci-runner-role-runner").props["policy"])
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {
        "logs:CreateLogStream", "logs:PutLogEvents",
        "ec2:CreateNetworkInterface", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs",
        "ec2:CreateNetworkInterfacePermission",
        "codeconnections:GetConnectionToken", "codeconnections:GetConnection",
        "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
    }
    eni = next(s for s in policy["Statement"] if s["Action"] == ["ec2:CreateNetworkInterfacePermission"])
    assert eni["Condition"]["StringEquals"] == {"ec2:AuthorizedService": "codebuild.amazonaws.com"}
    assert eni["Condition"]["ArnEquals"]["ec2:Subnet"]
    trust = json.loads(result.one("aws:iam/role:Role", "ci-runner-role").props["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "codebuild.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Statement"][0]["Condition"]["StringEquals"]


def test_runner_security_group_admits_nothing_and_sends_only_https_and_dns():
    result = plan("prod")
    sg = result.one("aws:ec2/securityGroup:SecurityGroup", "ci-runner-sg")
    assert not sg.props.get("ingress")
    rules = [r.props for r in result.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
             if r.name.startswith("ci-runner-to-")]
    assert sorted((r["ipProtocol"], r["fromPort"]) for r in rules) == [("tcp", 53), ("tcp", 443), ("udp", 53)]
    assert not result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") or all(
        not r.name.startswith("ci-runner") for r in result.of_type(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"))


def test_runner_build_minutes_are_priced():
    from planning import cost_report

    report = cost_report.stack_report(plan("prod"))
    lines = report.of_resource("ci-runner-project")
    assert len(lines) == 1 and lines[0].price_key == "codebuild.general1.medium"
    assert lines[0].quantity == 1200 and lines[0].monthly_usd == pytest.approx(12.0)
    assert not [u for u in report.unpriced if u.resource.startswith("ci-runner")]


@pytest.mark.parametrize("missing", ["githubRepository", "connectionArn"])
def test_an_enabled_runner_needs_its_repository_and_connection(missing):
    err = rejected("prod", {f"delivery.ciRunner.{missing}": None})
    assert "required while the in-VPC CI runner is enabled" in reason(err, f"delivery.ciRunner.{missing}")


@pytest.mark.parametrize("key,value", [
    ("delivery.ciRunner.githubRepository", "not a repo"),
    ("delivery.ciRunner.connectionArn", "arn:aws:iam::111122223333:role/x"),
    ("delivery.ciRunner.computeType", "BUILD_GENERAL1_2XLARGE"),
])
def test_bad_runner_settings_are_named(key, value):
    reason(rejected("prod", {key: value}), key)


def test_a_preview_role_that_is_already_a_cluster_principal_is_refused():
    err = rejected("prod", {"delivery.previewRoleArns": ["arn:aws:iam::111122223333:role/PlatformDeveloper"]})
    assert "already has a cluster access entry" in reason(err, "delivery.previewRoleArns")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_preview_role_gets_a_viewer_entry_in_the_dry_run_group(stack):
    result = plan(stack)
    entry = result.one("aws:eks/accessEntry:AccessEntry", "cluster-preview-AgentPlatformPreview").props
    assert entry["principalArn"] == "arn:aws:iam::111122223333:role/AgentPlatformPreview"
    # The group's dry-run-only rights: tests/test_preview_access.py.
    assert entry["type"] == "STANDARD" and entry["kubernetesGroups"] == ["agent-platform-preview"]
    association = result.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                             "cluster-preview-AgentPlatformPreview-policy").props
    assert association["policyArn"].endswith(":eks::aws:cluster-access-policy/AmazonEKSViewPolicy")
    assert association["accessScope"] == {"type": "cluster"}
