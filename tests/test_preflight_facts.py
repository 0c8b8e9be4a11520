"""What preflight reads from a plan: pins from resource inputs, reads from the program's invokes."""

from __future__ import annotations

import base64

from planning.model import Plan, PlannedResource
from planning.preflight.facts import gather

DIGEST = "sha256:" + "cd" * 32


def _res(type_: str, name: str, inputs: dict) -> PlannedResource:
    return PlannedResource(urn=f"urn:pulumi:t::p::{type_}::{name}", type=type_, name=name, parent=None, custom=True,
                           inputs=inputs, protect=False, retain_on_delete=False, dependencies=(),
                           property_dependencies={}, provider=None)


def test_gather_reads_pins_user_data_lookups_and_config_roles():
    user_data = base64.b64encode(
        f"docker run 111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.2@{DIGEST}\n".encode()).decode()
    plan = Plan("staging", [
        _res("aws:eks/cluster:Cluster", "eks", {"name": "c1", "version": "1.35"}),
        _res("aws:eks/addon:Addon", "a1", {"addonName": "coredns", "addonVersion": "v1.12.0-eksbuild.1"}),
        _res("aws:eks/addon:Addon", "a2", {"addonName": "metrics-server", "addonVersion": "v9.9.9-mock"}),
        _res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"instanceType": "t3.small", "userData": user_data}),
        _res("kubernetes:apps/v1:Deployment", "d", {"spec": {"template": {"spec": {"containers": [
            {"image": f"docker.io/library/redis:7@{DIGEST}"}]}}}}),
        _res("docker:index/image:Image", "img",
             {"imageName": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.2"}),
        _res("aws:ec2/subnet:Subnet", "s0", {"availabilityZone": "eu-west-1a"}),
        _res("aws:ec2/subnet:Subnet", "s1", {"availabilityZone": "eu-west-1b"}),
    ], invokes=[
        ("aws:eks/getAddonVersion:getAddonVersion", {"addonName": "metrics-server", "kubernetesVersion": "1.35"}),
        ("aws:route53/getZone:getZone", {"name": "example.org", "privateZone": False}),
        ("aws:ssm/getParameter:getParameter", {"name": "/aws/service/x"}),
        ("aws:index/getAvailabilityZones:getAvailabilityZones", {"excludeZoneIds": ["euw1-az9"]}),
    ])
    config = {"agent-platform:deployRoleArns": ["arn:aws:iam::111122223333:role/ops/Deployer"],
              "agent-platform:edge": {"hostedZoneId": "Z0ABCDEF", "domain": "a.example.org"},
              "agent-platform:openaiApiKey": {"secure": "v1:x"}}
    f = gather(plan, "eu-west-1", config)
    assert (f.cluster_name, f.eks_version) == ("c1", "1.35")
    assert [(a.name, a.version) for a in f.addons] == [("coredns", "v1.12.0-eksbuild.1"), ("metrics-server", None)]
    assert f.instance_type_choices == [("t3.small",)] and f.zone_count == 2 and f.excluded_zone_ids == ("euw1-az9",)
    [image] = f.ecr_images  # from the base64 user data, its tag between repository and digest
    assert (image.account, image.region, image.repository, image.digest) == ("111122223333", "eu-west-1",
                                                                             "team/api", DIGEST)
    assert f.other_images == [f"docker.io/library/redis:7@{DIGEST}"]
    assert f.built_repositories == {"111122223333.dkr.ecr.eu-west-1.amazonaws.com/team/api"}
    assert [(z.name, z.zone_id) for z in f.hosted_zones] == [("example.org", None), (None, "Z0ABCDEF")]
    assert f.ssm_parameters == ["/aws/service/x"]
    assert f.role_arns == ["arn:aws:iam::111122223333:role/ops/Deployer"]
