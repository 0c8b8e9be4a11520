"""VPC with public, private (workloads) and isolated (data) subnets across AZs; egress by NAT gateway or instance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core.context import StackContext
from components.network.flow_logs import flow_log
from components.network.nat_instance import NatInstance, NatInstanceArgs
from components.network.zones import availability_zones
from config.network import NetworkConfig


@dataclass(frozen=True)
class NetworkArgs:
    config: NetworkConfig
    context: StackContext
    logs_key_arn: pulumi.Input[str]
    instance_type_choices: Sequence[Sequence[str]] = ()
    """Each compute group's instance types (any one will do): only zones offering them get subnets."""


class Network(pulumi.ComponentResource):
    """Creates the VPC (or adopts an existing one) with flow logs and private AWS endpoints."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    # The CIDRs of the public (load balancer) and isolated (database, cache) tiers.
    public_cidrs: list[str]
    isolated_cidrs: list[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    isolated_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:network:Network", name, None, opts)
        self._name = name
        self._cfg = args.config
        self._instance_type_choices = args.instance_type_choices
        self._context = args.context
        self._tags = args.context.tags
        existing = args.config.existing_vpc
        if existing is not None:
            self.vpc_cidr = existing.cidr
            # Adopted subnets' ranges are not in the config: the whole VPC stands for each tier.
            self.public_cidrs = self.isolated_cidrs = [existing.cidr]
            self.vpc_id = pulumi.Output.from_input(existing.vpc_id)
            self.public_subnet_ids = [pulumi.Output.from_input(i) for i in existing.public_subnet_ids]
            self.private_subnet_ids = [pulumi.Output.from_input(i) for i in existing.private_subnet_ids]
            self.isolated_subnet_ids = [pulumi.Output.from_input(i) for i in existing.isolated_subnet_ids]
        else:
            self._create_vpc()
        self._flow_logs(args.logs_key_arn)
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids,
            "isolated_subnet_ids": self.isolated_subnet_ids,
        })

    def _tags_for(self, role: str, **extra: str) -> dict[str, str]:
        return self._tags("network", Name=f"{self._context.name}-{role}", **extra)

    def _create_vpc(self) -> None:
        name, cfg = self._name, self._cfg
        child = pulumi.ResourceOptions(parent=self)
        layout = cfg.layout()
        self.vpc_cidr = cfg.cidr
        self.public_cidrs, self.isolated_cidrs = list(layout.public), list(layout.isolated)
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=cfg.cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags=self._tags_for("vpc"), opts=child)
        self.vpc_id = vpc.id
        # Adopt the default security group and strip every rule, so nothing can use it by accident.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[],
                                     tags=self._tags_for("default-sg-unused"), opts=child)
        azs = availability_zones(self._context.region, cfg.az_count, self._instance_type_choices)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=self._tags_for("igw"), opts=child)

        cluster_tag = f"kubernetes.io/cluster/{self._context.name}"
        public, private, isolated = [], [], []
        # Subnets, NAT gateways and route tables stay named by AZ slot (public-0, ...): slot i owns CIDR block i of
        # the layout, so the slot is the stable value; the zone behind it is chosen by zone ID (see _zones).
        for i in range(cfg.az_count):
            az = azs.apply(lambda names, i=i: names[i])  # type: ignore[index]
            public.append(aws.ec2.Subnet(
                f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=layout.public[i], availability_zone=az,
                map_public_ip_on_launch=False,
                tags=self._tags_for(f"public-{i}", **{"kubernetes.io/role/elb": "1", cluster_tag: "shared"}),
                opts=child))
            private.append(aws.ec2.Subnet(
                f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=layout.private[i], availability_zone=az,
                tags=self._tags_for(f"private-{i}", **{"kubernetes.io/role/internal-elb": "1", cluster_tag: "shared"}),
                opts=child))
            isolated.append(aws.ec2.Subnet(
                f"{name}-isolated-{i}", vpc_id=vpc.id, cidr_block=layout.isolated[i], availability_zone=az,
                tags=self._tags_for(f"isolated-{i}"), opts=child))
        self.public_subnet_ids = [s.id for s in public]
        self.private_subnet_ids = [s.id for s in private]
        self.isolated_subnet_ids = [s.id for s in isolated]

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags=self._tags_for("public-rt"), opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=pulumi.ResourceOptions(parent=public_rt))
        for i, subnet in enumerate(public):
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}-rta", subnet_id=subnet.id, route_table_id=public_rt.id,
                                          opts=pulumi.ResourceOptions(parent=subnet))

        # Each private route table's default route: a NAT gateway's id, or the NAT instance's fixed interface.
        targets: list[dict[str, pulumi.Output[str]]]
        if cfg.egress == "natInstance":
            nat_instance = NatInstance(f"{name}-nat-instance", NatInstanceArgs(
                config=cfg.nat_instance, context=self._context, vpc_id=vpc.id, vpc_cidr=cfg.cidr,
                public_subnet_id=public[0].id), opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]))
            targets = [{"network_interface_id": nat_instance.network_interface_id}]
        else:
            nat_count = cfg.az_count if cfg.nat_gateways == "perAz" else 1
            targets = []
            for i in range(nat_count):
                eip = aws.ec2.Eip(f"{name}-nat-{i}-eip", domain="vpc", tags=self._tags_for(f"nat-{i}"), opts=child)
                targets.append({"nat_gateway_id": aws.ec2.NatGateway(
                    f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=public[i].id, tags=self._tags_for(f"nat-{i}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])).id})

        route_tables = []
        for i, subnet in enumerate(private):
            rt = aws.ec2.RouteTable(f"{name}-private-{i}-rt", vpc_id=vpc.id, tags=self._tags_for(f"private-{i}-rt"),
                                    opts=child)
            aws.ec2.Route(f"{name}-private-{i}-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                          **targets[i % len(targets)], opts=pulumi.ResourceOptions(parent=rt))
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}-rta", subnet_id=subnet.id, route_table_id=rt.id,
                                          opts=pulumi.ResourceOptions(parent=subnet))
            route_tables.append(rt)

        # Isolated subnets have no route out: data services only talk inside the VPC.
        isolated_rt = aws.ec2.RouteTable(f"{name}-isolated-rt", vpc_id=vpc.id, tags=self._tags_for("isolated-rt"),
                                         opts=child)
        for i, subnet in enumerate(isolated):
            aws.ec2.RouteTableAssociation(f"{name}-isolated-{i}-rta", subnet_id=subnet.id,
                                          route_table_id=isolated_rt.id, opts=pulumi.ResourceOptions(parent=subnet))

        region = self._context.region
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint", vpc_id=vpc.id, service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway", route_table_ids=[*(rt.id for rt in route_tables), isolated_rt.id],
            tags=self._tags_for("s3-endpoint"), opts=child)
        if cfg.interface_endpoints:
            self._interface_endpoints(vpc, private)

    def _interface_endpoints(self, vpc: aws.ec2.Vpc, private: list[aws.ec2.Subnet]) -> None:
        name = self._name
        sg = aws.ec2.SecurityGroup(f"{name}-endpoints-sg", vpc_id=vpc.id,
                                   description="HTTPS from inside the VPC to AWS interface endpoints",
                                   tags=self._tags_for("endpoints-sg"), opts=pulumi.ResourceOptions(parent=self))
        aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-https", security_group_id=sg.id,
                                         cidr_ipv4=self.vpc_cidr, ip_protocol="tcp", from_port=443, to_port=443,
                                         description="HTTPS from the VPC", tags=self._tags_for("endpoints-https"),
                                         opts=pulumi.ResourceOptions(parent=sg))
        for service in self._cfg.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}-endpoint", vpc_id=vpc.id,
                service_name=f"com.amazonaws.{self._context.region}.{service}", vpc_endpoint_type="Interface",
                private_dns_enabled=True, subnet_ids=[s.id for s in private], security_group_ids=[sg.id],
                tags=self._tags_for(f"{service}-endpoint"), opts=pulumi.ResourceOptions(parent=self))

    def _flow_logs(self, logs_key_arn: pulumi.Input[str]) -> None:
        cfg, context = self._cfg, self._context
        flow_log(self, self._name, context, vpc_id=self.vpc_id,
                 group_name=f"/agent-platform/{context.stack}/vpc-flow-logs",
                 retention_days=cfg.flow_logs.retention_days, key_arn=logs_key_arn,
                 traffic_type=cfg.flow_logs.traffic_type, tags=self._tags("network"))
