"""The standby network in the DR region: isolated subnets for what must already live there before a disaster.

Two things need subnets in the DR region while the primary region is healthy: the DocumentDB global cluster's
secondary (a cluster always sits in a DB subnet group of its region) and the restore tests that restore databases
from the DR vault. Neither may sit in the region's default VPC, whose subnets are public and whose default
security group admits itself. This VPC has no internet gateway, no NAT, no route beyond its own CIDR: nothing in it
reaches or is reached from outside. It costs nothing but its flow log.

After a region loss the DR stack (``recovery``) builds its own network; the runbook restores the promoted
DocumentDB cluster's snapshot there (docs/runbooks/disaster-recovery.md). ``backup.replication.standbyCidr`` is
kept apart from the DR stack's ``network.cidr`` so the two could also be peered.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core import kms
from components.core.context import StackContext
from components.network.flow_logs import flow_log
from components.network.zones import availability_zones

COMPONENT = "network"
# DocumentDB and RDS DB subnet groups need subnets in at least two AZs; three match the primary's layout.
ZONES = 3


def subnet_cidrs(cidr: str, count: int = ZONES) -> list[str]:
    """``count`` equal subnets of ``cidr`` (the next power of two up, so a /24 gives three /26s)."""
    network = ipaddress.ip_network(cidr)
    extra = (count - 1).bit_length()
    return [str(s) for s in list(network.subnets(prefixlen_diff=extra))[:count]]


@dataclass(frozen=True)
class StandbyNetworkArgs:
    context: StackContext
    region: str
    provider: aws.Provider
    cidr: str
    flow_log_retention_days: int


class StandbyNetwork(pulumi.ComponentResource):
    """A VPC of isolated subnets in the DR region, its flow log and a CloudWatch Logs key of that region."""

    vpc_id: pulumi.Output[str]
    subnet_ids: list[pulumi.Output[str]]
    logs_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: StandbyNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:network:StandbyNetwork", name, None, opts)
        context, region = args.context, args.region
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        def tags(role: str) -> dict[str, str]:
            return context.tags(COMPONENT, Name=f"{context.name}-standby-{role}")

        # CloudWatch Logs in the DR region encrypts with a key of that region (the primary's LogsKey cannot).
        logs_key = kms.customer_key(
            f"{name}-logs-key", "logs-dr", account_id=context.account_id, partition=context.partition,
            tags=context.tags("security"), protect=context.protect,
            service_principals=[f"logs.{region}.amazonaws.com"],
            service_conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                "arn:", context.partition, ":logs:", region, ":", context.account_id, ":log-group:*")}},
            parent=self, provider=args.provider)
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags=tags("vpc"), opts=child)
        # Adopt the default security group and strip every rule, so nothing can use it by accident.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[],
                                     tags=tags("default-sg-unused"), opts=child)
        zones = availability_zones(region, ZONES, [], opts=pulumi.InvokeOutputOptions(provider=args.provider))
        subnets = [
            aws.ec2.Subnet(f"{name}-isolated-{i}", vpc_id=vpc.id, cidr_block=cidr,
                           availability_zone=zones.apply(lambda names, i=i: names[i]),  # type: ignore[index]
                           map_public_ip_on_launch=False, tags=tags(f"isolated-{i}"), opts=child)
            for i, cidr in enumerate(subnet_cidrs(args.cidr))
        ]
        # Every VPC logs its traffic (CIS AWS 3.9), this one included, though nothing should flow in it.
        flow_log(self, name, args.context, vpc_id=vpc.id,
                 group_name=f"/agent-platform/{args.context.stack}/standby-vpc-flow-logs",
                 retention_days=args.flow_log_retention_days, key_arn=logs_key.arn, traffic_type="ALL",
                 tags=tags("flow-log"), provider=args.provider)

        self.vpc_id = vpc.id
        self.subnet_ids = [s.id for s in subnets]
        self.logs_key_arn = logs_key.arn
        self.register_outputs({"vpc_id": self.vpc_id, "subnet_ids": self.subnet_ids})
