"""EC2 instances boot a concrete AL2023 AMI, and instance roles keep every attachment they are given.

- Instance refresh cannot roll back to a launch template whose image is a Systems Manager parameter
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html), and the service
  groups refresh with auto rollback: the templates carry the AMI ID read from AWS's public parameter.
- ``managed_policy_arns`` on an ``aws.iam.Role`` makes the role exclusively own its attachments: a refresh
  removes every attachment not in the list (with ``[]``, all of them, Session Manager included). The
  argument is deprecated in pulumi-aws 7; attachments are separate ``RolePolicyAttachment`` resources.
"""

from __future__ import annotations

import pytest

from planning.mock_outputs import INVOKES
from planning.review import load_policy_config
from tests.harness import DEDICATED_VM, eks_plan, plan, review

TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"


def _ami(arch: str) -> str:
    """What the public parameter holds (the mock's answer for exactly this parameter name)."""
    return INVOKES["aws:ssm/getParameter:getParameter"]({"name": PARAMETER.format(arch=arch)}, "us-east-1")["value"]


def test_every_launch_template_names_an_ami_id_not_a_parameter():
    templates = plan("dev").of_type(TEMPLATE)
    assert templates
    for template in templates:
        image = template.props["imageId"]
        assert not image.startswith("resolve:ssm:"), template.name
        assert image.startswith("ami-"), template.name


def test_the_ami_matches_each_instance_types_architecture():
    dev = plan("dev")
    # dev's shared host, the one-shot bootstrap and the NAT instance run on Graviton t4g types (arm64).
    arm64 = [t.name for t in dev.of_type(TEMPLATE) if t.props["imageId"] == _ami("arm64")]
    assert sorted(arm64) == sorted(t.name for t in dev.of_type(TEMPLATE)), "every dev template boots arm64"
    assert any("bootstrap" in name for name in arm64) and "network-nat-instance-template" in arm64
    assert "shared-host-template" in arm64
    x86_host = plan("dev", {"vm.sharedInstanceType": "t3.small"})
    assert x86_host.one(TEMPLATE, "shared-host-template").props["imageId"] == _ami("x86_64")
    # An x86_64 type gets the x86_64 image (dedicated groups: one type per service).
    x86 = plan("dev", {**DEDICATED_VM, "services.api.vm.instanceType": "t3.small"})
    assert x86.one(TEMPLATE, "service-api-template").props["imageId"] == _ami("x86_64")
    assert x86.one(TEMPLATE, "service-context-template").props["imageId"] == _ami("arm64")


def test_groups_that_roll_back_use_numbered_template_versions():
    """Rollback also needs a specific version, never $Latest or $Default (same AWS page)."""
    for group in plan("dev").of_type(ASG):
        refresh = group.props.get("instanceRefresh") or {}
        if (refresh.get("preferences") or {}).get("autoRollback"):
            assert group.props["launchTemplate"]["version"] not in ("$Latest", "$Default"), group.name


@pytest.mark.parametrize("stack,runtime", [("dev", "vm"), ("dev", "eks"), ("staging", "eks"), ("prod", "eks")])
def test_no_role_claims_exclusive_ownership_of_its_managed_policies(stack, runtime):
    result = plan(stack) if runtime == "vm" else eks_plan(stack)
    claims = [r.name for r in result.of_type(ROLE) if "managedPolicyArns" in r.props]
    assert claims == []


@pytest.mark.parametrize("service", ["api", "context", "worker"])
def test_vm_service_roles_keep_session_manager(service):
    dev = plan("dev", DEDICATED_VM)
    role = dev.one(ROLE, f"service-{service}-role")
    assert "managedPolicyArns" not in role.props
    ssm = dev.one(ATTACHMENT, f"service-{service}-role-ssm")
    assert ssm.props["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    # On the shared host the host's role carries Session Manager; the placed service roles get no instance access.
    shared = plan("dev")
    assert shared.one(ATTACHMENT, "shared-host-role-ssm").props["policyArn"] == \
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    assert [a.name for a in shared.of_type(ATTACHMENT) if a.name == f"service-{service}-role-ssm"] == []


def test_the_policy_pack_finds_no_group_that_cannot_roll_back():
    result = review(plan("dev"), load_policy_config("dev"))
    assert [v for v in result.violations if v.policy == "asg-rollback-template-pinned"] == []
