"""Network per tier: AZ spread, NAT, endpoints, flow logs and the locked-down default SG."""

from __future__ import annotations

import ipaddress

from tests.harness import eks_plan, plan, tags_of

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def _subnets(stack: str, tier: str) -> list[dict]:
    return [r.props for r in plan(stack).of_type(SUBNET) if f"-{tier}-" in r.name]


def test_prod_spreads_three_tiers_over_three_azs_with_a_nat_per_az():
    prod = plan("prod")
    for tier in ("public", "private", "isolated"):
        subnets = _subnets("prod", tier)
        assert len(subnets) == 3
        assert len({s["availabilityZone"] for s in subnets}) == 3
    assert len(prod.of_type(NAT)) == 3
    assert len({n.props["subnetId"] for n in prod.of_type(NAT)}) == 3


def test_dev_is_cheap_two_azs_one_nat_no_interface_endpoints():
    dev = plan("dev")
    assert len(_subnets("dev", "private")) == 2
    assert len(dev.of_type(NAT)) == 1
    assert [e.props["vpcEndpointType"] for e in dev.of_type(ENDPOINT)] == ["Gateway"]


def test_prod_has_private_endpoints_for_images_identity_secrets_and_logs():
    services = {e.props["serviceName"].rsplit(".", 2)[-2] + "." + e.props["serviceName"].rsplit(".", 1)[-1]
                for e in plan("prod").of_type(ENDPOINT)}
    names = {e.props["serviceName"] for e in plan("prod").of_type(ENDPOINT)}
    for service in ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs", "s3"):
        assert f"com.amazonaws.us-east-1.{service}" in names, services
    interface = [e.props for e in plan("prod").of_type(ENDPOINT) if e.props["vpcEndpointType"] == "Interface"]
    assert all(e["privateDnsEnabled"] and len(e["subnetIds"]) == 3 for e in interface)


def test_subnets_fit_the_vpc_without_overlap():
    for stack in ("dev", "staging", "prod"):
        vpc = ipaddress.ip_network(plan(stack).one("aws:ec2/vpc:Vpc").props["cidrBlock"])
        nets = [ipaddress.ip_network(s.props["cidrBlock"]) for s in plan(stack).of_type(SUBNET)]
        assert all(n.subnet_of(vpc) for n in nets)
        assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


def test_isolated_subnets_have_no_route_out():
    prod = plan("prod")
    isolated_rt = prod.one("aws:ec2/routeTable:RouteTable", "network-isolated-rt")
    routes = [r for r in prod.of_type("aws:ec2/route:Route") if r.parent == isolated_rt.urn]
    assert routes == []


def test_subnets_carry_the_tags_eks_load_balancing_expects():
    public = plan("prod").one(SUBNET, "network-public-0")
    private = plan("prod").one(SUBNET, "network-private-0")
    assert tags_of(public)["kubernetes.io/role/elb"] == "1"
    assert tags_of(private)["kubernetes.io/role/internal-elb"] == "1"
    assert public.props["mapPublicIpOnLaunch"] is False


def test_flow_logs_capture_all_traffic_to_an_encrypted_bounded_log_group():
    for stack, retention in (("dev", 14), ("prod", 365)):
        result = plan(stack)
        flow = result.one("aws:ec2/flowLog:FlowLog")
        assert flow.props["trafficType"] == "ALL"
        group = result.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
        assert flow.props["logDestination"].endswith(group.props["name"])
        assert group.props["retentionInDays"] == retention
        assert group.props["kmsKeyId"].startswith("arn:aws:kms:")


def test_default_security_group_is_stripped_of_all_rules():
    default_sg = plan("prod").one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg.props.get("ingress", []) == [] and default_sg.props.get("egress", []) == []


def test_existing_vpc_is_adopted_not_created():
    existing = {"vpcId": "vpc-0abc1234def567890", "cidr": "10.50.0.0/16",
                "publicSubnetIds": ["subnet-000000a1", "subnet-000000b1"],
                "privateSubnetIds": ["subnet-000000a2", "subnet-000000b2"],
                "isolatedSubnetIds": ["subnet-000000a3", "subnet-000000b3"]}
    result = eks_plan("dev", {"network.existingVpc": existing})
    assert result.of_type("aws:ec2/vpc:Vpc") == [] and result.of_type(SUBNET) == []
    assert result.one("aws:ec2/flowLog:FlowLog").props["vpcId"] == "vpc-0abc1234def567890"
    private = ["subnet-000000a2", "subnet-000000b2"]
    assert result.one("aws:eks/cluster:Cluster").props["vpcConfig"]["subnetIds"] == private
