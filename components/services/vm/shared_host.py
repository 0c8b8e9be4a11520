"""VmSharedHost: every agent service of a stack on one instance (``vm.placement: shared``), the dev economy.

One Auto Scaling group (desired 1) of the same hardened launch template as a dedicated service (IMDSv2, hop
limit 1, encrypted root volume with the VM key, no key pair, no public address, Session Manager only) runs each
service's container under systemd on one docker bridge network, with nginx in front of the api services
(``shared_userdata``). Each service keeps its own IAM role with the policy its pod or dedicated instance has;
the host's instance role may only assume those roles, pull their images, write their log groups and publish the
agent's metrics. Containers never see the instance role: see ``shared_userdata`` for how their credentials reach
them and how the metadata service is kept from them.

Built in two steps because the roles refer to each other: the host's role and security group first (the
services' roles trust the host role), then ``place`` the released services (the host's policy names their roles).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from agent_contract.tags import PLACEMENT_TAG, SHARED_PLACEMENT

from components.core import iam
from components.core.context import StackContext
from components.core.instances import SSM_CORE_POLICY, hardened_template_args
from components.core.logs import log_group
from components.core.tags import CUSTOM_METRICS_TAG
from components.services.contract import ServiceDataRefs
from components.services.vm.service import COMPONENT, DETAILED_MONITORING, PlacedService, add_egress_rules
from components.services.vm.shared_userdata import SharedContainer, SharedHostInputs, render
from components.services.vm.userdata import METRICS_NAMESPACE, UserDataInputs, agent_metric_count
from config.vm import VmRuntimeConfig, container_address


@dataclass(frozen=True)
class VmSharedHostArgs:
    config: VmRuntimeConfig
    context: StackContext
    data: ServiceDataRefs
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    private_subnet_ids: Sequence[pulumi.Input[str]]
    volume_key_arn: pulumi.Input[str]
    workload_security_group_id: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    # Whether any placed service reads DocumentDB (the host's group then allows its port out).
    mongodb: bool = False


class VmSharedHost(pulumi.ComponentResource):
    """The shared host's role, security group, log group, launch template, Auto Scaling group and scaling."""

    role_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    autoscaling_group_name: pulumi.Output[str] | None
    min_size: int

    def __init__(self, name: str, args: VmSharedHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:services:VmSharedHost", name, None, opts)
        self._name, self._args = name, args
        context = args.context
        self._tags = {**context.tags(COMPONENT), PLACEMENT_TAG: SHARED_PLACEMENT}
        child = pulumi.ResourceOptions(parent=self)
        self._role = aws.iam.Role(
            f"{name}-role", assume_role_policy=iam.trust_policy({"Service": "ec2.amazonaws.com"}),
            description="Shared agent-service host: assumes each placed service's role, pulls, logs",
            tags=self._tags, opts=child)
        self.role_arn = self._role.arn
        aws.iam.RolePolicyAttachment(
            f"{name}-role-ssm", role=self._role.name,
            policy_arn=context.partition.apply(lambda p: SSM_CORE_POLICY.format(partition=p)),
            opts=pulumi.ResourceOptions(parent=self._role))
        self._sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id,
                                         description="Shared agent-service host", tags=self._tags, opts=child)
        add_egress_rules(name, self._sg, vpc_cidr=args.vpc_cidr, data=args.data, mongodb=args.mongodb,
                         tags=self._tags)
        self.security_group_id = self._sg.id
        self._logs = log_group(f"{name}-logs", f"/{context.project}/{context.stack}/hosts/shared",
                               retention_days=args.log_retention_days, kms_key_arn=args.logs_key_arn,
                               tags=self._tags, parent=self)
        self.autoscaling_group_name = None
        self.min_size = 0

    def place(self, services: Sequence[PlacedService], target_group_arns: Sequence[pulumi.Input[str]]) -> None:
        """The host's permissions over ``services`` and the group that runs them (nothing if none is released)."""
        name, args = self._name, self._args
        if services:
            self._policy(services)
            profile = aws.iam.InstanceProfile(f"{name}-profile", role=self._role.name, tags=self._tags,
                                              opts=pulumi.ResourceOptions(parent=self))
            template = self._launch_template(profile, self._user_data(services))
            group = self._group(template, target_group_arns)
            self.autoscaling_group_name = group.name
            self.min_size = 1
            aws.autoscaling.Policy(
                f"{name}-scaling", autoscaling_group_name=group.name, policy_type="TargetTrackingScaling",
                target_tracking_configuration={
                    "predefined_metric_specification": {"predefined_metric_type": "ASGAverageCPUUtilization"},
                    "target_value": args.config.shared_cpu_utilization},
                opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"role_arn": self.role_arn, "security_group_id": self.security_group_id,
                               "autoscaling_group_name": self.autoscaling_group_name})

    def _policy(self, services: Sequence[PlacedService]) -> None:
        logs = [s.log_group_arn for s in services] + [self._logs.arn]
        host = iam.document(
            # Only the roles of the services placed here; each trusts this role and no other.
            iam.statement(["sts:AssumeRole"], [s.role_arn for s in services], sid="AssumePlacedServiceRoles"),
            # GetAuthorizationToken has no resource-level permissions: AWS requires "*" here.
            iam.statement(["ecr:GetAuthorizationToken"], "*", sid="EcrLogin"),
            iam.statement(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                          [s.pull_repo_arn for s in services], sid="PullPlacedImages"),
            iam.statement(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                          [*logs, *(pulumi.Output.concat(arn, ":log-stream:*") for arn in logs)],
                          sid="WritePlacedLogs"),
            # PutMetricData has no resource-level permissions; the namespace condition scopes it.
            iam.statement(["cloudwatch:PutMetricData"], "*", sid="PublishAgentMetrics",
                          condition={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}),
        )
        aws.iam.RolePolicy(f"{self._name}-role-host", role=self._role.id, policy=host,
                           opts=pulumi.ResourceOptions(parent=self._role))

    def _user_data(self, services: Sequence[PlacedService]) -> pulumi.Output[str]:
        args, context = self._args, self._args.context
        subnet = args.config.container_subnet

        def one(i: int, s: PlacedService) -> pulumi.Output[SharedContainer]:
            return pulumi.Output.all(
                image=s.image, registry=s.registry, log_group=s.log_group_name, role=s.role_arn,
                redis_host=s.redis_host, redis_port=s.redis_port, secrets=pulumi.Output.all(*s.secret_arns),
                environment=pulumi.Output.all(**s.environment),
            ).apply(lambda v: SharedContainer(
                inputs=UserDataInputs(
                    service=s.service, config=s.config, region=context.region, image=v["image"],
                    registry=v["registry"], log_group=v["log_group"],
                    environment={k: str(x) for k, x in v["environment"].items()},
                    secret_arns=dict(zip(s.config.secrets, v["secrets"], strict=True)),
                    redis_host=str(v["redis_host"]), redis_port=int(v["redis_port"]), proxy=s.proxy),
                role_arn=v["role"], address=container_address(subnet, i)))

        containers = [one(i, s) for i, s in enumerate(services)]
        return pulumi.Output.all(self._logs.name, *containers).apply(
            lambda v: base64.b64encode(render(SharedHostInputs(
                region=context.region, subnet=subnet, host_log_group=v[0], containers=list(v[1:]))).encode()
            ).decode())

    def _launch_template(self, profile: aws.iam.InstanceProfile,
                         user_data: pulumi.Input[str]) -> aws.ec2.LaunchTemplate:
        args, cfg = self._args, self._args.config
        instance_tags = {**self._tags, "Name": f"{args.context.name}-shared-host"}
        return aws.ec2.LaunchTemplate(
            f"{self._name}-template",
            description="Shared agent-service host",
            # Containers run on a bridge network: one hop more than the host, so the hop limit of 1 keeps IMDSv2
            # tokens from them (and the DOCKER-USER rule drops their metadata traffic outright).
            **hardened_template_args(
                instance_type=cfg.shared_instance_type, instance_profile_arn=profile.arn,
                root_size_gib=cfg.shared_disk_size_gib, volume_key_arn=args.volume_key_arn,
                security_group_ids=[self._sg.id, args.workload_security_group_id], parent=self),
            monitoring={"enabled": DETAILED_MONITORING[args.context.environment]},
            user_data=user_data,
            tag_specifications=[{"resource_type": kind, "tags": instance_tags} for kind in ("instance", "volume")],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _group(self, template: aws.ec2.LaunchTemplate,
               target_group_arns: Sequence[pulumi.Input[str]]) -> aws.autoscaling.Group:
        cfg = self._args.config
        warmup = 600
        # A second host starts before the first stops when the group may hold two. "The difference between them
        # cannot be greater than 100" (EC2 Auto Scaling API Reference, InstanceMaintenancePolicy/RefreshPreferences).
        low, high = (100, 200) if cfg.shared_max_size > 1 else (0, 100)
        return aws.autoscaling.Group(
            f"{self._name}-asg",
            vpc_zone_identifiers=list(self._args.private_subnet_ids),
            min_size=1, desired_capacity=1, max_size=cfg.shared_max_size,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            # Registered with the load balancer (public edge): its verdict replaces the host; otherwise EC2 status
            # checks do, and systemd restarts a container whose liveness probe fails.
            health_check_type="ELB" if target_group_arns else "EC2",
            health_check_grace_period=600,
            target_group_arns=list(target_group_arns),
            default_instance_warmup=warmup,
            instance_refresh={"strategy": "Rolling", "preferences": {
                "min_healthy_percentage": low, "max_healthy_percentage": high,
                "instance_warmup": str(warmup), "auto_rollback": True}},
            enabled_metrics=["GroupInServiceInstances", "GroupDesiredCapacity", "GroupPendingInstances",
                             "GroupTerminatingInstances"],
            metrics_granularity="1Minute",
            tags=[{"key": k, "value": v, "propagate_at_launch": False}
                  for k, v in {**self._tags, CUSTOM_METRICS_TAG: str(agent_metric_count())}.items()],
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )

