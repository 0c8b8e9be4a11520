"""VmAgentService: one agent API or queue worker on EC2, for stacks with ``runtime: vm`` (no Kubernetes).

Each instance runs the service's container under systemd (``vm_userdata``), pulled by digest from the
service's ECR repository, with the pod's limits and hardening; an api instance puts nginx (``vm_proxy``)
between the load balancer and the container. An Auto Scaling group across the private
subnets keeps the capacity, replaces instances the load balancer marks unhealthy and rolls a new launch
template out with an instance refresh. The instance role holds exactly what the pod's IRSA role holds,
plus image pull, its log group and Session Manager.

A service with no image yet (``ServiceConfig.released`` is false, as on a stack's first ``pulumi up``, which
creates its repository empty) gets its repository, role, log group, security group and target group, but no
launch template, group or scaling policy: nothing would start. Setting the pushed digest adds them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from agent_contract.tags import PLACEMENT_TAG, SHARED_PLACEMENT

from components.core import iam, kms
from components.core.context import StackContext
from components.core.instances import SSM_CORE_POLICY, hardened_template_args
from components.core.logs import log_group
from components.core.tags import CUSTOM_METRICS_TAG
from components.services.contract import ServiceDataRefs, service_environment
from components.services.identity import service_policy
from components.services.image import built_image, repository
from components.services.vm.nginx import PROXY_PORT, ProxySpec
from components.services.vm.userdata import METRICS_NAMESPACE, QUEUE_METRIC, UserDataInputs, agent_metric_count, render
from config.delivery import ImagePullConfig
from config.images import is_digest_pinned
from config.services import ServiceConfig

COMPONENT = "services"
_ECR_IMAGE = re.compile(r"^(?P<registry>(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com)/"
                        r"(?P<repo>[^:@]+)(:(?P<tag>[^@]+))?(@(?P<digest>sha256:[0-9a-f]{64}))?$")
# Detailed (1-minute) instance monitoring where faster scaling and alarms are worth its price.
DETAILED_MONITORING = {"dev": False, "staging": True, "prod": True}


def ecr_image_parts(image: str) -> dict[str, str] | None:
    """registry, account, region, repo, tag, digest of an ECR image reference (None for other registries)."""
    match = _ECR_IMAGE.match(image)
    return {k: v for k, v in match.groupdict().items() if v is not None} if match else None


@dataclass(frozen=True)
class VmAgentServiceArgs:
    """A service's config plus where its instances live: private subnets, data tier references, keys.

    ``callee_urls`` are the URLs of the services this one calls (their edge routes: instances have no
    cluster DNS). ``volume_key_arn`` encrypts the root volumes; ``ecr_key_arn`` the image repository.
    ``proxy`` is the edge's route to an api service, which its instances' nginx enforces (None for workers).
    """

    service_name: str
    config: ServiceConfig
    context: StackContext
    data: ServiceDataRefs
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    private_subnet_ids: Sequence[pulumi.Input[str]]
    ecr_key_arn: pulumi.Input[str]
    volume_key_arn: pulumi.Input[str]
    workload_security_group_id: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int
    callee_urls: Mapping[str, str] = field(default_factory=dict)
    proxy: ProxySpec | None = None
    # Other accounts' deploy roles that may pull the repository's images to promote them (delivery.imagePull).
    image_pull: ImagePullConfig | None = None
    # vm.placement shared: the host the container runs on (its role alone may assume this service's role).
    shared_host: SharedHostRefs | None = None


@dataclass(frozen=True)
class SharedHostRefs:
    """What a service placed on the shared host needs from it: whom its role trusts, which group carries it."""

    role_arn: pulumi.Input[str]
    security_group_id: pulumi.Input[str]


@dataclass(frozen=True)
class PlacedService:
    """A released service's container on the shared host: what the host's boot script and role are built from."""

    service: str
    config: ServiceConfig
    image: pulumi.Output[str]
    registry: pulumi.Output[str]
    pull_repo_arn: pulumi.Input[str]
    log_group_name: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    secret_arns: list[pulumi.Input[str]]
    environment: Mapping[str, pulumi.Input[str]]
    redis_host: pulumi.Input[str]
    redis_port: pulumi.Input[int]
    proxy: ProxySpec | None


class VmAgentService(pulumi.ComponentResource):
    """ECR repository, instance role, security group, launch template, Auto Scaling group and scaling policy."""

    service_name: str
    kind: str
    port: int
    url: str
    role_arn: pulumi.Output[str]
    image_ref: pulumi.Output[str] | None  # None until the service is released
    repository_url: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    autoscaling_group_name: pulumi.Output[str] | None  # None until the service is released
    min_size: int
    target_group: aws.lb.TargetGroup | None
    target_port: int
    # vm.placement shared: the container the shared host runs (None until released, and when dedicated).
    placed: PlacedService | None

    def __init__(self, name: str, args: VmAgentServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:services:VmAgentService", name, None, opts)
        cfg, context, svc = args.config, args.context, args.service_name
        self.service_name, self.kind, self.port = svc, cfg.kind, cfg.port
        self.url = ""
        self._name, self._args = name, args
        self._tags = context.tags(COMPONENT, service=svc)
        child = pulumi.ResourceOptions(parent=self)

        repo = repository(f"{name}-repo", svc, context=context, key_arn=args.ecr_key_arn,
                          keep_images=cfg.image_retention_count, parent=self, image_pull=args.image_pull)
        self.repository_url = repo.repository_url
        image = self._image(repo) if cfg.released else None
        self.image_ref = image[0] if image is not None else None
        pull_repo_arn = image[2] if image is not None else repo.arn

        group_name = f"/{context.project}/{context.stack}/containers/{svc}"
        logs = log_group(f"{name}-logs", group_name, retention_days=args.log_retention_days,
                         kms_key_arn=args.logs_key_arn, tags=self._tags, parent=self)
        shared = args.shared_host
        role = self._role(pull_repo_arn, logs.arn) if shared is None else self._placed_role(shared)
        self.role_arn = role.arn
        self.placed = None
        profile, sg = None, None
        if shared is None:
            profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, tags=self._tags, opts=child)
            sg = self._security_group()
            self.security_group_id = sg.id
        else:
            self.security_group_id = pulumi.Output.from_input(shared.security_group_id)

        if (cfg.kind == "api") != (args.proxy is not None):
            raise ValueError(f"service {svc}: api services on the VM runtime need the edge's route (and only "
                             "they have one)")
        self.target_group = None
        # The load balancer reaches api instances only through nginx; the container port stays closed. On the
        # shared host nginx listens on each api service's own port (the container is on the docker bridge).
        self.target_port = PROXY_PORT if shared is None else cfg.port
        if cfg.kind == "api" and args.proxy is not None and args.proxy.alb_in_front:
            self.target_group = aws.lb.TargetGroup(
                f"{name}-targets", target_type="instance", protocol="HTTP", port=self.target_port,
                vpc_id=args.vpc_id,
                # In-flight LLM calls finish before the instance is taken out of service.
                deregistration_delay=cfg.termination_grace_period_seconds - cfg.pre_stop_delay_seconds,
                health_check={"enabled": True, "protocol": "HTTP", "port": "traffic-port",
                              "path": cfg.probes.readiness_path, "matcher": "200", "interval": 15, "timeout": 5,
                              "healthy_threshold": 2, "unhealthy_threshold": 3},
                tags=self._tags, opts=child)

        self.autoscaling_group_name = None
        self.min_size = 0
        if image is not None and shared is not None:
            self.placed = PlacedService(
                service=svc, config=cfg, image=image[0], registry=image[1], pull_repo_arn=pull_repo_arn,
                log_group_name=logs.name, log_group_arn=logs.arn, role_arn=role.arn,
                secret_arns=self._own_secret_arns(),
                environment=service_environment(svc, cfg, context, args.data, args.callee_urls),
                redis_host=args.data.redis_host, redis_port=args.data.redis_port, proxy=args.proxy)
        elif image is not None and profile is not None and sg is not None:
            self._workload(image[0], image[1], logs, profile, sg)
        outputs = {"role_arn": self.role_arn, "image_ref": self.image_ref, "repository_url": self.repository_url,
                   "security_group_id": self.security_group_id, "autoscaling_group_name": self.autoscaling_group_name}
        self.register_outputs(outputs)

    # -- helpers --------------------------------------------------------------------------------------------

    def _workload(self, image_ref: pulumi.Output[str], registry: pulumi.Output[str],
                  logs: aws.cloudwatch.LogGroup, profile: aws.iam.InstanceProfile,
                  sg: aws.ec2.SecurityGroup) -> None:
        """Launch template, Auto Scaling group and scaling policy: what runs the released image."""
        args, cfg, context, svc = self._args, self._args.config, self._args.context, self.service_name
        user_data = pulumi.Output.all(
            image=image_ref, registry=registry, log_group=logs.name, redis_host=args.data.redis_host,
            redis_port=args.data.redis_port, secrets=pulumi.Output.all(*self._own_secret_arns()),
            environment=pulumi.Output.all(**service_environment(svc, cfg, context, args.data, args.callee_urls)),
        ).apply(lambda v: base64.b64encode(render(UserDataInputs(
            service=svc, config=cfg, region=context.region, image=v["image"], registry=v["registry"],
            log_group=v["log_group"], environment={k: str(x) for k, x in v["environment"].items()},
            secret_arns=dict(zip(cfg.secrets, v["secrets"], strict=True)), redis_host=str(v["redis_host"]),
            redis_port=int(v["redis_port"]), proxy=args.proxy)).encode()).decode())
        template = self._launch_template(profile, sg, user_data)
        group = self._group(template).name
        self.autoscaling_group_name = group
        self.min_size = cfg.vm.sizes(cfg.replicas, cfg.min_replicas, cfg.max_replicas)[0]
        self._scaling(group)

    def _image(self, repo: aws.ecr.Repository) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str]]:
        """(image by digest, registry to log in to, repository the role may pull from).

        Config accepts only digest-pinned images, so every instance of a launch template runs the same image
        even if it boots later, with no registry lookup: a lookup in a repository this same update creates
        fails before anything exists, preview included.
        """
        cfg = self._args.config
        own_registry = repo.repository_url.apply(lambda url: url.split("/", 1)[0])
        if cfg.build is not None:
            return built_image(f"{self._name}-image", cfg.build, repo, parent=self).repo_digest, own_registry, repo.arn
        assert cfg.image is not None
        parts = ecr_image_parts(cfg.image)
        if parts is None:
            raise ValueError(f"service {self.service_name}: the VM runtime pulls from ECR with the instance role; "
                             f"'{cfg.image}' is not an ECR image")
        registry = parts["registry"]
        pull_arn = f"arn:{_partition(parts['region'])}:ecr:{parts['region']}:{parts['account']}:repository/" \
                   f"{parts['repo']}"
        if not is_digest_pinned(cfg.image):
            raise ValueError(f"service {self.service_name}: '{cfg.image}' is not pinned by digest")
        return pulumi.Output.from_input(cfg.image), pulumi.Output.from_input(registry), \
            pulumi.Output.from_input(pull_arn)

    def _own_secret_arns(self) -> list[pulumi.Input[str]]:
        arns = self._args.data.secret_arns
        missing = [s for s in self._args.config.secrets if s not in arns]
        if missing:
            raise ValueError(f"service {self.service_name} lists secrets the data tier does not provide: {missing}")
        return [arns[s] for s in self._args.config.secrets]

    def _role(self, pull_repo_arn: pulumi.Input[str], log_group_arn: pulumi.Input[str]) -> aws.iam.Role:
        args, data, svc = self._args, self._args.data, self.service_name
        context = args.context
        own = service_policy(region=context.region, secret_arns=self._own_secret_arns(),
                             secrets_key_arn=data.secrets_kms_key_arn, bucket_arn=data.bucket_arn, prefix=svc,
                             data_key_arn=data.data_kms_key_arn)
        host = iam.document(
            # GetAuthorizationToken has no resource-level permissions: AWS requires "*" here.
            iam.statement(["ecr:GetAuthorizationToken"], "*", sid="EcrLogin"),
            iam.statement(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                          [pull_repo_arn], sid="PullOwnImage"),
            iam.statement(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                          [log_group_arn, pulumi.Output.concat(log_group_arn, ":log-stream:*")], sid="WriteOwnLogs"),
            # PutMetricData has no resource-level permissions; the namespace condition scopes it.
            iam.statement(["cloudwatch:PutMetricData"], "*", sid="PublishOwnMetrics",
                          condition={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}}),
        )
        role = aws.iam.Role(
            f"{self._name}-role",
            assume_role_policy=iam.trust_policy({"Service": "ec2.amazonaws.com"}),
            description=f"Instances of agent service {svc}",
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=role)
        aws.iam.RolePolicy(f"{self._name}-role-service", role=role.id, policy=own, opts=child)
        aws.iam.RolePolicy(f"{self._name}-role-host", role=role.id, policy=host, opts=child)
        aws.iam.RolePolicyAttachment(
            f"{self._name}-role-ssm", role=role.name,
            policy_arn=context.partition.apply(lambda p: SSM_CORE_POLICY.format(partition=p)), opts=child)
        return role

    def _placed_role(self, shared: SharedHostRefs) -> aws.iam.Role:
        """The service's own permissions (as its pod's IRSA role), assumable only by the shared host's role.

        The host pulls images and writes container logs with its own role; this role holds only what the
        service's code and its secret reads need.
        """
        data, svc, context = self._args.data, self.service_name, self._args.context
        own = service_policy(region=context.region, secret_arns=self._own_secret_arns(),
                             secrets_key_arn=data.secrets_kms_key_arn, bucket_arn=data.bucket_arn, prefix=svc,
                             data_key_arn=data.data_kms_key_arn)
        role = aws.iam.Role(
            f"{self._name}-role",
            # Trusting a role ARN as principal lets only sessions of that role assume this one (IAM User Guide,
            # "AWS JSON policy elements: Principal", IAM role principals).
            assume_role_policy=iam.trust_policy({"AWS": shared.role_arn}),
            description=f"Agent service {svc} on the shared host (assumed by the host's role)",
            max_session_duration=3600,
            tags={**self._tags, PLACEMENT_TAG: SHARED_PLACEMENT},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(f"{self._name}-role-service", role=role.id, policy=own,
                           opts=pulumi.ResourceOptions(parent=role))
        return role

    def _security_group(self) -> aws.ec2.SecurityGroup:
        """Nothing in but the load balancer (Edge adds that rule); out only HTTPS, the data stores and DNS."""
        args, name = self._args, self._name
        sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id,
                                   description=f"Agent service {self.service_name} instances",
                                   tags=self._tags, opts=pulumi.ResourceOptions(parent=self))
        add_egress_rules(name, sg, vpc_cidr=args.vpc_cidr, data=args.data,
                         mongodb="mongodb" in args.config.secrets, tags=self._tags)
        return sg

    def _launch_template(self, profile: aws.iam.InstanceProfile, sg: aws.ec2.SecurityGroup,
                         user_data: pulumi.Input[str]) -> aws.ec2.LaunchTemplate:
        args, cfg = self._args, self._args.config
        instance_tags = {**self._tags, "Name": f"{args.context.name}-{self.service_name}"}
        return aws.ec2.LaunchTemplate(
            f"{self._name}-template",
            description=f"Agent service {self.service_name}",
            # Only the host reaches instance metadata (one hop): containers run with host networking.
            **hardened_template_args(
                instance_type=cfg.vm.instance_type, instance_profile_arn=profile.arn,
                root_size_gib=cfg.vm.disk_size_gib, volume_key_arn=args.volume_key_arn,
                security_group_ids=[sg.id, args.workload_security_group_id], parent=self),
            monitoring={"enabled": DETAILED_MONITORING[args.context.environment]},
            user_data=user_data,
            tag_specifications=[{"resource_type": kind, "tags": instance_tags} for kind in ("instance", "volume")],
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _group(self, template: aws.ec2.LaunchTemplate) -> aws.autoscaling.Group:
        cfg = self._args.config
        low, desired, high = cfg.vm.sizes(cfg.replicas, cfg.min_replicas, cfg.max_replicas)
        warmup = cfg.probes.startup_timeout_seconds + 60
        return aws.autoscaling.Group(
            f"{self._name}-asg",
            vpc_zone_identifiers=list(self._args.private_subnet_ids),
            min_size=low, desired_capacity=desired, max_size=high,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            # An api instance the load balancer marks unhealthy is replaced; workers have no load balancer.
            health_check_type="ELB" if self.target_group is not None else "EC2",
            health_check_grace_period=cfg.vm.health_check_grace_seconds,
            target_group_arns=[self.target_group.arn] if self.target_group is not None else [],
            default_instance_warmup=warmup,
            # A new launch template version (image, settings) replaces instances without dropping capacity.
            instance_refresh={"strategy": "Rolling", "preferences": {
                "min_healthy_percentage": 100 if high > desired else 50, "max_healthy_percentage": 200,
                "instance_warmup": str(warmup), "auto_rollback": True}},
            enabled_metrics=["GroupInServiceInstances", "GroupDesiredCapacity", "GroupPendingInstances",
                             "GroupTerminatingInstances"],
            metrics_granularity="1Minute",
            tags=[{"key": k, "value": v, "propagate_at_launch": False}
                  for k, v in {**self._tags, CUSTOM_METRICS_TAG: str(agent_metric_count())}.items()],
            # The scaling policy owns the desired capacity once the group exists.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )

    def _scaling(self, group: pulumi.Output[str]) -> None:
        cfg, svc = self._args.config, self.service_name
        if cfg.queue is None:
            spec = {"predefined_metric_specification": {"predefined_metric_type": "ASGAverageCPUUtilization"},
                    "target_value": cfg.hpa.cpu_utilization}
        else:
            # Pending items per in-service instance, the same target KEDA scales the pods to.
            spec = {"target_value": cfg.queue.list_length, "customized_metric_specification": {"metrics": [
                {"id": "depth", "return_data": False, "metric_stat": {"stat": "Average", "metric": {
                    "namespace": METRICS_NAMESPACE, "metric_name": QUEUE_METRIC,
                    "dimensions": [{"name": "Service", "value": svc}]}}},
                {"id": "instances", "return_data": False, "metric_stat": {"stat": "Average", "metric": {
                    "namespace": "AWS/AutoScaling", "metric_name": "GroupInServiceInstances",
                    "dimensions": [{"name": "AutoScalingGroupName", "value": group}]}}},
                {"id": "backlog", "expression": "IF(instances > 0, depth / instances, depth)",
                 "label": "Backlog per instance", "return_data": True},
            ]}}
        aws.autoscaling.Policy(f"{self._name}-scaling", autoscaling_group_name=group,
                               policy_type="TargetTrackingScaling", target_tracking_configuration=spec,
                               opts=pulumi.ResourceOptions(parent=self))


def add_egress_rules(name: str, sg: aws.ec2.SecurityGroup, *, vpc_cidr: str, data: ServiceDataRefs, mongodb: bool,
                     tags: Mapping[str, str]) -> None:
    """Out only HTTPS, DNS to the VPC resolver, the data stores' ports and the dedicated vector store."""
    # (label, CIDR, protocol, port, description, former index label kept as an alias)
    rules: list[tuple[str, str, str, int, str, str | None]] = [
        ("https", "0.0.0.0/0", "tcp", 443, "AWS APIs (ECR, Secrets Manager, SSM, logs) and LLM providers", None),
        ("dns-udp", vpc_cidr, "udp", 53, "VPC resolver", None),
        ("dns-tcp", vpc_cidr, "tcp", 53, "VPC resolver", None),
    ]
    # Named by CIDR, not position: a new data subnet renames no rule; the index names are aliases.
    postgres_port, redis_port = int(data.postgres_port), int(data.redis_port)  # type: ignore[arg-type]
    for i, cidr in enumerate(data.data_cidrs):
        rules.append((f"postgres-{cidr}", cidr, "tcp", postgres_port, "PostgreSQL", f"postgres-{i}"))
        rules.append((f"redis-{cidr}", cidr, "tcp", redis_port, "Redis", f"redis-{i}"))
        if data.mongodb_port is not None and mongodb:
            rules.append((f"mongodb-{cidr}", cidr, "tcp", int(data.mongodb_port),  # type: ignore[arg-type]
                          "DocumentDB", None))
    for label, cidr, protocol, port, description, old in rules:
        aliases = [pulumi.Alias(name=f"{name}-to-{old}")] if old else None
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-{label}", security_group_id=sg.id, cidr_ipv4=cidr, ip_protocol=protocol,
            from_port=port, to_port=port, description=description, tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=sg, aliases=aliases))
    store, peer = data.vector_store, data.vector_store_peer
    if store is not None and peer is not None and peer.security_group_id is not None:
        # The dedicated vector store's instance, on its REST and gRPC ports.
        for label, port in (("rest", store.port), ("grpc", store.grpc_port)):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-vector-store-{label}", security_group_id=sg.id,
                referenced_security_group_id=peer.security_group_id, ip_protocol="tcp", from_port=port,
                to_port=port, description=f"{store.kind} {label}", tags=dict(tags),
                opts=pulumi.ResourceOptions(parent=sg))


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


