"""Resources built from a list or map are named by a stable value, with their former index names as aliases."""

from __future__ import annotations

import re

import pytest

from tests.harness import STACKS, eks_plan, plan

# Index-style names the program used before value-based names; none may remain.
INDEX_NAME = re.compile(r"-(admin|view|email|managed|from-workloads|to-postgres|to-redis|bootstrap-to-postgres)-\d+$")


@pytest.mark.parametrize("stack", STACKS)
def test_no_list_built_resource_is_named_by_its_position(stack):
    planned = eks_plan(stack) if stack == "dev" else plan(stack)
    for resources in (planned, plan(stack)):
        assert not [r.name for r in resources if INDEX_NAME.search(r.name)]


def test_rules_to_data_subnets_are_named_by_cidr_and_keep_their_index_names():
    dev = plan("dev")
    egress = {r.name: r for r in dev.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")}
    for name, rule in egress.items():
        if "-to-postgres-" in name or "-to-redis-" in name:
            assert name.endswith(rule.props["cidrIpv4"]), name
            assert len(rule.aliases) == 1 and re.search(r"-\d$", rule.aliases[0].name), name


def test_irsa_attachments_are_named_by_policy():
    prod = plan("prod")
    attachment = prod.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                          "cluster-ebs-csi-role-AmazonEBSCSIDriverPolicy")
    assert attachment.props["policyArn"].endswith("/AmazonEBSCSIDriverPolicy")
    assert [a.name for a in attachment.aliases] == ["cluster-ebs-csi-role-managed-0"]


def test_data_stores_admit_workloads_by_source_name():
    ingress = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    assert plan("prod").one(ingress, "data-postgres-from-eks-cluster").aliases[0].name == \
        "data-postgres-from-workloads-0"
    assert plan("dev").one(ingress, "data-redis-from-vm-workloads")
