"""Network intent: address plan, AZ spread, egress and private connectivity."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.base import Cidr, LogRetentionDays, Matching, Model, unique
from config.catalog import instance_type_problem
from config.errors import Problems

DEFAULT_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs")


# A VPC's IPv4 block is between /16 and /28 (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html).
VPC_PREFIX_RANGE = (16, 28)
SubnetId = Matching(r"^subnet-[0-9a-f]{8,17}$", "a subnet ID", "subnet-0123456789abcdef0")


def vpc_cidr(value: str) -> str:
    prefix = ipaddress.ip_network(value).prefixlen
    low, high = VPC_PREFIX_RANGE
    if ipaddress.ip_network(value).version != 4 or not low <= prefix <= high:
        raise ValueError(f"'{value}' cannot be a VPC block: AWS allows IPv4 blocks from /{low} (65,536 addresses) to "
                         f"/{high} (e.g. 10.0.0.0/16)")
    return value


class ExistingVpc(Model):
    """Bring your own VPC: ids of a VPC and its three subnet tiers (one subnet per AZ)."""

    vpc_id: Matching(r"^vpc-[0-9a-f]{8,17}$", "a VPC ID",  # type: ignore[valid-type]
                     "vpc-0123456789abcdef0") = Field(examples=["vpc-0123456789abcdef0"])
    cidr: Cidr = Field(examples=["10.0.0.0/16"])
    public_subnet_ids: list[SubnetId] = Field(  # type: ignore[valid-type]
        min_length=2, examples=[["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]])
    private_subnet_ids: list[SubnetId] = Field(  # type: ignore[valid-type]
        min_length=2, examples=[["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]])
    isolated_subnet_ids: list[SubnetId] = Field(  # type: ignore[valid-type]
        min_length=2, examples=[["subnet-0123456789abcdef4", "subnet-0123456789abcdef5"]])

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return vpc_cidr(value)

    @field_validator("public_subnet_ids", "private_subnet_ids", "isolated_subnet_ids")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return unique(value, "subnet")


class FlowLogs(Model):
    retention_days: LogRetentionDays = Field(default=90, description="Retention of the flow log group (a "
                                                                     "CloudWatch Logs retention).")

    traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"


class NatInstance(Model):
    """The NAT instance of ``egress: natInstance``: one hardened AL2023 instance in an Auto Scaling group of one.

    The private route tables point at a fixed network interface (source/destination check off) that every
    instance of the group attaches at boot, so a replaced instance takes over the routes with no route change
    (the fck-nat pattern). About $3/month on t4g.nano against $33 for a NAT gateway, for one AZ's worth of
    availability and burstable bandwidth: dev and small staging stacks only.
    """

    instance_type: str = Field(default="t4g.nano", description="EC2 instance type; Graviton (…g.) types run arm64.")
    disk_size_gib: int = Field(default=8, ge=8, le=64,
                               description="Encrypted gp3 root volume (AL2023's AMI snapshot is 8 GiB).")
    # 8 GiB: the stock AL2023 AMI's root, as the database bootstrap instance boots it, and fck-nat's Terraform
    # module's default (RaJiska/terraform-aws-fck-nat variables.tf, ebs_root_volume_size).

    @field_validator("instance_type")
    @classmethod
    def _valid(cls, value: str) -> str:
        problem = instance_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class SubnetLayout(Model):
    """CIDRs per AZ for each tier, in AZ order."""

    public: list[str]
    private: list[str]
    isolated: list[str]


class NetworkConfig(Model):
    cidr: Cidr = "10.0.0.0/16"
    az_count: int = Field(default=3, ge=2, le=3, description="Availability zones to spread subnets over.")
    nat_gateways: Literal["single", "perAz"] = Field(
        default="perAz", description="One NAT gateway per AZ (HA) or a single shared one (cheap)."
    )
    egress: Literal["natGateway", "natInstance"] = Field(
        default="natGateway", description="How private subnets reach the internet: managed NAT gateways "
                                          "(natGateways says how many) or one NAT instance (natInstance; cheap, "
                                          "one AZ, not for prod). An adopted VPC (existingVpc) keeps its own.")
    nat_instance: NatInstance = Field(default_factory=NatInstance,
                                      description="Sizing of the NAT instance (egress: natInstance).")
    public_subnet_prefix: int = Field(default=24, ge=16, le=28)
    private_subnet_prefix: int = Field(default=19, ge=16, le=28, description="Workload subnets; pods take VPC IPs.")
    isolated_subnet_prefix: int = Field(default=24, ge=16, le=28)
    interface_endpoints: list[str] = Field(
        default_factory=lambda: list(DEFAULT_INTERFACE_ENDPOINTS),
        description="Interface endpoint services (empty list: none, traffic uses NAT).",
    )
    flow_logs: FlowLogs = FlowLogs()
    existing_vpc: ExistingVpc | None = None

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return vpc_cidr(value)

    @field_validator("interface_endpoints")
    @classmethod
    def _endpoints(cls, value: list[str]) -> list[str]:
        return unique(value, "endpoint service")

    @model_validator(mode="after")
    def _fits(self) -> NetworkConfig:
        # Only a perAz the stack (or its tier) asked for: the model's own default is no request.
        if self.egress == "natInstance" and self.nat_gateways == "perAz" and self.existing_vpc is None \
                and "nat_gateways" in self.model_fields_set:
            raise Problems([("natGateways", "'perAz' counts NAT gateways, and egress natInstance has none; set "
                                            "natGateways: single or egress: natGateway")])
        if self.existing_vpc is None:
            self.layout()  # raises ValueError when the VPC is too small
        else:
            problems = []
            for tier in ("publicSubnetIds", "privateSubnetIds", "isolatedSubnetIds"):
                given = getattr(self.existing_vpc, {"publicSubnetIds": "public_subnet_ids",
                                                    "privateSubnetIds": "private_subnet_ids",
                                                    "isolatedSubnetIds": "isolated_subnet_ids"}[tier])
                if len(given) < self.az_count:
                    problems.append((f"existingVpc.{tier}", f"needs one subnet per AZ ({self.az_count}), got "
                                                            f"{len(given)}"))
            if problems:
                raise Problems(problems)
        return self

    def layout(self) -> SubnetLayout:
        """Carve the VPC into per-AZ subnets, largest first so every block stays aligned."""
        vpc = ipaddress.ip_network(self.cidr)
        wanted = sorted(
            [("private", self.private_subnet_prefix), ("public", self.public_subnet_prefix),
             ("isolated", self.isolated_subnet_prefix)],
            key=lambda t: t[1],
        )
        for tier, prefix in wanted:
            if prefix < vpc.prefixlen:
                raise ValueError(f"{tier} subnets (/{prefix}) are larger than the VPC {self.cidr}")
        cursor = int(vpc.network_address)
        end = int(vpc.broadcast_address) + 1
        out: dict[str, list[str]] = {"public": [], "private": [], "isolated": []}
        for tier, prefix in wanted:
            size = 2 ** (32 - prefix)
            for _ in range(self.az_count):
                cursor = -(-cursor // size) * size
                if cursor + size > end:
                    need = sum(2 ** (32 - p) for _, p in wanted) * self.az_count
                    raise ValueError(
                        f"VPC {self.cidr} ({vpc.num_addresses} addresses) is too small for {self.az_count} AZs of "
                        f"/{self.public_subnet_prefix} public, /{self.private_subnet_prefix} private and "
                        f"/{self.isolated_subnet_prefix} isolated subnets (needs at least {need})"
                    )
                out[tier].append(str(ipaddress.ip_network((cursor, prefix))))
                cursor += size
        return SubnetLayout(**out)