@dataclass(frozen=True)
class VmSharedArgs:
    context: StackContext
    vpc_id: pulumi.Input[str]


class VmShared(pulumi.ComponentResource):
    """What every VM-runtime service shares: the image repositories' key and the root volumes' key.

    The volume key admits the Auto Scaling service-linked role, which launches the instances and so
    creates their encrypted volumes.
    """

    ecr_key_arn: pulumi.Output[str]
    volume_key_arn: pulumi.Output[str]
    workload_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: VmSharedArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # The type token keeps the class's first name (VmRuntime); the runtime seam took that name.
        super().__init__("agent-platform:services:VmRuntime", name, None, opts)
        context, vpc_id = args.context, args.vpc_id
        tags = context.tags(COMPONENT)
        self.ecr_key_arn = kms.customer_key(
            f"{name}-ecr-key", "ecr", account_id=context.account_id, partition=context.partition, tags=tags,
            protect=context.protect, parent=self).arn
        self.volume_key_arn = kms.volume_key(f"{name}-volume-key", account_id=context.account_id,
                                             partition=context.partition, region=context.region, tags=tags,
                                             protect=context.protect, parent=self).arn
        # Carried by every service instance (no rules of its own): what the data stores admit, as they admit
        # the EKS cluster security group on that runtime.
        self.workload_security_group_id = aws.ec2.SecurityGroup(
            f"{name}-workloads", vpc_id=vpc_id, description="Agent service instances (admitted by the data tier)",
            tags=tags, opts=pulumi.ResourceOptions(parent=self)).id
        self.register_outputs({"ecr_key_arn": self.ecr_key_arn, "volume_key_arn": self.volume_key_arn,
                               "workload_security_group_id": self.workload_security_group_id})
