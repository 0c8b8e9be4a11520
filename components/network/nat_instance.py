"""NatInstance: the private subnets' way out for ``network.egress: natInstance``, a fifth of a NAT gateway's price.

The fck-nat pattern (github.com/AndrewGuenther/fck-nat, its Terraform module RaJiska/terraform-aws-fck-nat) on
stock AL2023: a fixed network interface in the first public subnet, with its source/destination check off, is
the target of every private route table's default route; an Auto Scaling group of one instance (health check
EC2) attaches it at boot and translates what arrives on it out of its own public address. A replaced instance
takes the routes over by attaching the same interface, so no route is ever rewritten, the routes stay in the
plan for review, and the instance role needs no route-table rights.

Why not set the check on the instance: a launch template cannot. ``source_dest_check`` is an attribute of an
instance or of a network interface (``aws.ec2.NetworkInterface``), not a launch-template parameter, and the group
launches each instance with a fresh primary interface. So the fixed interface is created with the check off, and
the boot script turns it off on the instance's own primary interface (``ec2:ModifyNetworkInterfaceAttribute``,
allowed only on interfaces carrying this stack's NAT tag), through which replies leave for the private subnets.
The alternative, a launch template naming the fixed interface as device 0 (shown in the EC2 Auto Scaling user
guide's CLI examples), was not chosen: a CloudFormation user reports it failing inside an Auto Scaling group
(aws/aws-cdk#24964), and no maintained NAT-instance project uses it; fck-nat attaches at boot, as here.

Hardening: IMDSv2 with one hop, no key pair (Session Manager only), an encrypted root volume on its own CMK, a
security group that admits HTTPS from the VPC only and sends HTTPS out only. The boot script is
``templates/nat-instance.sh``: swap before dnf (0.5 GiB instances are OOM-killed resolving repositories), the
translation rule verified before forwarding is switched on, and power-off (so the group replaces the instance)
instead of a half-configured box that passes its status checks.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
from agent_contract.tags import NAT_INSTANCE_ROLE, ROLE_TAG

from components.core import iam, kms
from components.core.context import StackContext
from components.core.instances import SSM_CORE_POLICY, hardened_template_args
from components.core.templates import render as render_template
from config.network import NatInstance as NatInstanceConfig

COMPONENT = "network"
TEMPLATES = Path(__file__).parent / "templates"
HTTPS = 443


def render_user_data(*, region: str, eni_id: str, vpc_cidr: str) -> str:
    """The boot script of every NAT instance of the group (the fixed interface's ID is only known at apply)."""
    return render_template(TEMPLATES, "nat-instance.sh", region=region, eni_id=eni_id, vpc_cidr=vpc_cidr)


@dataclass(frozen=True)
class NatInstanceArgs:
    """Where the NAT instance sits (the first public subnet) and whose traffic it carries (the VPC's)."""

    config: NatInstanceConfig
    context: StackContext
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    public_subnet_id: pulumi.Input[str]


class NatInstance(pulumi.ComponentResource):
    """Fixed interface, security group, role, launch template and Auto Scaling group of one NAT instance."""

    network_interface_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    autoscaling_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: NatInstanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:network:NatInstance", name, None, opts)
        context, cfg = args.context, args.config
        tags = context.tags(COMPONENT, role=NAT_INSTANCE_ROLE, Name=f"{context.name}-nat-instance")
        child = pulumi.ResourceOptions(parent=self)

        sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id,
                                   description="NAT instance: HTTPS in from the VPC, HTTPS out",
                                   tags=tags, opts=child)
        self.security_group_id = sg.id
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-vpc", security_group_id=sg.id, cidr_ipv4=args.vpc_cidr, ip_protocol="tcp",
            from_port=HTTPS, to_port=HTTPS, description="HTTPS from the VPC's workloads, to be translated",
            tags=tags, opts=pulumi.ResourceOptions(parent=sg))
        # Workloads call AWS APIs and LLM providers over HTTPS only (their own groups allow nothing else out);
        # AL2023's package repositories are HTTPS too. DNS and time use the VPC's link-local services, which
        # security groups do not filter.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-https", security_group_id=sg.id, cidr_ipv4="0.0.0.0/0", ip_protocol="tcp",
            from_port=HTTPS, to_port=HTTPS, description="HTTPS to the internet (translated workload traffic)",
            tags=tags, opts=pulumi.ResourceOptions(parent=sg))

        eni = aws.ec2.NetworkInterface(
            f"{name}-eni", subnet_id=args.public_subnet_id, security_groups=[sg.id],
            # Traffic for the internet arrives here addressed to other hosts: the check would drop it.
            source_dest_check=False, description=f"{context.name} NAT instance: target of the private routes",
            tags=tags, opts=child)
        self.network_interface_id = eni.id

        role = self._role(name, context, tags, eni.id)
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, tags=tags, opts=child)
        volume_key = kms.volume_key(f"{name}-volume-key", account_id=context.account_id, partition=context.partition,
                                    region=context.region, tags=context.tags(COMPONENT), protect=context.protect,
                                    parent=self)
        user_data = eni.id.apply(lambda eni_id: base64.b64encode(render_user_data(
            region=context.region, eni_id=eni_id, vpc_cidr=args.vpc_cidr).encode()).decode())
        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            description=f"{context.name} NAT instance",
            **hardened_template_args(
                instance_type=cfg.instance_type, instance_profile_arn=profile.arn, root_size_gib=cfg.disk_size_gib,
                volume_key_arn=volume_key.arn, security_group_ids=[sg.id], public_address=True, parent=self),
            user_data=user_data,
            tag_specifications=[{"resource_type": kind, "tags": tags}
                                for kind in ("instance", "volume", "network-interface")],
            tags=tags,
            opts=child,
        )
        # One instance, replaced when EC2 finds it impaired (or when it powers itself off on a failed boot). No
        # instance refresh: the fixed interface attaches to one instance at a time, so a rolling refresh would
        # wait on it; a new AMI or setting reaches the group at its next replacement.
        group = aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=[args.public_subnet_id],
            min_size=1, desired_capacity=1, max_size=1,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            health_check_type="EC2",
            health_check_grace_period=120,
            tags=[{"key": k, "value": v, "propagate_at_launch": False} for k, v in tags.items()],
            opts=child,
        )
        self.autoscaling_group_name = group.name
        self.register_outputs({"network_interface_id": self.network_interface_id,
                               "security_group_id": self.security_group_id,
                               "autoscaling_group_name": self.autoscaling_group_name})

    def _role(self, name: str, context: StackContext, tags: dict[str, str],
              eni_id: pulumi.Output[str]) -> aws.iam.Role:
        """Session Manager, attaching the fixed interface, and the check on this stack's NAT interfaces only."""
        eni_arn = pulumi.Output.concat("arn:", context.partition, ":ec2:", context.region, ":", context.account_id,
                                       ":network-interface/", eni_id)
        # ec2:ResourceTag conditions on these two actions, as fck-nat's Terraform module grants them (iam.tf).
        own = {"StringEquals": {f"ec2:ResourceTag/{key}": tags[key] for key in (ROLE_TAG, "stack")}}
        policy = iam.document(
            # AttachNetworkInterface authorizes the interface and the instance: this interface, onto an instance
            # of this stack's NAT group (tagged at launch by the template).
            iam.statement(["ec2:AttachNetworkInterface"], [eni_arn], sid="AttachTheFixedInterface"),
            iam.statement(["ec2:AttachNetworkInterface"], [pulumi.Output.concat(
                "arn:", context.partition, ":ec2:", context.region, ":", context.account_id, ":instance/*")],
                sid="OntoThisStacksNatInstances", condition=own),
            iam.statement(["ec2:ModifyNetworkInterfaceAttribute"], [pulumi.Output.concat(
                "arn:", context.partition, ":ec2:", context.region, ":", context.account_id, ":network-interface/*")],
                sid="SourceDestCheckOfThisStacksNatInterfaces", condition=own),
        )
        role = aws.iam.Role(f"{name}-role", assume_role_policy=iam.trust_policy({"Service": "ec2.amazonaws.com"}),
                            description=f"{context.name} NAT instance", tags=tags,
                            opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=role)
        aws.iam.RolePolicy(f"{name}-role-interfaces", role=role.id, policy=policy, opts=child)
        aws.iam.RolePolicyAttachment(
            f"{name}-role-ssm", role=role.name,
            policy_arn=context.partition.apply(lambda p: SSM_CORE_POLICY.format(partition=p)), opts=child)
        return role
