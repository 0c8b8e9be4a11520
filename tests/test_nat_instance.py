"""network.egress natInstance: plan shape, hardening, least-privilege role, boot script, cost and the pack.

The planted misconfigurations edit the real dev plan (which uses the NAT instance by its tier default) one field
at a time; each must fail the review with a mandatory violation, and the unchanged plan must pass.
"""

from __future__ import annotations

import base64
import json

import pytest

from components.network.nat_instance import render_user_data
from planning.cost_report import stack_report
from tests.harness import config_error, plan, tags_of
from tests.policies.planting import add, edit, set_path, violations

ASG = "aws:autoscaling/group:Group"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ENI = "aws:ec2/networkInterface:NetworkInterface"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
N = "network-nat-instance"


def _dev():
    return plan("dev")


def test_dev_egresses_through_one_nat_instance_and_no_nat_gateway():
    dev = _dev()
    assert dev.of_type(NAT_GATEWAY) == [] and dev.of_type("aws:ec2/eip:Eip") == []
    group = dev.one(ASG, f"{N}-asg").props
    assert (group["minSize"], group["desiredCapacity"], group["maxSize"]) == (1, 1, 1)
    assert group["healthCheckType"] == "EC2"
    public_0 = dev.one("aws:ec2/subnet:Subnet", "network-public-0")
    asg = dev.one(ASG, f"{N}-asg")
    assert asg.property_dependencies["vpcZoneIdentifiers"] == (public_0.urn,)
    eni = dev.one(ENI, f"{N}-eni")
    assert eni.props["sourceDestCheck"] is False
    assert tags_of(eni)["agent-platform/role"] == "nat-instance"


def test_every_private_route_table_sends_the_internet_to_the_fixed_interface():
    dev = _dev()
    eni = dev.one(ENI, f"{N}-eni")
    private = [rt for rt in dev.of_type(ROUTE_TABLE) if rt.name.startswith("network-private-")]
    assert len(private) == 2
    for rt in private:
        (default,) = [r for r in dev.of_type(ROUTE) if r.parent == rt.urn]
        assert default.props["destinationCidrBlock"] == "0.0.0.0/0"
        assert "natGatewayId" not in default.props
        assert eni.urn in default.property_dependencies["networkInterfaceId"]


def test_the_template_is_hardened_al2023_with_a_public_address_and_no_key():
    dev = _dev()
    template = dev.one(TEMPLATE, f"{N}-template").props
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert "keyName" not in template
    (root,) = template["blockDeviceMappings"]
    assert root["ebs"]["encrypted"] == "true" and root["ebs"]["kmsKeyId"]
    assert root["ebs"]["volumeSize"] == 8
    (nic,) = template["networkInterfaces"]
    assert nic["associatePublicIpAddress"] == "true"
    assert template["instanceType"] == "t4g.nano"


def test_the_ami_is_read_from_the_arm64_al2023_public_parameter_for_a_graviton_type():
    names = [args.get("name") for token, args in _dev().invokes if token == "aws:ssm/getParameter:getParameter"]
    assert "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64" in names


def test_the_security_group_admits_only_https_from_the_vpc():
    dev = _dev()
    vpc = dev.one("aws:ec2/vpc:Vpc").props["cidrBlock"]
    sg = dev.one(SG, f"{N}-sg")
    rules = [r.props for r in dev.of_type(INGRESS) if r.parent == sg.urn]
    assert rules == [{**rules[0], "cidrIpv4": vpc, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}]


