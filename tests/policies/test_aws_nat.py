"""The NAT instance policies on hand-made resources: compliant, violating, and silent on unknown values."""

from __future__ import annotations

import copy
from typing import Any

from tests.policies.support import TAGS, UNKNOWN, found, res

TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
ENI = "aws:ec2/networkInterface:NetworkInterface"
INSTANCE = "aws:ec2/instance:Instance"
VPC = "aws:ec2/vpc:Vpc"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
NAT_TAGS = {**TAGS, "agent-platform/role": "nat-instance"}

NAT_TEMPLATE: dict[str, Any] = {
    "imageId": "ami-0123456789abcdef0", "instanceType": "t4g.nano",
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda",
                             "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN, "volumeType": "gp3", "volumeSize": 8}}],
    "networkInterfaces": [{"associatePublicIpAddress": "true", "securityGroups": ["sg-1"]}],
    "iamInstanceProfile": {"arn": "arn:aws:iam::123456789012:instance-profile/nat"},
    "tags": NAT_TAGS,
}


def _template(**changes: Any) -> Any:
    inputs = copy.deepcopy(NAT_TEMPLATE)
    inputs.update(changes)
    return res(TEMPLATE, "nat-template", inputs)


def test_a_hardened_nat_template_passes_and_may_have_a_public_address():
    assert found("nat-instance-hardened", _template()) == []
    assert found("ec2-no-public-ip", _template()) == []


def test_the_same_public_address_without_the_nat_role_is_refused():
    assert len(found("ec2-no-public-ip", _template(tags=TAGS))) == 1
    assert found("nat-instance-hardened", _template(tags=TAGS)) == []  # not a NAT template: not its business


def test_imdsv1_a_second_hop_a_key_pair_and_an_unencrypted_root_are_each_refused():
    bad = [
        _template(metadataOptions={"httpEndpoint": "enabled", "httpTokens": "optional",
                                   "httpPutResponseHopLimit": 1}),
        _template(metadataOptions={"httpEndpoint": "enabled", "httpTokens": "required",
                                   "httpPutResponseHopLimit": 2}),
        _template(keyName="ops"),
        _template(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]),
        _template(networkInterfaces=[{"associatePublicIpAddress": "true"}]),
    ]
    for template in bad:
        assert len(found("nat-instance-hardened", template)) == 1, template.inputs


def test_unknown_values_report_nothing():
    assert found("nat-instance-hardened", _template(metadataOptions=UNKNOWN, keyName=UNKNOWN)) == []
    assert found("source-dest-check-nat-only", res(ENI, "eni", {"sourceDestCheck": UNKNOWN, "tags": TAGS})) == []


def _groups(cidr: str, port: int = 443, **rule: Any) -> list[Any]:
    vpc = res(VPC, "vpc", {"cidrBlock": "10.10.0.0/16", "tags": TAGS})
    sg = res(SG, "nat-sg", {"vpcId": "vpc-1", "tags": NAT_TAGS}, prop_deps={"vpcId": [vpc]})
    ingress = res(INGRESS, "nat-from-vpc", {"securityGroupId": "sg-1", "cidrIpv4": cidr, "ipProtocol": "tcp",
                                            "fromPort": port, "toPort": port, **rule},
                  prop_deps={"securityGroupId": [sg]}, parent=sg)
    return [vpc, sg, ingress]


def test_the_nat_group_admits_the_vpc_only():
    assert found("nat-instance-ingress-from-vpc-only", *_groups("10.10.0.0/16")) == []
    assert found("nat-instance-ingress-from-vpc-only", *_groups("10.10.64.0/19")) == []
    assert len(found("nat-instance-ingress-from-vpc-only", *_groups("0.0.0.0/0"))) == 1
    assert len(found("nat-instance-ingress-from-vpc-only", *_groups("10.20.0.0/16"))) == 1
    assert len(found("nat-instance-ingress-from-vpc-only", *_groups("10.10.0.0/16", port=22))) == 1
    assert found("nat-instance-ingress-from-vpc-only", *_groups(UNKNOWN)) == []


def test_a_nat_template_with_a_foreign_group_is_refused():
    vpc, sg, ingress = _groups("10.10.0.0/16")
    other = res(SG, "open-sg", {"vpcId": "vpc-1", "tags": TAGS}, prop_deps={"vpcId": [vpc]})
    ok = res(TEMPLATE, "nat-template", NAT_TEMPLATE, prop_deps={"networkInterfaces": [sg]})
    bad = res(TEMPLATE, "nat-template", NAT_TEMPLATE, prop_deps={"networkInterfaces": [sg, other]})
    assert found("nat-instance-ingress-from-vpc-only", vpc, sg, ingress, ok) == []
    assert len(found("nat-instance-ingress-from-vpc-only", vpc, sg, ingress, other, bad)) == 1


def _group(**sizes: Any) -> list[Any]:
    template = _template()
    group = res(ASG, "nat-asg", {"minSize": 1, "maxSize": 1, "desiredCapacity": 1, "healthCheckType": "EC2",
                                 "launchTemplate": {"id": "lt-1", "version": "1"}, **sizes},
                prop_deps={"launchTemplate": [template]})
    return [template, group]


def test_the_nat_instance_runs_in_a_group_of_exactly_one():
    assert found("nat-instance-group-of-one", *_group()) == []
    assert len(found("nat-instance-group-of-one", *_group(maxSize=2))) == 1
    assert len(found("nat-instance-group-of-one", *_group(minSize=0))) == 1
    assert found("nat-instance-group-of-one", *_group(maxSize=UNKNOWN)) == []


def test_only_nat_resources_turn_the_source_dest_check_off():
    assert found("source-dest-check-nat-only", res(ENI, "eni", {"sourceDestCheck": False, "tags": NAT_TAGS})) == []
    assert found("source-dest-check-nat-only", res(ENI, "eni", {"sourceDestCheck": True, "tags": TAGS})) == []
    assert len(found("source-dest-check-nat-only", res(ENI, "eni", {"sourceDestCheck": False, "tags": TAGS}))) == 1
    assert len(found("source-dest-check-nat-only", res(INSTANCE, "i", {"sourceDestCheck": False}))) == 1
