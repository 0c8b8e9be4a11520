"""docs/deploy-permissions.md names every IAM service the stacks' resources need, generated and kept current."""

from __future__ import annotations

from planning import permissions
from tests.harness import STACKS, plan


def test_the_committed_service_list_is_the_generated_one():
    text = permissions.DOC.read_text()
    assert permissions.render_file(text, plan) == text, f"docs/deploy-permissions.md is stale: run " \
                                                        f"`{permissions.COMMAND}`"


def test_every_aws_resource_type_maps_to_an_iam_service():
    for stack in STACKS:
        unmapped = [k for k in permissions.services(plan(stack)) if k.startswith("(unmapped")]
        assert not unmapped, f"{stack}: add these modules to SERVICE_PREFIX: {unmapped}"


def test_module_names_that_differ_from_the_iam_prefix_are_translated():
    assert permissions.service_of("aws:lb/loadBalancer:LoadBalancer") == "elasticloadbalancing"
    assert permissions.service_of("aws:cloudwatch/logGroup:LogGroup") == "logs"
    assert permissions.service_of("aws:cloudwatch/metricAlarm:MetricAlarm") == "cloudwatch"
    assert permissions.service_of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == "ec2"
    assert "eks" not in permissions.services(plan("dev")) and "eks" in permissions.services(plan("prod"))