def test_the_role_attaches_only_its_interface_and_touches_only_this_stacks_nat_interfaces():
    dev = _dev()
    doc = json.loads(dev.one("aws:iam/rolePolicy:RolePolicy", f"{N}-role-interfaces").props["policy"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert set(by_sid) == {"AttachTheFixedInterface", "OntoThisStacksNatInstances",
                           "SourceDestCheckOfThisStacksNatInterfaces"}
    attach = by_sid["AttachTheFixedInterface"]
    assert attach["Action"] == ["ec2:AttachNetworkInterface"]
    assert len(attach["Resource"]) == 1 and ":network-interface/" in attach["Resource"][0]
    assert not attach["Resource"][0].endswith("/*")
    for sid in ("OntoThisStacksNatInstances", "SourceDestCheckOfThisStacksNatInterfaces"):
        condition = by_sid[sid]["Condition"]["StringEquals"]
        assert condition == {"ec2:ResourceTag/agent-platform/role": "nat-instance", "ec2:ResourceTag/stack": "dev"}
    assert all(r != "*" for s in doc["Statement"] for r in s["Resource"])
    attachments = [a.props["policyArn"] for a in dev.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.name.startswith(N)]
    assert attachments == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]


def test_the_boot_script_verifies_translation_before_forwarding_and_swaps_before_dnf():
    script = render_user_data(region="us-east-1", eni_id="eni-0123456789abcdef0", vpc_cidr="10.10.0.0/16")
    lines = script.splitlines()

    def first(text: str) -> int:
        return next(i for i, line in enumerate(lines) if text in line)

    assert first("swapon /swapfile") < first("dnf install")
    assert first("iptables -t nat -C POSTROUTING") < first("sysctl -q -w net.ipv4.ip_forward=1")
    # The rules are checked after the service restored the saved file, not before it could replace them.
    assert first("iptables-save > /etc/sysconfig/iptables") < first("systemctl enable --now iptables") \
        < first("iptables -t nat -C POSTROUTING") < first("iptables -C FORWARD")
    assert "|| fail" in lines[first("iptables -t nat -C POSTROUTING")]
    assert "poweroff" in script and "set -e" not in script.replace("No `set -e`", "")
    assert "route |" not in script and "ip -o -4 route show to default" in script
    assert "--network-interface-id \"$ENI_ID\"" in script and "ENI_ID=eni-0123456789abcdef0" in script
    assert "-s \"$VPC_CIDR\"" in lines[first("-j MASQUERADE")]


def test_the_rendered_user_data_names_this_stacks_interface():
    dev = _dev()
    template = dev.one(TEMPLATE, f"{N}-template").props
    script = base64.b64decode(template["userData"]).decode()
    assert "ENI_ID=" in script and "VPC_CIDR=10.10.0.0/16" in script and "REGION=us-east-1" in script


def test_the_nat_instance_costs_its_hours_volume_address_and_key_not_a_gateway():
    report = stack_report(_dev())
    network = [line for line in report.lines if line.component == "network"]
    keys = {line.price_key for line in network}
    assert "vpc.nat.hour" not in keys and "vpc.nat.data" not in keys
    assert {"ec2.instance.t4g.nano", "vpc.public-ipv4.hour", "ebs.gp3.storage", "kms.key"} <= keys
    address = [line for line in network if line.price_key == "vpc.public-ipv4.hour"]
    assert len(address) == 1 and address[0].quantity == pytest.approx(730)
    assert sum(line.monthly_usd for line in network) < 10


def test_nat_gateway_egress_is_still_available_on_dev():
    dev = plan("dev", {"network.egress": "natGateway"})
    assert len(dev.of_type(NAT_GATEWAY)) == 1 and dev.of_type(ENI) == []


@pytest.mark.parametrize(("stack", "overrides", "key"), [
    ("prod", {"network.egress": "natInstance", "network.natGateways": "single"}, "network.egress"),
    ("dev", {"network.natGateways": "perAz"}, "network.natGateways"),
    ("dev", {"network.natInstance.instanceType": "t4g.tiny"}, "network.natInstance.instanceType"),
    ("dev", {"network.egress": "natInstances"}, "network.egress"),
])
def test_bad_nat_instance_config_is_one_config_error(stack, overrides, key):
    err = config_error(stack, overrides)
    assert key in err.paths, err


# --- the pack: planted misconfigurations of the NAT instance -------------------------------------------------


def _template(change):
    return edit(TEMPLATE, f"{N}-template", change)


PLANTINGS = {
    "imdsv1": ("nat-instance-hardened", _template(lambda i: set_path(i, "metadataOptions.httpTokens", "optional"))),
    "hop-limit-2": ("nat-instance-hardened",
                    _template(lambda i: set_path(i, "metadataOptions.httpPutResponseHopLimit", 2))),
    "key-pair": ("nat-instance-hardened", _template(lambda i: i.__setitem__("keyName", "admin"))),
    "unencrypted-root": ("nat-instance-hardened",
                         _template(lambda i: i["blockDeviceMappings"][0]["ebs"].__setitem__("encrypted", "false"))),
    "ssh-from-vpc": ("nat-instance-ingress-from-vpc-only",
                     edit(INGRESS, f"{N}-from-vpc", lambda i: i.update(fromPort=22, toPort=22))),
    "https-from-internet": ("nat-instance-ingress-from-vpc-only",
                            edit(INGRESS, f"{N}-from-vpc", lambda i: i.update(cidrIpv4="0.0.0.0/0"))),
    "group-of-two": ("nat-instance-group-of-one", edit(ASG, f"{N}-asg", lambda i: i.update(maxSize=2))),
    "no-replacement": ("nat-instance-group-of-one", edit(ASG, f"{N}-asg", lambda i: i.update(minSize=0))),
    "untagged-forwarder": ("source-dest-check-nat-only",
                           add(ENI, "rogue-eni", {"subnetId": "subnet-1", "sourceDestCheck": False, "tags": {}}, {})),
    "untagged-template-public-ip": ("ec2-no-public-ip",
                                    _template(lambda i: i["tags"].pop("agent-platform/role"))),
}


@pytest.mark.parametrize("what", sorted(PLANTINGS))
def test_a_planted_nat_misconfiguration_fails_the_review(what):
    policy, change = PLANTINGS[what]
    clean = _dev()
    assert violations(clean, policy) == [], f"{policy} fails the unchanged dev plan"
    found = violations(change(clean), policy)
    assert found and all(v.enforcement == "mandatory" for v in found), what
