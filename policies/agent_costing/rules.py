"""How each resource type is priced, read from its camelCase inputs.

Every resource ends up in exactly one of three places: priced by a rule below (fully, or partly with the
rest reported as unpriced), free by the explicit lists below, or unpriced with a reason. A value that is
unknown until apply makes only the part it affects unpriced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from agent_contract.schedules import runs_per_day
from agent_contract.tags import (
    BACKUP_PLAN_TAG,
    CAPACITY_TAG,
    CUSTOM_METRICS_TAG,
    RECENT_SNAPSHOT_NONCURRENT_DAYS,
    ROLE_TAG,
    RUN_ONCE,
    SNAPSHOT_GIB_ANNOTATION,
    SNAPSHOT_NONCURRENT_ANNOTATION,
    SNAPSHOT_RECENT_RETENTION_ANNOTATION,
    SNAPSHOT_RETENTION_ANNOTATION,
    SNAPSHOT_RUNS_PER_DAY_TAG,
    VECTOR_STORE_CHARTS,
)

from .catalogue import HOURS_PER_MONTH, Catalogue
from .model import UNKNOWN, Line, Resource
from .usage import Usage

HOURS = HOURS_PER_MONTH
DAYS_PER_MONTH = 365 / 12

EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_INSTANCE = "aws:ec2/instance:Instance"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
SCALING_POLICY = "aws:autoscaling/policy:Policy"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
SECRET = "aws:secretsmanager/secret:Secret"
ZONE = "aws:route53/zone:Zone"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
BACKUP_VAULT = "aws:backup/vault:Vault"
BACKUP_PLAN = "aws:backup/plan:Plan"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
DB_BACKUPS_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"

# Types that never carry a charge of their own (their cost, if any, is priced on the resource they configure).
FREE_TYPES: dict[str, str] = {
    "aws:codebuild/webhook:Webhook": "webhooks have no charge; the builds they start are priced on the project",
    **dict.fromkeys([
        "aws:iam/role:Role", "aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/serviceLinkedRole:ServiceLinkedRole",
    ], "IAM has no charge"),
    **dict.fromkeys([
        "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/routeTable:RouteTable", "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway", "aws:ec2/networkAcl:NetworkAcl",
        "aws:ec2/networkAclRule:NetworkAclRule", "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
        "aws:ec2/defaultRouteTable:DefaultRouteTable", "aws:ec2/vpcDhcpOptions:VpcDhcpOptions",
        "aws:ec2/vpcDhcpOptionsAssociation:VpcDhcpOptionsAssociation",
        # A network interface has no charge of its own (public IPv4 addresses are priced on the EIP).
        "aws:ec2/networkInterface:NetworkInterface",
    ], "VPC networking objects have no charge (NAT gateways, endpoints and public IPs are priced)"),
    **dict.fromkeys([
        "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    ], "security groups have no charge"),
    "aws:ec2/flowLog:FlowLog": "the flow log itself has no charge; its log group is priced",
    "aws:ec2/networkInterface:NetworkInterface": "network interfaces have no charge; a public address on one is "
                                                 "priced where it is assigned (Eip, or the launch template's group)",
    LAUNCH_TEMPLATE: "priced through the node groups and Auto Scaling groups that launch from it",
    **dict.fromkeys([
        "aws:eks/addon:Addon", "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:eks/identityProviderConfig:IdentityProviderConfig",
    ], "EKS configuration has no charge beyond the cluster hour"),
    **dict.fromkeys([
        "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule", "aws:lb/targetGroup:TargetGroup",
        "aws:lb/targetGroupAttachment:TargetGroupAttachment", "aws:lb/listenerCertificate:ListenerCertificate",
        "aws:autoscaling/attachment:Attachment",
    ], "load balancer configuration; the load balancer is priced"),
    **dict.fromkeys([
        "aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation",
    ], "public ACM certificates have no charge"),
    "aws:route53/record:Record": "records have no charge; queries to alias records of AWS resources are free",
    **dict.fromkeys([
        "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketLogging:BucketLogging",
        "aws:s3/bucketLoggingV2:BucketLoggingV2", "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketNotification:BucketNotification",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
    ], "bucket configuration; storage is priced on the bucket"),
    **dict.fromkeys([
        "aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy", "aws:sns/topicSubscription:TopicSubscription",
    ], "SNS is pay-per-request and alert volumes stay inside the monthly free tier (negligible)"),
    **dict.fromkeys([
        "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget",
    ], "rules on the default event bus matching AWS service events have no charge"),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "configuration; no charge",
    **dict.fromkeys([
        "aws:secretsmanager/secretVersion:SecretVersion", "aws:secretsmanager/secretPolicy:SecretPolicy",
        "aws:secretsmanager/secretRotation:SecretRotation",
    ], "part of the secret, which is priced (rotation itself has no charge)"),
    **dict.fromkeys(["aws:kms/alias:Alias", "aws:kms/grant:Grant"], "KMS aliases and grants have no charge"),
    **dict.fromkeys([
        "aws:wafv2/webAclAssociation:WebAclAssociation",
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "aws:wafv2/ipSet:IpSet", "aws:wafv2/regexPatternSet:RegexPatternSet",
    ], "WAF configuration; the web ACL and its rules are priced"),
    **dict.fromkeys([
        "aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup",
        "aws:rds/optionGroup:OptionGroup", "aws:rds/clusterParameterGroup:ClusterParameterGroup",
        "aws:elasticache/subnetGroup:SubnetGroup", "aws:elasticache/parameterGroup:ParameterGroup",
        "aws:elasticache/user:User", "aws:elasticache/userGroup:UserGroup",
        "aws:docdb/subnetGroup:SubnetGroup", "aws:docdb/clusterParameterGroup:ClusterParameterGroup",
    ], "database configuration; instances and nodes are priced"),
    **dict.fromkeys([
        "aws:backup/selection:Selection", "aws:backup/vaultPolicy:VaultPolicy",
        "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
        "aws:backup/vaultNotifications:VaultNotifications", "aws:backup/regionSettings:RegionSettings",
        "aws:backup/restoreTestingSelection:RestoreTestingSelection",
    ], "backup configuration; recovery-point storage is priced on the vaults"),
    "aws:budgets/budget:Budget": "budgets without actions have no charge",
    **dict.fromkeys([
        "aws:ecr/lifecyclePolicy:LifecyclePolicy", "aws:ecr/repositoryPolicy:RepositoryPolicy",
    ], "repository configuration; image storage is priced on the repository"),
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate":
        "settings of repositories ECR creates; their image storage is priced on the replication configuration",
}

# Whole providers whose resources exist only where the deployment runs, or inside the cluster's nodes.
FREE_PACKAGES: dict[str, str] = {
    "random": "generated by the deployment; no cloud charge",
    "tls": "generated by the deployment; no cloud charge",
    "docker": "built where the deployment runs; image storage is priced on the ECR repository",
    "kubernetes": "runs on the cluster's nodes, which are priced through the node groups",
}
# Packages that are not cloud resources at all (providers, the stack, this project's components).
NON_CLOUD_PACKAGES = frozenset({"pulumi", "agent-platform"})

# AWS managed rule groups that carry a subscription and per-request fee on top of the rule charge.
PAID_MANAGED_RULE_GROUPS = frozenset({
    "AWSManagedRulesBotControlRuleSet", "AWSManagedRulesATPRuleSet", "AWSManagedRulesACFPRuleSet",
    "AWSManagedRulesAntiDDoSRuleSet",
})
EBS_PROVISIONERS = frozenset({"ebs.csi.aws.com", "kubernetes.io/aws-ebs"})
# EC2 detailed monitoring bills each 1-minute instance metric as a custom metric. Assumed: the 7 metrics per
# instance the CloudWatch pricing page's detailed-monitoring example counts (CPU, network in/out bytes and
# packets, status checks); instances with EBS-only storage send fewer disk metrics, so 7 is an upper bound.
DETAILED_MONITORING_METRICS = 7


class NotYetKnownError(Exception):
    """A value the price depends on is unknown until apply."""

    def __init__(self, path: Sequence[Any]) -> None:
        super().__init__(".".join(str(p) for p in path))
        self.path = ".".join(str(p) for p in path)


def get(obj: Any, *path: str | int, default: Any = None) -> Any:
    """The value at ``path`` (``default`` when absent or null); raises :class:`NotYetKnownError` on an unknown value."""
    current = obj
    for i, key in enumerate(path):
        if current is UNKNOWN:
            raise NotYetKnownError(path[:i])
        if isinstance(key, int):
            if not isinstance(current, Sequence) or isinstance(current, str) or not -len(current) <= key < len(current):
                return default
        elif not isinstance(current, Mapping) or key not in current:
            return default
        current = current[key]
        if current is None:
            return default
    if current is UNKNOWN:
        raise NotYetKnownError(path)
    return current


def count(value: Any, path: Sequence[Any]) -> int:
    """The length of a list whose elements may be unknown (only the list itself must be known)."""
    if value is UNKNOWN:
        raise NotYetKnownError(path)
    if value is None:
        return 0
    if isinstance(value, Sequence) and not isinstance(value, str):
        return len(value)
    return 1


def number(value: Any, path: Sequence[Any]) -> float:
    if value is UNKNOWN:
        raise NotYetKnownError(path)
    if isinstance(value, bool):
        raise ValueError(f"{'.'.join(map(str, path))}: expected a number, got {value!r}")
    return float(value)


def truthy(value: Any) -> bool:
    """pulumi-aws types some flags as strings ("true"/"false")."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]i?)?\s*$")
