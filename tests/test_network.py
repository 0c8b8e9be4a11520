"""Network per tier: AZ spread, NAT, endpoints, flow logs and the locked-down default SG."""

from __future__ import annotations

import ipaddress

import pytest

from tests.conftest import STACKS
from tests.harness import eks_plan, plan, tags_of

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def _subnets(stack: str, tier: str) -> list[dict]:
    return [r.props for r in plan(stack).of_type(SUBNET) if r.name.startswith(f"network-{tier}-")]


def test_prod_spreads_three_tiers_over_three_azs_with_a_nat_per_az():
    prod = plan("prod")
    for tier in ("public", "private", "isolated"):
        subnets = _subnets("prod", tier)
        assert len(subnets) == 3
        assert len({s["availabilityZone"] for s in subnets}) == 3
    assert len(prod.of_type(NAT)) == 3
    assert len({n.props["subnetId"] for n in prod.of_type(NAT)}) == 3


def test_dev_is_cheap_two_azs_one_nat_instance_no_interface_endpoints():
    dev = plan("dev")
    assert len(_subnets("dev", "private")) == 2
    assert dev.of_type(NAT) == []
    assert len(dev.of_type("aws:ec2/networkInterface:NetworkInterface")) == 1  # the NAT instance's (test_nat_instance)
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
    for stack in STACKS:
        # The VPC of the stack's region, and the standby VPC of the DR region where there is one.
        for prefix in ("network", "standby"):
            vpcs = [v for v in plan(stack).of_type("aws:ec2/vpc:Vpc") if v.name == f"{prefix}-vpc"]
            if not vpcs:
                continue
            vpc = ipaddress.ip_network(vpcs[0].props["cidrBlock"])
            nets = [ipaddress.ip_network(s.props["cidrBlock"]) for s in plan(stack).of_type(SUBNET)
                    if s.name.startswith(f"{prefix}-")]
            assert nets and all(n.subnet_of(vpc) for n in nets)
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
        flow = result.one("aws:ec2/flowLog:FlowLog", "network-flow-log")
        assert flow.props["trafficType"] == "ALL"
        group = result.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
        assert flow.props["logDestination"].endswith(group.props["name"])
        assert group.props["retentionInDays"] == retention
        assert group.props["kmsKeyId"].startswith("arn:aws:kms:")


def test_default_security_group_is_stripped_of_all_rules():
    for name in ("network-default-sg", "standby-default-sg"):
        default_sg = plan("prod").one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", name)
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


# --- availability zones by zone ID ---------------------------------------------------------------------------


def test_subnets_skip_the_zone_eks_refuses():
    # The mock account maps us-east-1c to use1-az3, where EKS refuses cluster subnets (EKS network requirements).
    from planning.mock_outputs import _zone_ids

    for stack in STACKS:
        planned = plan(stack)
        zones = {s.props["availabilityZone"] for s in planned.of_type("aws:ec2/subnet:Subnet")
                 if s.name.startswith("network-")}
        by_name = dict(_zone_ids(next(iter(zones))[:-1]))  # the region of the stack's subnets (prod-dr: us-west-2)
        assert "use1-az3" not in {by_name[z] for z in zones}, stack
    prod_private = sorted(s.props["availabilityZone"] for s in plan("prod").of_type("aws:ec2/subnet:Subnet")
                          if s.name.startswith("network-private-"))
    assert prod_private == ["us-east-1a", "us-east-1b", "us-east-1d"]


def test_zones_without_the_instance_types_are_skipped_in_region_order():
    from components.network.zones import choose_zones

    names = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e"]
    ids = ["use1-az6", "use1-az3", "use1-az1", "use1-az2", "use1-az4"]
    offered = {"use1-az6": {"t3.large"}, "use1-az3": {"m7i.large"}, "use1-az1": {"m7i.large"},
               "use1-az2": {"m7i.large", "t3.large"}, "use1-az4": {"m7i.xlarge"}}
    # One group may run on either type; use1-az3 offers one but EKS refuses it; use1-az4 offers neither.
    assert choose_zones(names, ids, offered, [["m7i.large", "t3.large"]], 3, region="us-east-1") == \
        ["us-east-1a", "us-east-1c", "us-east-1d"]
    # Every group needs one of its types in the zone.
    assert choose_zones(names, ids, offered, [["m7i.large"], ["t3.large"]], 1, region="us-east-1") == ["us-east-1d"]
    with pytest.raises(ValueError, match=r"network\.azCount needs 2"):
        choose_zones(names, ids, offered, [["m7i.large"], ["t3.large"]], 2, region="us-east-1")


def test_mock_zone_lookup_honours_excluded_zone_ids():
    from planning.mock_outputs import INVOKES

    answer = INVOKES["aws:index/getAvailabilityZones:getAvailabilityZones"]({"excludeZoneIds": ["use1-az3"]},
                                                                             "us-east-1")
    assert "use1-az3" not in answer["zoneIds"] and "us-east-1c" not in answer["names"]
    assert len(answer["names"]) == len(answer["zoneIds"]) == 5


def test_the_standby_network_lies_in_the_dr_region_with_no_route_out():
    """The DR region's isolated subnets (DocumentDB secondary, DR restore tests): zones of that region, nothing else."""
    prod = plan("prod")
    standby = [s for s in prod.of_type(SUBNET) if s.name.startswith("standby-")]
    assert sorted(s.props["availabilityZone"] for s in standby) == ["us-west-2a", "us-west-2b", "us-west-2c"]
    assert all(s.props["mapPublicIpOnLaunch"] is False for s in standby)
    vpc = prod.one("aws:ec2/vpc:Vpc", "standby-vpc")
    assert vpc.props["cidrBlock"] == "10.255.0.0/24"
    for kind in ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway",
                 "aws:ec2/routeTable:RouteTable", "aws:ec2/vpcEndpoint:VpcEndpoint"):
        assert not [r for r in prod.of_type(kind) if vpc.urn in r.property_dependencies.get("vpcId", ())], kind
    flow = prod.one("aws:ec2/flowLog:FlowLog", "standby-flow-log")
    group = prod.one("aws:cloudwatch/logGroup:LogGroup", "standby-flow-logs")
    assert flow.props["trafficType"] == "ALL" and flow.props["logDestination"].endswith(group.props["name"])
    key = prod.one("aws:kms/key:Key", "standby-logs-key")
    assert key.provider == vpc.provider == group.provider and "aws-dr" in (key.provider or "")
    assert "logs.us-west-2.amazonaws.com" in key.props["policy"]