_FACTORS = {None: 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def gib(quantity: Any) -> float | None:
    """A Kubernetes storage quantity ("50Gi", "100G") in GiB, the unit EBS bills as "GB"."""
    if isinstance(quantity, int | float) and not isinstance(quantity, bool):
        return float(quantity) / 2**30
    match = _QUANTITY.match(str(quantity))
    if not match:
        return None
    return float(match[1]) * _FACTORS[match[2]] / 2**30


# --- context and bill --------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What every rule may consult besides its own resource."""

    catalogue: Catalogue
    usage: Usage
    default_region: str
    resources: Mapping[str, Resource]
    pools: Mapping[str, int] = field(default_factory=dict)

    def region_of(self, res: Resource) -> str:
        return res.region or self.default_region

    def share(self, pool: str) -> float:
        """This resource's share of a usage pool shared evenly by the resources in it."""
        size = self.pools.get(pool, 0)
        return 1.0 / size if size else 0.0

    def dependencies(self, res: Resource, prop: str | None, type_: str) -> list[Resource]:
        """Resources of ``type_`` that ``res`` depends on, through ``prop`` when the engine recorded it."""
        urns: tuple[str, ...] = ()
        if prop is not None:
            urns = tuple(res.property_dependencies.get(prop, ()))
        if not urns:
            urns = res.dependencies
        found = [self.resources[u] for u in urns if u in self.resources]
        return [r for r in found if r.type == type_]


class Bill:
    """The priced lines and unpriced parts of one resource."""

    def __init__(self, res: Resource, ctx: Context) -> None:
        self.res = res
        self.ctx = ctx
        self.lines: list[Line] = []
        self.unpriced: list[str] = []
        self.free: str | None = None

    def add(self, key: str, quantity: float, item: str, *, factor: float = 1.0, keep_zero: bool = False,
            region: str | None = None) -> None:
        """``quantity`` units of price ``key`` per month (hour-priced keys: pass hours).

        Zero quantities are dropped, except ``keep_zero`` ones (a resource's main charge, usage-driven
        charges) so that a resource priced at zero still shows up in the report with the reason. ``region``
        prices a charge incurred elsewhere than the resource's own region (replicas a configuration creates).
        """
        if quantity < 0 or (quantity == 0 and not keep_zero):
            return
        region = region or self.ctx.region_of(self.res)
        price = self.ctx.catalogue.price(region, key)
        if price is None:
            self.unpriced.append(f"{item}: no {region} price for '{key}' in the catalogue")
            return
        unit_usd = price.usd * factor
        self.lines.append(Line(
            component=self.res.component, resource=self.res.name, type=self.res.type, urn=self.res.urn,
            item=item, quantity=quantity, unit=price.unit, unit_usd=unit_usd, monthly_usd=quantity * unit_usd,
            price_key=key, region=region,
        ))

    def hourly(self, key: str, count_: float, item: str, *, factor: float = 1.0, keep_zero: bool = False) -> None:
        self.add(key, count_ * HOURS, item, factor=factor, keep_zero=keep_zero)

    def skip(self, reason: str) -> None:
        self.unpriced.append(reason)

    @contextmanager
    def part(self, what: str) -> Iterator[None]:
        """Price one part; if a value it needs is unknown until apply, report only that part as unpriced."""
        try:
            yield
        except NotYetKnownError as exc:
            self.unpriced.append(f"{what}: {exc.path or 'the value'} is not known until apply")


Rule = Callable[[Resource, Context, Bill], None]


# --- compute -------------------------------------------------------------------------------------------------------


def _eks_cluster(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("cluster hours"):
        # EKS bills extended support once the version leaves standard support; an unset policy means EXTENDED.
        support = str(get(res.props, "upgradePolicy", "supportType", default="EXTENDED")).upper()
        if support == "STANDARD":
            bill.hourly("eks.cluster.standard", 1, "control plane (standard support)")
        else:
            bill.hourly("eks.cluster.extended", 1, "control plane (upgradePolicy EXTENDED: extended-support rate, "
                                                   "charged once the version leaves standard support)")
    with bill.part("EKS Auto Mode"):
        if truthy(get(res.props, "computeConfig", "enabled")):
            bill.skip("EKS Auto Mode management fee per instance is not in the catalogue")


def _volume_lines(bill: Bill, mappings: Any, nodes: float, what: str) -> None:
    """EBS volumes of launch-template block device mappings, ``nodes`` copies each."""
    for i in range(count(mappings, ["blockDeviceMappings"])):
        ebs = get(mappings, i, "ebs")
        if ebs is None:
            continue
        device = get(mappings, i, "deviceName", default=f"#{i}")
        size = get(ebs, "volumeSize")
        kind = str(get(ebs, "volumeType", default="gp3"))
        if size is None:
            bill.skip(f"{what} volume {device}: size comes from the AMI snapshot, not the plan")
            continue
        gb = number(size, ["volumeSize"]) * nodes
        if kind in ("gp3", "gp2"):
            bill.add(f"ebs.{kind}.storage", gb, f"{what} EBS {kind} {device} ({number(size, []):g} GiB each)")
        else:
            bill.skip(f"{what} volume {device}: EBS {kind} is not in the catalogue")
            continue
        if kind == "gp3":
            iops = number(get(ebs, "iops", default=3000), ["iops"])
            throughput = number(get(ebs, "throughput", default=125), ["throughput"])
            bill.add("ebs.gp3.iops", max(0.0, iops - 3000) * nodes, f"{what} gp3 IOPS above 3,000 ({device})")
            bill.add("ebs.gp3.throughput", max(0.0, throughput - 125) * nodes,
                     f"{what} gp3 throughput above 125 MiB/s ({device})")


def _node_group(res: Resource, ctx: Context, bill: Bill) -> None:
    props = res.props
    try:
        nodes = number(get(props, "scalingConfig", "desiredSize", default=0), ["scalingConfig", "desiredSize"])
    except NotYetKnownError as exc:
        bill.skip(f"instances and node volumes: {exc.path} is not known until apply")
        return
    templates = ctx.dependencies(res, "launchTemplate", LAUNCH_TEMPLATE)
    template = templates[0] if templates else None
    with bill.part("instances"):
        types = [str(t) for t in (get(props, "instanceTypes") or [])]
        if not types and template is not None and get(template.props, "instanceType"):
            types = [str(get(template.props, "instanceType"))]
        types = types or ["t3.medium"]  # the EKS API's default for managed node groups
        capacity = str(get(props, "capacityType", default="ON_DEMAND")).upper()
        region = ctx.region_of(res)
        if capacity == "SPOT":
            # Spot may launch any listed type: price the dearest, times the assumed Spot factor.
            known = {t: ctx.catalogue.price(region, f"ec2.instance.{t}") for t in types}
            missing = [t for t, p in known.items() if p is None]
            if missing:
                bill.skip(f"instances: no {region} price for {', '.join(missing)} in the catalogue "
                          f"(a Spot group may launch any of {', '.join(types)})")
            else:
                dearest = max(types, key=lambda t: known[t].usd)  # type: ignore[union-attr]
                factor = ctx.usage.spot_price_factor
                bill.hourly(f"ec2.instance.{dearest}", nodes,
                            f"{nodes:g} x {dearest} Spot (dearest of {', '.join(types)}; "
                            f"{factor:g} x on-demand)", factor=factor, keep_zero=True)
        else:
            # On-demand groups launch the first type while it has capacity.
            bill.hourly(f"ec2.instance.{types[0]}", nodes, f"{nodes:g} x {types[0]} on-demand", keep_zero=True)
    with bill.part("node volumes"):
        if template is not None and get(template.props, "blockDeviceMappings"):
            _volume_lines(bill, get(template.props, "blockDeviceMappings"), nodes, "node root")
        elif nodes:
            size = get(props, "diskSize")
            bill.skip(f"node root volumes: {'size ' + str(size) + ' GiB' if size else 'the default size'} "
                      "without a launch template; the volume type is not in the plan")


def _ec2_instance(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("instance hours"):
        kind = get(res.props, "instanceType")
        if kind is None:
            bill.skip("instanceType is not set (it comes from a launch template)")
        else:
            bill.hourly(f"ec2.instance.{kind}", 1, f"{kind} on-demand")
    with bill.part("root volume"):
        root = get(res.props, "rootBlockDevice", default={})
        size = get(root, "volumeSize")
        kind = str(get(root, "volumeType", default="gp3"))
        if size is None:
            bill.skip("root volume: size comes from the AMI snapshot, not the plan")
        elif kind in ("gp3", "gp2"):
            bill.add(f"ebs.{kind}.storage", number(size, ["volumeSize"]), f"root EBS {kind}")
        else:
            bill.skip(f"root volume: EBS {kind} is not in the catalogue")


def _group_tags(props: Any) -> dict[str, str]:
    """An Auto Scaling group's ``tags`` list ({key, value, propagateAtLaunch}) as a mapping."""
    tags = get(props, "tags", default=[])
    found = {}
    for i in range(count(tags, ["tags"])):
        key, value = get(tags, i, "key"), get(tags, i, "value")
        if key is not None and value is not None:
            found[str(key)] = str(value)
    return found


def _group_size(props: Any, tags: Mapping[str, str], ctx: Context) -> tuple[float, str]:
    """(instances over the month, how they were counted): desired capacity, or a run-once group's hours."""
    if tags.get(CAPACITY_TAG) == RUN_ONCE:
        hours = ctx.usage.run_once_instance_hours
        return hours / HOURS, f"run once, {hours:g} h/month (usage.runOnceInstanceHours)"
    size = get(props, "desiredCapacity")
    if size is None:  # AWS starts a group without a desired capacity at its minimum size
        size = get(props, "minSize", default=0)
    instances = number(size, ["desiredCapacity"])
    return instances, f"{instances:g} x, always on (desiredCapacity)"


def _autoscaling_group(res: Resource, ctx: Context, bill: Bill) -> None:
    """Instances of the launch template's type and their root volumes; detailed monitoring; declared metrics.

    The launch template is reached through the group's ``launchTemplate`` dependency (its ``id`` is an
    output), as for node groups; templates themselves are free, so nothing is counted twice.
    """
    props = res.props
    try:
        tags = _group_tags(props)
        instances, basis = _group_size(props, tags, ctx)
    except NotYetKnownError as exc:
        bill.skip(f"instances and volumes: {exc.path} is not known until apply")
        return
    with bill.part("custom metrics"):
        declared = tags.get(CUSTOM_METRICS_TAG)
        if declared is not None:
            bill.add("cloudwatch.metric.custom", float(declared),
                     f"{declared} custom metric(s) the instances publish ({CUSTOM_METRICS_TAG} tag)")
    if get(props, "mixedInstancesPolicy") is not None:
        bill.skip("instances: a mixed instances policy (several types, Spot share) is not priced")
        return
    templates = ctx.dependencies(res, "launchTemplate", LAUNCH_TEMPLATE)
    if not templates:
        what = "a launch configuration" if get(props, "launchConfiguration") else "its launch template"
        bill.skip(f"instances: {what} is not in the plan, so the instance type is unknown")
        return
    template = templates[0]
    with bill.part("instances"):
        kind = get(template.props, "instanceType")
        if kind is None:
            bill.skip(f"instances: launch template {template.name} sets no instanceType")
        else:
            bill.hourly(f"ec2.instance.{kind}", instances, f"{kind} on-demand: {basis}", keep_zero=True)
    with bill.part("instance volumes"):
        mappings = get(template.props, "blockDeviceMappings")
        if mappings:
            _volume_lines(bill, mappings, instances, "instance root")
        elif instances:
            bill.skip("instance root volumes: size and type come from the AMI, not the plan")
    with bill.part("public addresses"):
        interfaces = get(template.props, "networkInterfaces", default=[])
        public = any(truthy(get(interfaces, i, "associatePublicIpAddress", default=False))
                     for i in range(count(interfaces, ["networkInterfaces"])))
        if public:
            # AWS bills every public IPv4 address, auto-assigned ones included (VPC pricing, Public IPv4 Address).
            bill.hourly("vpc.public-ipv4.hour", instances, f"public IPv4 address of {instances:g} instance(s) "
                        "(associatePublicIpAddress)")
    with bill.part("detailed monitoring"):
        if truthy(get(template.props, "monitoring", "enabled", default=False)):
            bill.add("cloudwatch.metric.custom", DETAILED_MONITORING_METRICS * instances,
                     f"detailed monitoring: {DETAILED_MONITORING_METRICS} metrics x {instances:g} instance(s) "
                     "(assumed metrics per instance)")


def _scaling_policy(res: Resource, ctx: Context, bill: Bill) -> None:
    """Target tracking: the alarms Auto Scaling creates for it, and custom metrics it scales on.

    The policy creates a high and (unless scale-in is disabled) a low alarm on its metric; with metric math
    each alarm bills per metric queried. A metric outside the ``AWS/`` namespaces is published by the
    instances themselves (e.g. the workers' queue depth), so it is priced here, once, as a custom metric.
    Step and simple policies fire from alarms priced as their own resources.
    """
    with bill.part("target tracking"):
        if str(get(res.props, "policyType", default="SimpleScaling")) != "TargetTrackingScaling":
            bill.free = "step, simple and predictive scaling have no charge; their alarms are priced on their own"
            return
        config = get(res.props, "targetTrackingConfiguration", default={})
        alarms = 1 if truthy(get(config, "disableScaleIn", default=False)) else 2
        queries = get(config, "customizedMetricSpecification", "metrics") or []
        metrics = [get(queries, i, "metricStat", "metric") for i in range(count(queries, ["metrics"]))]
        metrics = [m for m in metrics if m is not None]
        single = get(config, "customizedMetricSpecification")
        if not metrics and single is not None and get(single, "metricName") is not None:
            metrics = [single]
        bill.add("cloudwatch.alarm.standard", alarms * max(len(metrics), 1),
                 f"{alarms} alarm(s) created by target tracking on {max(len(metrics), 1)} metric(s)")
        custom = sorted({(str(get(m, "namespace", default="")), str(get(m, "metricName", default="")))
                         for m in metrics if not str(get(m, "namespace", default="")).startswith("AWS/")})
        for namespace, name in custom:
            bill.add("cloudwatch.metric.custom", 1, f"custom metric {namespace}/{name} published by the instances")


# --- network -------------------------------------------------------------------------------------------------------


def _nat_gateway(res: Resource, ctx: Context, bill: Bill) -> None:
    bill.hourly("vpc.nat.hour", 1, "NAT gateway hours")
    share = ctx.share("nat")
    bill.add("vpc.nat.data", ctx.usage.nat_data_gb * share,
             f"data processed ({share:.0%} of usage.natDataGb)", keep_zero=True)


def _eip(res: Resource, ctx: Context, bill: Bill) -> None:
    bill.hourly("vpc.public-ipv4.hour", 1, "public IPv4 address")


def _endpoint_type(res: Resource) -> str:
    return str(get(res.props, "vpcEndpointType", default="Gateway"))


def _vpc_endpoint(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("endpoint"):
        kind = _endpoint_type(res)
        if kind == "Gateway":
            bill.free = "gateway endpoints (S3, DynamoDB) have no charge"
            return
        if kind != "Interface":
            bill.skip(f"{kind} endpoints are not in the catalogue")
            return
        subnets = get(res.props, "subnetIds")
        azs = count(subnets if subnets is not None else get(res.props, "subnetConfigurations"), ["subnetIds"])
        service = str(get(res.props, "serviceName", default="")).rsplit(".", 1)[-1]
        bill.hourly("vpc.endpoint.interface.hour", azs, f"interface endpoint {service} in {azs} AZ(s)")
        share = ctx.share("endpoint")
        bill.add("vpc.endpoint.interface.data", ctx.usage.endpoint_data_gb * share,
                 f"data processed ({share:.0%} of usage.endpointDataGb)", keep_zero=True)


def _load_balancer(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("load balancer"):
        kind = str(get(res.props, "loadBalancerType", default="application"))
        if kind not in ("application", "network"):
            bill.skip(f"{kind} load balancers are not in the catalogue")
            return
        short = "ALB" if kind == "application" else "NLB"
        bill.hourly(f"elb.{kind}.hour", 1, f"{short} hours")
        unit = "LCU" if kind == "application" else "NLCU"
        bill.hourly(f"elb.{kind}.lcu", ctx.usage.load_balancer_lcu,
                    f"{ctx.usage.load_balancer_lcu:g} {unit} average (usage.loadBalancerLcu)")
    with bill.part("public IPv4 addresses"):
        internal = truthy(get(res.props, "internal", default=False))
        ip_type = str(get(res.props, "ipAddressType", default="ipv4"))
        if not internal and ip_type != "dualstack-without-public-ipv4":
            subnets = get(res.props, "subnets")
            azs = count(subnets if subnets is not None else get(res.props, "subnetMappings"), ["subnets"])
            bill.hourly("vpc.public-ipv4.hour", azs,
                        f"{azs} public IPv4 address(es), at least one per AZ (more under load)")


def _rules_of(res: Resource) -> list[Any]:
    rules = list(get(res.props, "rules") or [])
    raw = get(res.props, "ruleJson")
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = []
        rules.extend(parsed if isinstance(parsed, list) else [])
    return rules


def _managed_group(rule: Any) -> tuple[str, str] | None:
    """(vendor, name) of a managed rule group statement, in either the provider's or the JSON casing."""
    for statement, group, vendor, name in (("statement", "managedRuleGroupStatement", "vendorName", "name"),
                                           ("Statement", "ManagedRuleGroupStatement", "VendorName", "Name")):
        found = get(rule, statement, group)
        if found is not None:
            return str(get(found, vendor, default="")), str(get(found, name, default=""))
    return None


def _web_acl(res: Resource, ctx: Context, bill: Bill) -> None:
    bill.add("waf.web-acl", 1, "web ACL")
    with bill.part("rules"):
        rules = _rules_of(res)
        bill.add("waf.rule", len(rules), f"{len(rules)} rule(s) and managed rule group(s)")
        for rule in rules:
            group = _managed_group(rule)
            if group is None:
                continue
            vendor, name = group
            if vendor != "AWS":
                bill.skip(f"managed rule group {vendor}/{name}: its Marketplace subscription is not in the catalogue")
            elif name in PAID_MANAGED_RULE_GROUPS:
                bill.skip(f"managed rule group {name}: its subscription and per-request fees are not in the catalogue")
    share = ctx.share("waf")
    bill.add("waf.requests", ctx.usage.waf_requests_millions * share,
             f"requests inspected ({share:.0%} of usage.wafRequestsMillions)", keep_zero=True)


def _restore_testing_plan(res: Resource, ctx: Context, bill: Bill) -> None:
    bill.skip("restore tests are billed per test and for the restored resources while they run; "
              "neither is in the catalogue")


def _serverless_application(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("application"):
        application = str(get(res.props, "applicationId", default=""))
        if application.rsplit("/", 1)[-1].startswith("SecretsManager") and "Rotation" in application:
            bill.free = ("an AWS-published Secrets Manager rotation function: a few Lambda invocations a month, "
                         "inside Lambda's free tier")
        else:
            bill.skip("the resources a serverless application deploys are not in the plan")


def _zone(res: Resource, ctx: Context, bill: Bill) -> None:
    bill.add("route53.hosted-zone", 1, "hosted zone")


# --- data ----------------------------------------------------------------------------------------------------------


def _rds_instance(res: Resource, ctx: Context, bill: Bill) -> None:
    props = res.props
    multi_az = False
    with bill.part("instance hours"):
        multi_az = truthy(get(props, "multiAz", default=False))
        engine = get(props, "engine")
        klass = get(props, "instanceClass")
        if engine is None:
            bill.skip("instance hours: the engine is not set (a replica inherits it from its source)")
        else:
            engine = {"postgresql": "postgres"}.get(str(engine), str(engine))
            copies = 2 if multi_az else 1
            label = "Multi-AZ: primary + standby" if multi_az else "Single-AZ"
            bill.hourly(f"rds.{engine}.{klass}", copies, f"{klass} {engine} ({label})")
    with bill.part("storage"):
        size = number(get(props, "allocatedStorage", default=0), ["allocatedStorage"])
        kind = str(get(props, "storageType", default="gp2"))
        copies = 2 if multi_az else 1
        if kind in ("gp3", "gp2"):
            bill.add(f"rds.storage.{kind}", size * copies,
                     f"{size:g} GiB {kind}{' x 2 (Multi-AZ)' if multi_az else ''}")
        elif size:
            bill.skip(f"storage: RDS {kind} storage is not in the catalogue")
        if kind == "gp3":
            # gp3 includes 3,000 IOPS / 125 MiB/s below 400 GiB and 12,000 / 500 from 400 GiB.
            base_iops, base_tp = (12000, 500) if size >= 400 else (3000, 125)
            iops = number(get(props, "iops", default=base_iops), ["iops"])
            throughput = number(get(props, "storageThroughput", default=base_tp), ["storageThroughput"])
            bill.add("rds.storage.gp3.iops", max(0.0, iops - base_iops) * copies, "gp3 IOPS above the baseline")
            bill.add("rds.storage.gp3.throughput", max(0.0, throughput - base_tp) * copies,
                     "gp3 throughput above the baseline")
    with bill.part("Performance Insights"):
        if truthy(get(props, "performanceInsightsEnabled", default=False)):
            days = number(get(props, "performanceInsightsRetentionPeriod", default=7), ["performanceInsights"])
            if days > 7:
                bill.skip(f"Performance Insights retention of {days:g} days: retention beyond the free 7 days is "
                          "billed per vCPU and is not in the catalogue")
        if str(get(props, "databaseInsightsMode", default="standard")) == "advanced":
            bill.skip("Database Insights advanced mode is billed per vCPU-hour and is not in the catalogue")
    with bill.part("master user secret"):
        if truthy(get(props, "manageMasterUserPassword", default=False)):
            bill.add("secretsmanager.secret", 1, "master user secret managed by RDS in Secrets Manager")


DOCDB_CLUSTER = "aws:docdb/cluster:Cluster"
DOCDB_INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
DOCDB_GLOBAL_CLUSTER = "aws:docdb/globalCluster:GlobalCluster"


def _docdb_instance(res: Resource, ctx: Context, bill: Bill) -> None:
    """Each DocumentDB instance (primary or replica) bills its class per hour (standard storage configuration)."""
    with bill.part("instance hours"):
        klass = get(res.props, "instanceClass")
        bill.hourly(f"docdb.{klass}", 1, f"{klass} DocumentDB instance", keep_zero=True)


def _docdb_cluster(res: Resource, ctx: Context, bill: Bill) -> None:
    """The cluster volume: storage, I/O and backup storage beyond the free allowance, from the usage assumptions."""
    usage = ctx.usage
    if get(res.props, "globalClusterIdentifier", default=None):
        _docdb_secondary(res, ctx, bill)
        return
    with bill.part("storage"):
        kind = str(get(res.props, "storageType", default="standard"))
        if kind == "iopt1":
            bill.skip("storage: I/O-Optimized (iopt1) DocumentDB prices are not in the catalogue")
            return
    bill.add("docdb.storage", usage.document_db_storage_gb, "cluster volume storage (usage.documentDbStorageGb)",
             keep_zero=True)
    bill.add("docdb.io", usage.document_db_io_millions, "storage I/O requests (usage.documentDbIoMillions)",
             keep_zero=True)
    bill.add("docdb.backup", usage.document_db_backup_gb,
             "backup storage beyond the free 100% of cluster storage (usage.documentDbBackupGb)")
    with bill.part("master user secret"):
        if truthy(get(res.props, "manageMasterUserPassword", default=False)):
            bill.add("secretsmanager.secret", 1, "master user secret managed by DocumentDB in Secrets Manager")


def _docdb_secondary(res: Resource, ctx: Context, bill: Bill) -> None:
    """A global cluster's secondary (headless: its instances, if any, are priced apart): a second copy of the cluster
    volume, the primary's writes replayed on it (replicated write I/Os), and its own backup storage."""
    usage = ctx.usage
    bill.add("docdb.storage", usage.document_db_storage_gb, "secondary's copy of the cluster volume "
             "(usage.documentDbStorageGb)", keep_zero=True)
    bill.add("docdb.global.replicated-write-io", usage.document_db_io_millions,
             "replicated write I/Os (upper bound: all of usage.documentDbIoMillions counted as writes)",
             keep_zero=True)
    bill.add("docdb.backup", usage.document_db_backup_gb,
             "backup storage beyond the free 100% of cluster storage (usage.documentDbBackupGb)")


def _docdb_global_cluster(res: Resource, ctx: Context, bill: Bill) -> None:
    """The global cluster: the primary's changes sent to the secondary region (its share of drReplicationGb)."""
    share = ctx.share("replication")
    bill.add("docdb.global.transfer.inter-region", ctx.usage.dr_replication_gb * share,
             f"changes sent to the secondary region ({share:.0%} of usage.drReplicationGb)", keep_zero=True)


OPENSEARCH_DOMAIN = "aws:opensearch/domain:Domain"


def _opensearch_domain(res: Resource, ctx: Context, bill: Bill) -> None:
    """Data nodes (and dedicated masters) per hour, and each data node's EBS volume per GB-month."""
    props = res.props
    nodes = 0.0
    with bill.part("data nodes"):
        nodes = number(get(props, "clusterConfig", "instanceCount", default=1), ["clusterConfig", "instanceCount"])
        kind = get(props, "clusterConfig", "instanceType")
        bill.hourly(f"opensearch.{kind}", nodes, f"{nodes:g} x {kind} data node(s)", keep_zero=True)
    with bill.part("dedicated masters"):
        if truthy(get(props, "clusterConfig", "dedicatedMasterEnabled", default=False)):
            masters = number(get(props, "clusterConfig", "dedicatedMasterCount", default=3), ["dedicatedMasterCount"])
            kind = get(props, "clusterConfig", "dedicatedMasterType")
            bill.hourly(f"opensearch.{kind}", masters, f"{masters:g} x {kind} dedicated master(s)")
    with bill.part("storage"):
        if truthy(get(props, "ebsOptions", "ebsEnabled", default=False)):
            size = number(get(props, "ebsOptions", "volumeSize", default=10), ["ebsOptions", "volumeSize"])
            volume = str(get(props, "ebsOptions", "volumeType", default="gp2"))
            bill.add(f"opensearch.storage.{volume}", size * nodes, f"{nodes:g} x {size:g} GiB {volume}",
                     keep_zero=True)


def _cache_nodes(res: Resource, ctx: Context, bill: Bill, nodes: float) -> None:
    engine = str(get(res.props, "engine", default="redis"))
    node_type = get(res.props, "nodeType")
    bill.hourly(f"elasticache.{engine}.{node_type}", nodes, f"{nodes:g} x {node_type} {engine} node(s)",
                keep_zero=True)


def _replication_group(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("cache nodes"):
        groups = get(res.props, "numNodeGroups")
        if groups is not None:
            replicas = number(get(res.props, "replicasPerNodeGroup", default=0), ["replicasPerNodeGroup"])
            nodes = number(groups, ["numNodeGroups"]) * (1 + replicas)
        else:
            nodes = number(get(res.props, "numCacheClusters", default=1), ["numCacheClusters"])
        _cache_nodes(res, ctx, bill, nodes)


def _cache_cluster(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("cache nodes"):
        if get(res.props, "replicationGroupId") is not None:
            bill.free = "a member of a replication group, whose nodes are priced on the group"
            return
        _cache_nodes(res, ctx, bill, number(get(res.props, "numCacheNodes", default=1), ["numCacheNodes"]))


def _bucket(res: Resource, ctx: Context, bill: Bill) -> None:
    if ctx.region_of(res) != ctx.default_region:
        # A bucket in the DR region: the replica holds a copy of one primary bucket's share; the replica's
        # access-log bucket holds a few KB of logs per day (not modelled).
        if _role(res) == "replica":
            share = ctx.share("s3")
            bill.add("s3.standard.storage", ctx.usage.s3_storage_gb * share,
                     f"S3 Standard storage of the DR replica (a copy of {share:.0%} of usage.s3StorageGb)",
                     keep_zero=True)
        else:
            bill.add("s3.standard.storage", 0, "S3 Standard storage in the DR region (access logs only)",
                     keep_zero=True)
        return
    share = ctx.share("s3")
    bill.add("s3.standard.storage", ctx.usage.s3_storage_gb * share,
             f"S3 Standard storage ({share:.0%} of usage.s3StorageGb)", keep_zero=True)


def _role(res: Resource) -> str | None:
    tags = get(res.props, "tags", default=None)
    return tags.get(ROLE_TAG) if isinstance(tags, Mapping) else None


# --- cross-region replication (RPO on region loss) ------------------------------------------------------------


def _bucket_replication(res: Resource, ctx: Context, bill: Bill) -> None:
    """S3 CRR: inter-region transfer of what replicates, plus the Replication Time Control fee per GB."""
    share = ctx.share("replication")
    gb = ctx.usage.dr_replication_gb * share
    bill.add("s3.transfer.inter-region", gb, f"replicated to another region ({share:.0%} of usage.drReplicationGb)",
             keep_zero=True)
    with bill.part("replication time control"):
        rules = get(res.props, "rules", default=[]) or []
        if any(str(get(r, "destination", "replicationTime", "status", default="")) == "Enabled" for r in rules):
            bill.add("s3.replication-time-control", gb, "S3 Replication Time Control (per GB replicated)",
                     keep_zero=True)


def _db_backups_replication(res: Resource, ctx: Context, bill: Bill) -> None:
    """RDS automated backups in the DR region: backup storage there plus the transfer of snapshots and logs."""
    with bill.part("replicated backup storage"):
        sources = ctx.dependencies(res, "sourceDbInstanceArn", RDS_INSTANCE)
        if not sources:
            bill.skip("replicated backup storage: the source instance is not in this plan")
        else:
            size = number(get(sources[0].props, "allocatedStorage", default=0), ["allocatedStorage"])
            # All of it is billed: the free backup storage (up to the database size) applies in its own region only.
            bill.add("rds.backup-storage", size, f"replicated backups (~{size:g} GB: the database's allocated "
                     "storage, an upper bound of a full snapshot)", keep_zero=True)
    share = ctx.share("replication")
    bill.add("rds.transfer.inter-region", ctx.usage.dr_replication_gb * share,
             f"snapshots and transaction logs sent to the DR region ({share:.0%} of usage.drReplicationGb)",
             keep_zero=True)


def _ecr_replication(res: Resource, ctx: Context, bill: Bill) -> None:
    """ECR replication: the replicated images are stored again in each destination region."""
    with bill.part("replicated image storage"):
        rules = get(res.props, "replicationConfiguration", "rules", default=[]) or []
        regions = sorted({str(get(d, "region")) for r in rules for d in (get(r, "destinations", default=[]) or [])})
        for region in regions:
            bill.add("ecr.storage", ctx.usage.ecr_storage_gb, f"image replicas in {region} (usage.ecrStorageGb)",
                     keep_zero=True, region=region)


def _ecr_repository(res: Resource, ctx: Context, bill: Bill) -> None:
    share = ctx.share("ecr")
    bill.add("ecr.storage", ctx.usage.ecr_storage_gb * share, f"image storage ({share:.0%} of usage.ecrStorageGb)",
             keep_zero=True)


def _codebuild_project(res: Resource, ctx: Context, bill: Bill) -> None:
    """The in-VPC CI runner: on-demand build minutes of its compute type (usage.ciRunnerBuildMinutes)."""
    with bill.part("build minutes"):
        compute = get(res.props, "environment", "computeType")
        size = str(compute).removeprefix("BUILD_GENERAL1_").lower()
        minutes = ctx.usage.ci_runner_build_minutes
        bill.add(f"codebuild.general1.{size}", minutes, f"{minutes:g} build minutes/month on {compute} "
                 "(usage.ciRunnerBuildMinutes)", keep_zero=True)


def _secret(res: Resource, ctx: Context, bill: Bill) -> None:
    bill.add("secretsmanager.secret", 1, "secret")
    with bill.part("replicas"):
        replicas = count(get(res.props, "replicas"), ["replicas"])
        bill.add("secretsmanager.secret", replicas, f"{replicas} replica(s) in other regions")


def _kms_key(res: Resource, ctx: Context, bill: Bill) -> None:
    bill.add("kms.key", 1, "customer managed key")


def _hourly_copy_rules(res: Resource) -> list[Any]:
    """A plan's rules that run every hour and copy to another vault: the DR copies of the stores nothing replicates
    continuously (DocumentDB, vector-store volumes)."""
    rules = get(res.props, "rules", default=[]) or []
    return [r for r in rules if (get(r, "copyActions", default=[]) or [])
            and str(get(r, "schedule", default="")).split(" ")[1:2] == ["*"]]


def _backup_plan(res: Resource, ctx: Context, bill: Bill) -> None:
    """A plan's schedule is free; hourly DR copies are not: each hour's changes cross regions and are kept twice.

    The daily plan's copies are priced on the vaults (usage.backupWarmGb split between them). An hourly copy plan adds
    its share of usage.drReplicationGb (the changed data each month): transferred to the DR region, and kept as
    incremental recovery points for the rule's retention here and its copy's retention there."""
    try:
        rules = _hourly_copy_rules(res)
    except NotYetKnownError as exc:
        bill.skip(f"hourly DR copies: {exc.path} is not known until apply")
        return
    if not rules:
        bill.free = "backup schedule; recovery-point storage is priced on the vaults"
        return
    share = ctx.share("replication")
    gb = ctx.usage.dr_replication_gb * share
    bill.add("backup.transfer.inter-region", gb, f"hourly recovery points copied to the DR region ({share:.0%} of "
             "usage.drReplicationGb)", keep_zero=True)
    vaults = [v for v in ctx.dependencies(res, "rules", BACKUP_VAULT) if ctx.region_of(v) != ctx.region_of(res)]
    dr_region = ctx.region_of(vaults[0]) if vaults else None
    for rule in rules:
        local = number(get(rule, "lifecycle", "deleteAfter", default=0), ["lifecycle", "deleteAfter"])
        bill.add("backup.warm", gb * local / 30, f"hourly increments kept {local:g} days here", keep_zero=True)
        for action in get(rule, "copyActions", default=[]) or []:
            days = number(get(action, "lifecycle", "deleteAfter", default=0), ["lifecycle", "deleteAfter"])
            bill.add("backup.warm", gb * days / 30, f"hourly increments kept {days:g} days in the DR region",
                     keep_zero=True, region=dr_region)


def _backup_vault(res: Resource, ctx: Context, bill: Bill) -> None:
    region = ctx.region_of(res)
    share = ctx.share(f"backup:{region}")
    copy = "primary copy" if region == ctx.default_region else f"copy in {region}"
    usage = ctx.usage
    bill.add("backup.warm", usage.backup_warm_gb * share, f"warm recovery points ({copy}, usage.backupWarmGb)",
             keep_zero=True)
    bill.add("backup.cold", usage.backup_cold_gb * share, f"cold-tier recovery points ({copy}, usage.backupColdGb)")
    bill.add("backup.rds-snapshot", usage.backup_rds_snapshot_gb * share,
             f"RDS snapshots ({copy}, usage.backupRdsSnapshotGb)", keep_zero=True)


# --- observability -------------------------------------------------------------------------------------------------


LOG_INGESTION_KEYS = {"STANDARD": "logs.ingestion.standard", "INFREQUENT_ACCESS": "logs.ingestion.infrequent-access"}


def _log_group(res: Resource, ctx: Context, bill: Bill) -> None:
    share = ctx.share("logs")
    gb = ctx.usage.log_ingestion_gb * share
    with bill.part("log ingestion"):
        klass = str(get(res.props, "logGroupClass", default="STANDARD")).upper()
        key = LOG_INGESTION_KEYS.get(klass)
        if key is None:
            bill.skip(f"log ingestion: the {klass} log class is not in the catalogue")
        else:
            bill.add(key, gb, f"ingestion ({share:.0%} of usage.logIngestionGb)", keep_zero=True)
    with bill.part("log storage"):
        days = number(get(res.props, "retentionInDays", default=0), ["retentionInDays"])
        if not days:
            if gb:
                bill.skip("log storage: the group never expires, so stored data grows every month; "
                          "set retentionInDays")
        else:
            bill.add("logs.storage", gb * days / DAYS_PER_MONTH, f"storage of {days:g} days of ingestion")


def _metric_alarm(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("alarm"):
        queries = get(res.props, "metricQueries") or []
        metrics = sum(1 for i in range(count(queries, ["metricQueries"])) if get(queries, i, "metric") is not None)
        expressions = [str(get(queries, i, "expression", default="")) for i in range(len(queries))]
        if any("ANOMALY_DETECTION_BAND" in e for e in expressions):
            bill.skip("anomaly detection alarms are not in the catalogue")
            return
        metrics = max(metrics, 1)
        period = number(get(res.props, "period", default=60), ["period"])
        key = "cloudwatch.alarm.high-resolution" if period < 60 else "cloudwatch.alarm.standard"
        bill.add(key, metrics, f"alarm on {metrics} metric(s)")


def _composite_alarm(res: Resource, ctx: Context, bill: Bill) -> None:
    bill.add("cloudwatch.alarm.composite", 1, "composite alarm")


def _dashboard(res: Resource, ctx: Context, bill: Bill) -> None:
    bill.add("cloudwatch.dashboard", 1, "dashboard")


# --- Kubernetes storage and load balancers created outside the plan --------------------------------------------


@dataclass(frozen=True)
class _StorageClass:
    name: str
    volume_type: str | None
    default: bool


def _storage_classes(ctx: Context) -> list[_StorageClass]:
    found = []
    for res in ctx.resources.values():
        if res.type != STORAGE_CLASS:
            continue
        try:
            name = get(res.props, "metadata", "name")
            provisioner = get(res.props, "provisioner")
            default = truthy(get(res.props, "metadata", "annotations",
                                 "storageclass.kubernetes.io/is-default-class", default=False))
            volume = str(get(res.props, "parameters", "type", default="gp3")) if provisioner in EBS_PROVISIONERS \
                else None
        except NotYetKnownError:
            continue
        found.append(_StorageClass(str(name), volume, default))
    return found


def _claim(bill: Bill, ctx: Context, size: Any, replicas: float, storage_class: Any, what: str) -> None:
    """``replicas`` EBS volumes of ``size`` from ``storage_class`` (the default class when unset)."""
    amount = gib(size)
    if amount is None:
        bill.skip(f"{what}: storage size {size!r} is not a quantity")
        return
    classes = _storage_classes(ctx)
    match = [c for c in classes if (c.name == storage_class if storage_class else c.default)]
    if not match:
        label = f"storage class {storage_class!r}" if storage_class else "a default storage class"
        bill.skip(f"{what}: {label} is not in the plan, so the volume type is unknown")
        return
    volume = match[0].volume_type
    if volume not in ("gp3", "gp2"):
        bill.skip(f"{what}: storage class {match[0].name} does not provision EBS gp2/gp3 volumes")
        return
    bill.add(f"ebs.{volume}.storage", amount * replicas,
             f"{what}: {int(replicas)} x {amount:g} GiB {volume} ({match[0].name})")


def _pvc(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("volume"):
        spec = get(res.props, "spec", default={})
        _claim(bill, ctx, get(spec, "resources", "requests", "storage"), 1, get(spec, "storageClassName"),
               "persistent volume claim")


def _stateful_set(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("volume claim templates"):
        spec = get(res.props, "spec", default={})
        templates = get(spec, "volumeClaimTemplates") or []
        if not templates:
            bill.free = FREE_PACKAGES["kubernetes"]
            return
        replicas = number(get(spec, "replicas", default=1), ["spec", "replicas"])
        for i in range(count(templates, ["spec", "volumeClaimTemplates"])):
            claim = get(templates, i, "spec", default={})
            name = get(templates, i, "metadata", "name", default=f"#{i}")
            _claim(bill, ctx, get(claim, "resources", "requests", "storage"), replicas,
                   get(claim, "storageClassName"), f"volume claim template {name}")


ChartVolume = tuple[str, Any, float, Any]


def _chart_volumes(values: Any, path: tuple[str, ...] = (), replicas: float = 1) -> Iterator[ChartVolume]:
    """Persistent volumes a chart's values ask for: ``(path, size, replicas, storage class)``.

    Charts spell this two ways: a ``volumeClaimTemplate`` (Prometheus and Alertmanager in
    kube-prometheus-stack) or a ``persistence`` block with ``enabled`` and ``size`` (Grafana, Bitnami
    charts). The replica count is the nearest enclosing ``replicas``/``replicaCount``.
    """
    if not isinstance(values, Mapping):
        return
    own = values.get("replicas", values.get("replicaCount"))
    if isinstance(own, int | float) and not isinstance(own, bool):
        replicas = float(own)
    template = values.get("volumeClaimTemplate")
    if isinstance(template, Mapping):
        spec = template.get("spec") if isinstance(template.get("spec"), Mapping) else {}
        size = get(spec, "resources", "requests", "storage")
        yield ".".join([*path, "volumeClaimTemplate"]), size, replicas, get(spec, "storageClassName")
    persistence = values.get("persistence")
    if isinstance(persistence, Mapping) and truthy(persistence.get("enabled")):
        yield (".".join([*path, "persistence"]), persistence.get("size"), replicas,
               persistence.get("storageClass") or persistence.get("storageClassName"))
    for key, value in values.items():
        if key not in ("volumeClaimTemplate", "persistence"):
            yield from _chart_volumes(value, (*path, str(key)), replicas)


def _chart_load_balancers(values: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Paths of ``service.type: LoadBalancer`` in chart values: the cluster creates those outside the plan."""
    if not isinstance(values, Mapping):
        return
    for key, value in values.items():
        if key == "service" and isinstance(value, Mapping) and value.get("type") == "LoadBalancer":
            yield ".".join([*path, key])
        yield from _chart_load_balancers(value, (*path, str(key)))


def _vector_store_volumes(chart: str, values: Any) -> tuple[list[ChartVolume], list[ChartVolume]]:
    """A vector store chart's (data volumes, further volumes): the data volume has no ``enabled`` switch, so
    ``_chart_volumes`` skips it. The charts' defaults apply where a key is unset (10Gi / 32Gi, one replica)."""
    replicas_key, data_block, extra_blocks = VECTOR_STORE_CHARTS[chart]
    replicas = float(number(get(values, replicas_key, default=1), [replicas_key]))
    block = get(values, data_block, default={}) or {}
    default_size = {"qdrant": "10Gi", "weaviate": "32Gi"}[chart]
    data = [(data_block, get(block, "size", default=default_size), replicas, get(block, "storageClassName"))]
    extra = []
    for name in extra_blocks:
        block = get(values, name, default={}) or {}
        if truthy(get(block, "enabled", default=False)):
            extra.append((name, get(block, "size", default=default_size), replicas, get(block, "storageClassName")))
    return data, extra


def _helm_release(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("chart volumes"):
        values = get(res.props, "values", default={})
        for path in _chart_load_balancers(values):
            bill.skip(f"values.{path} is type LoadBalancer: the cluster creates a load balancer outside the plan")
        chart = str(get(res.props, "chart", default="")).rstrip("/").rsplit("/", 1)[-1]
        volumes = list(_chart_volumes(values))
        if chart in VECTOR_STORE_CHARTS:
            store_volumes, scratch = _vector_store_volumes(chart, values)
            volumes += [*store_volumes, *scratch]
            for path, size, replicas, _ in store_volumes:
                amount = gib(size)
                if amount is not None:
                    # AWS Backup's EBS snapshots are incremental; at least one full copy of each volume is kept.
                    bill.add("backup.warm", amount * replicas,
                             f"values.{path}: EBS recovery points in AWS Backup (one full copy of "
                             f"{int(replicas)} x {amount:g} GiB)")
        if not volumes:
            if not bill.unpriced:
                bill.free = FREE_PACKAGES["kubernetes"]
            return
        for path, size, replicas, storage_class in volumes:
            if size is None:
                bill.skip(f"values.{path}: persistence is enabled without a size (the chart's default applies)")
                continue
            _claim(bill, ctx, size, replicas, storage_class, f"values.{path}")


def _cron_job(res: Resource, ctx: Context, bill: Bill) -> None:
    """A snapshot CronJob's S3 cost: every run its schedule makes (runs per day from spec.schedule), each a full
    snapshot of usage.vectorSnapshotGb, kept by its retention class, and copied to the DR region when the data bucket
    replicates. Other CronJobs run on the nodes at no charge of their own."""
    with bill.part("snapshots"):
        annotations = get(res.props, "metadata", "annotations", default={}) or {}
        size, days = annotations.get(SNAPSHOT_GIB_ANNOTATION), annotations.get(SNAPSHOT_RETENTION_ANNOTATION)
        if size is None or days is None:
            bill.free = FREE_PACKAGES["kubernetes"]
            return
        schedule = str(get(res.props, "spec", "schedule"))
        runs = runs_per_day(schedule)
        if runs is None:
            bill.skip(f"snapshots: spec.schedule '{schedule}' is not understood: runs per day unknown")
            return
        where = ["metadata", "annotations"]
        recent = annotations.get(SNAPSHOT_RECENT_RETENTION_ANNOTATION)
        noncurrent = annotations.get(SNAPSHOT_NONCURRENT_ANNOTATION)
        _snapshot_storage(bill, ctx, runs=runs, schedule=f"'{schedule}'",
                          volumes_gib=number(size, [*where, SNAPSHOT_GIB_ANNOTATION]),
                          days=number(days, [*where, SNAPSHOT_RETENTION_ANNOTATION]),
                          recent_days=number(recent, [*where, SNAPSHOT_RECENT_RETENTION_ANNOTATION])
                          if recent is not None else None,
                          noncurrent_days=number(noncurrent, [*where, SNAPSHOT_NONCURRENT_ANNOTATION])
                          if noncurrent is not None else 0.0)


def _snapshot_storage(bill: Bill, ctx: Context, *, runs: int, schedule: str, volumes_gib: float, days: float,
                      recent_days: float | None, noncurrent_days: float) -> None:
    """S3 storage of a vector store's snapshots in the data bucket (and its replica), and their transfer there.

    Each run writes usage.vectorSnapshotGb (the store's data, at most its volumes). The first run of a day is kept
    ``days``, the others (a sub-daily schedule) ``recent_days`` under the recent prefix. S3 expires an object at the
    midnight UTC after its days have passed (up to a day more) and keeps its noncurrent version so many days after
    (the bucket's days for the daily class, RECENT_SNAPSHOT_NONCURRENT_DAYS for the recent one): priced at that upper
    bound. Every run crosses regions when the bucket replicates (S3 transfer, plus RTC when the rule has it)."""
    gb = min(ctx.usage.vector_snapshot_gb, volumes_gib)
    basis = f"{gb:g} GB a run (usage.vectorSnapshotGb {ctx.usage.vector_snapshot_gb:g}, at most the volumes' " \
            f"{volumes_gib:g} GiB)"
    daily_kept = days + 1 + noncurrent_days
    classes = [(1, daily_kept, f"first run of each day kept up to {daily_kept:g} days ({days:g} + 1 to midnight "
                               f"UTC + {noncurrent_days:g} noncurrent)")]
    if runs > 1:
        if recent_days is None:
            bill.skip(f"snapshots: {schedule} runs {runs} times a day and names no recent retention: the other "
                      f"{runs - 1} runs would be kept {days:g} days")
            return
        recent_kept = recent_days + 1 + RECENT_SNAPSHOT_NONCURRENT_DAYS
        classes.append((runs - 1, recent_kept, f"{runs - 1} more runs a day under the recent prefix kept up to "
                                               f"{recent_kept:g} days ({recent_days:g} + 1 to midnight UTC + "
                                               f"{RECENT_SNAPSHOT_NONCURRENT_DAYS} noncurrent)"))
    for count_, kept, what in classes:
        bill.add("s3.standard.storage", count_ * gb * kept, f"snapshots in the data bucket: {what}, {basis}",
                 keep_zero=True)
    replication = [r for r in ctx.resources.values() if r.type == BUCKET_REPLICATION]
    if not replication:
        return
    replicas = [b for b in ctx.resources.values() if b.type == BUCKET and _role(b) == "replica"]
    region = ctx.region_of(replicas[0]) if replicas else None
    where = f" ({region})" if region else ""
    for count_, kept, what in classes:
        bill.add("s3.standard.storage", count_ * gb * kept, f"snapshots in the replica bucket{where}: {what}",
                 keep_zero=True, region=region)
    monthly = runs * gb * DAYS_PER_MONTH
    bill.add("s3.transfer.inter-region", monthly, f"{runs} snapshot runs a day ({schedule}) x {gb:g} GB replicated "
             "to the DR region (on top of usage.drReplicationGb)", keep_zero=True)
    rules = [rule for r in replication for rule in (get(r.props, "rules", default=[]) or [])]
    if any(str(get(rule, "destination", "replicationTime", "status", default="")) == "Enabled" for rule in rules):
        bill.add("s3.replication-time-control", monthly, f"S3 Replication Time Control on the {runs} snapshot runs "
                 "a day", keep_zero=True)


def _ebs_volume(res: Resource, ctx: Context, bill: Bill) -> None:
    """A standalone EBS volume: its storage (and gp3 performance above the baseline), one full recovery point when
    AWS Backup selects it, and the S3 storage of snapshots its tags declare (a vector store's data volume)."""
    with bill.part("volume"):
        kind = str(get(res.props, "type", default="gp2"))
        size = number(get(res.props, "size"), ["size"])
        if kind not in ("gp3", "gp2"):
            bill.skip(f"volume type {kind} is not in the catalogue")
            return
        bill.add(f"ebs.{kind}.storage", size, f"EBS {kind} volume ({size:g} GiB)")
        if kind == "gp3":
            iops = number(get(res.props, "iops", default=3000), ["iops"])
            throughput = number(get(res.props, "throughput", default=125), ["throughput"])
            bill.add("ebs.gp3.iops", max(0.0, iops - 3000), "gp3 IOPS above 3,000")
            bill.add("ebs.gp3.throughput", max(0.0, throughput - 125), "gp3 throughput above 125 MiB/s")
        tags = get(res.props, "tags", default={}) or {}
        if tags.get(BACKUP_PLAN_TAG):
            # AWS Backup's EBS snapshots are incremental; at least one full copy of the volume is kept.
            bill.add("backup.warm", size, f"EBS recovery points in AWS Backup (one full copy of {size:g} GiB)")
        snapshot, days = tags.get(SNAPSHOT_GIB_ANNOTATION), tags.get(SNAPSHOT_RETENTION_ANNOTATION)
        if snapshot is not None and days is not None:
            # The VM runtime's snapshot timer: its runs a day are a tag (a cron expression is no valid tag value).
            runs = tags.get(SNAPSHOT_RUNS_PER_DAY_TAG)
            if runs is None:
                bill.skip(f"snapshots: the volume declares snapshots but no {SNAPSHOT_RUNS_PER_DAY_TAG} tag: runs per "
                          "day unknown")
                return
            count_ = int(number(runs, ["tags", SNAPSHOT_RUNS_PER_DAY_TAG]))
            recent = tags.get(SNAPSHOT_RECENT_RETENTION_ANNOTATION)
            noncurrent = tags.get(SNAPSHOT_NONCURRENT_ANNOTATION)
            _snapshot_storage(bill, ctx, runs=count_, schedule="the snapshot timer",
                              volumes_gib=number(snapshot, ["tags", SNAPSHOT_GIB_ANNOTATION]),
                              days=number(days, ["tags", SNAPSHOT_RETENTION_ANNOTATION]),
                              recent_days=number(recent, ["tags", SNAPSHOT_RECENT_RETENTION_ANNOTATION])
                              if recent is not None else None,
                              noncurrent_days=number(noncurrent, ["tags", SNAPSHOT_NONCURRENT_ANNOTATION])
                              if noncurrent is not None else 0.0)


def _k8s_service(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("service"):
        if get(res.props, "spec", "type") == "LoadBalancer":
            bill.skip("a Service of type LoadBalancer makes the cluster create a load balancer outside the plan")
        else:
            bill.free = FREE_PACKAGES["kubernetes"]


def _k8s_ingress(res: Resource, ctx: Context, bill: Bill) -> None:
    with bill.part("ingress"):
        klass = get(res.props, "spec", "ingressClassName") or get(
            res.props, "metadata", "annotations", "kubernetes.io/ingress.class")
        if klass == "alb":
            bill.skip("the AWS Load Balancer Controller creates an ALB for this Ingress outside the plan")
        else:
            bill.free = FREE_PACKAGES["kubernetes"]


RULES: dict[str, Rule] = {
    EKS_CLUSTER: _eks_cluster,
    NODE_GROUP: _node_group,
    EC2_INSTANCE: _ec2_instance,
    AUTOSCALING_GROUP: _autoscaling_group,
    SCALING_POLICY: _scaling_policy,
    NAT_GATEWAY: _nat_gateway,
    EIP: _eip,
    VPC_ENDPOINT: _vpc_endpoint,
    LOAD_BALANCER: _load_balancer,
    WEB_ACL: _web_acl,
    ZONE: _zone,
    "aws:backup/restoreTestingPlan:RestoreTestingPlan": _restore_testing_plan,
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": _serverless_application,
    RDS_INSTANCE: _rds_instance,
    REPLICATION_GROUP: _replication_group,
    DOCDB_CLUSTER: _docdb_cluster,
    DOCDB_INSTANCE: _docdb_instance,
    DOCDB_GLOBAL_CLUSTER: _docdb_global_cluster,
    OPENSEARCH_DOMAIN: _opensearch_domain,
    CACHE_CLUSTER: _cache_cluster,
    BUCKET: _bucket,
    BUCKET_V2: _bucket,
    ECR_REPOSITORY: _ecr_repository,
    BUCKET_REPLICATION: _bucket_replication,
    DB_BACKUPS_REPLICATION: _db_backups_replication,
    ECR_REPLICATION: _ecr_replication,
    "aws:codebuild/project:Project": _codebuild_project,
    SECRET: _secret,
    KMS_KEY: _kms_key,
    KMS_REPLICA_KEY: _kms_key,
    BACKUP_VAULT: _backup_vault,
    BACKUP_PLAN: _backup_plan,
    LOG_GROUP: _log_group,
    METRIC_ALARM: _metric_alarm,
    COMPOSITE_ALARM: _composite_alarm,
    DASHBOARD: _dashboard,
    PVC: _pvc,
    STATEFUL_SET: _stateful_set,
    HELM_RELEASE: _helm_release,
    "kubernetes:batch/v1:CronJob": _cron_job,
    "aws:ebs/volume:Volume": _ebs_volume,
    K8S_SERVICE: _k8s_service,
    K8S_INGRESS: _k8s_ingress,
}


def pool_of(res: Resource, default_region: str) -> str | None:
    """The usage pool a resource shares with others of its kind (usage assumptions are split evenly)."""
    if res.type == NAT_GATEWAY:
        return "nat"
    if res.type == VPC_ENDPOINT:
        try:
            return "endpoint" if _endpoint_type(res) == "Interface" else None
        except NotYetKnownError:
            return None
    if res.type == WEB_ACL:
        return "waf"
    if res.type in (BUCKET, BUCKET_V2):
        # Buckets in another region are the DR replicas: they copy a share, they do not split the usage.
        return "s3" if (res.region or default_region) == default_region else None
    if res.type in (BUCKET_REPLICATION, DB_BACKUPS_REPLICATION, DOCDB_GLOBAL_CLUSTER):
        return "replication"
    if res.type == BACKUP_PLAN:
        try:
            return "replication" if _hourly_copy_rules(res) else None
        except NotYetKnownError:  # rules unknown in a preview: the plan is priced as not yet known, not pooled
            return None
    if res.type == ECR_REPOSITORY:
        return "ecr"
    if res.type == LOG_GROUP:
        return "logs"
    if res.type == BACKUP_VAULT:
        return f"backup:{res.region or default_region}"
    return None
