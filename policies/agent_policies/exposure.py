"""Paths from the internet that bypass the ALB and WAF, and resource policies open to anyone.

Everything public goes through one ALB with a WAF in front. These policies catch the other ways in: Kubernetes
Services and chart values that create their own load balancers or node ports, resource policies with a "*"
principal, internet routes from the isolated (data) subnets, compute placed in public subnets, the EKS API without
its private endpoint or with legacy aws-auth authentication, a WAF that fails open, and S3 ACLs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import Policy, PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._common import (
    Report,
    Settings,
    as_list,
    checkov,
    cis_eks,
    depends_on,
    dotted,
    fsbp,
    get,
    known,
    known_plain,
    of_type,
    parse_document,
    resource_policy,
    soc2,
    stack_policy,
    statements,
    tag_map,
    walk,
)
from .aws_nat import NAT_ROLE_CONFIG, is_nat

SERVICE = "kubernetes:core/v1:Service"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
IGW = "aws:ec2/internetGateway:InternetGateway"
NAT = "aws:ec2/natGateway:NatGateway"
EGRESS_ONLY_IGW = "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway"
DATA_SUBNET_GROUPS = ("aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup")
EXPOSING_SERVICE_TYPES = ("LoadBalancer", "NodePort")

# Resource types whose policy document is a resource policy, and the input that holds it.
RESOURCE_POLICY_TYPES: dict[str, str] = {
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:s3/bucketV2:BucketV2": "policy",
    "aws:s3/bucket:Bucket": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:backup/vaultPolicy:VaultPolicy": "policy",
    "aws:kms/key:Key": "policy",
}
# Condition keys that restrict a "*" principal to known callers (IAM global condition context keys).
CALLER_KEYS = ("aws:principalorgid", "aws:principalaccount", "aws:principalarn", "aws:sourceaccount", "aws:sourcearn",
               "aws:sourceowner", "aws:principalorgpaths", "aws:sourcevpc", "aws:sourcevpce", "kms:calleraccount")


# --- Kubernetes Services and chart values ------------------------------------------------------------------


def _check_service(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    allowed = {str(t) for t in settings["allowedTypes"]}
    kind = get(args.props, "spec", "type", default="ClusterIP")
    if kind in EXPOSING_SERVICE_TYPES and kind not in allowed:
        report(f"Service type {kind} opens a path into the cluster that bypasses the ALB and its WAF; use ClusterIP "
               "behind the ingress.")
    external = as_list(get(args.props, "spec", "externalIPs"))
    if external:
        report(f"Service sets externalIPs {', '.join(map(str, external))}: traffic to those addresses reaches the "
               "pods without the ALB or WAF (and is the CVE-2020-8554 interception vector).")


def _chart(props: Any) -> str:
    chart = str(get(props, "chart") or "")
    return chart.rstrip("/").rsplit("/", 1)[-1]


def _check_chart_services(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = _chart(args.props)
    values = known_plain(get(args.props, "values", default={})) or {}
    allowed = {str(t) for t in settings["allowedTypes"]}
    found: dict[str, Any] = {}
    for path, value in walk(values):
        if len(path) >= 2 and path[-1] == "type" and str(path[-2]).lower().endswith("service"):
            found[dotted(path)] = value
        elif path and path[-1] == "externalIPs" and value:
            report(f"Chart {chart} sets {dotted(path)}: traffic to those addresses bypasses the ALB and WAF.")
        elif path and path[-1] == "service.beta.kubernetes.io/aws-load-balancer-scheme" and value == "internet-facing":
            report(f"Chart {chart} annotates a Service {dotted(path)}=internet-facing: it gets its own public NLB.")
    # Chart defaults apply where the values leave the key unset.
    for key, default in ((settings["chartDefaults"] or {}).get(chart) or {}).items():
        found.setdefault(key, default)
    for key, kind in sorted(found.items()):
        if kind in EXPOSING_SERVICE_TYPES and kind not in allowed:
            report(f"Chart {chart} creates a Service of type {kind} ({key}): a path into the cluster that bypasses "
                   "the ALB and its WAF. Set it to ClusterIP.")


# --- resource policies ---------------------------------------------------------------------------------------------


def _open_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any(p == "*" for kind in ("AWS", "CanonicalUser", "Federated") for p in as_list(principal.get(kind)))
    return False


def _caller_pinned(stmt: Mapping[str, Any]) -> bool:
    condition = stmt.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    for op, block in condition.items():
        if not isinstance(block, Mapping) or str(op).lower().startswith(("stringnot", "arnnot", "null")):
            continue
        for key, values in block.items():
            vals = [str(v) for v in as_list(values)]
            if str(key).lower() in CALLER_KEYS and vals and not any(v == "*" for v in vals):
                return True
    return False


def _check_resource_policy(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    field = RESOURCE_POLICY_TYPES[args.resource_type]
    raw = get(args.props, field)
    document = parse_document(raw)
    for i, stmt in enumerate(statements(document)):
        if stmt.get("Effect") != "Allow" or not _open_principal(stmt.get("Principal")):
            continue
        if _caller_pinned(stmt):
            continue
        label = stmt.get("Sid") or f"#{i + 1}"
        actions = ", ".join(str(a) for a in as_list(stmt.get("Action"))) or "every action"
        report(f"Statement {label} allows any principal (\"*\") {actions} with no condition tying the caller to an "
               "account, organisation, source ARN or VPC endpoint: anyone on the internet may call it.")


# --- subnets and routes -------------------------------------------------------------------------------------------


def _subnet_label(subnet: PolicyResource) -> str:
    name = known(lambda: tag_map(get(subnet.props, "tags")).get("Name"))
    return f"{subnet.name}" + (f" ({name})" if isinstance(name, str) and name != subnet.name else "")


def _route_targets(route_like: Any, deps: Sequence[PolicyResource]) -> list[str]:
    """What a route (a Route resource or an inline route) sends traffic to on the internet side."""
    targets = []
    dep_types = {d.resource_type for d in deps}
    gateway = known(lambda: get(route_like, "gatewayId"))
    if IGW in dep_types or (isinstance(gateway, str) and gateway.startswith("igw-")):
        targets.append("an internet gateway")
    if NAT in dep_types or known(lambda: get(route_like, "natGatewayId")):
        targets.append("a NAT gateway")
    if EGRESS_ONLY_IGW in dep_types or known(lambda: get(route_like, "egressOnlyGatewayId")):
        targets.append("an egress-only internet gateway")
    return targets


def _tables_to_internet(resources: Sequence[PolicyResource]) -> dict[str, tuple[bool, list[str]]]:
    """Route table URN to (reaches an internet gateway, every internet-side target)."""
    out: dict[str, tuple[bool, list[str]]] = {}

    def add(table: str, targets: list[str]) -> None:
        if targets:
            igw, existing = out.get(table, (False, []))
            out[table] = (igw or "an internet gateway" in targets, existing + targets)

    for route in of_type(resources, ROUTE):
        tables = [d for d in depends_on(route, "routeTableId") if d.resource_type == ROUTE_TABLE]
        targets = _route_targets(route.props, [d for d in route.dependencies if d.resource_type != ROUTE_TABLE])
        for table in tables:
            add(table.urn, targets)
    for table in of_type(resources, ROUTE_TABLE):
        inline = known(lambda t=table: as_list(get(t.props, "routes")), []) or []
        deps = depends_on(table, "routes") if table.property_dependencies.get("routes") else []
        for route in inline:
            add(table.urn, _route_targets(route, deps))
    return out


def _subnet_tables(resources: Sequence[PolicyResource]) -> dict[str, list[str]]:
    """Subnet URN to the route table URNs associated with it."""
    out: dict[str, list[str]] = {}
    for assoc in of_type(resources, ASSOCIATION):
        subnets = [d for d in depends_on(assoc, "subnetId") if d.resource_type == SUBNET]
        tables = [d for d in depends_on(assoc, "routeTableId") if d.resource_type == ROUTE_TABLE]
        for subnet in subnets:
            out.setdefault(subnet.urn, []).extend(t.urn for t in tables)
    return out


def _isolated_subnets(resources: Sequence[PolicyResource], pattern: re.Pattern[str]) -> dict[str, PolicyResource]:
    found: dict[str, PolicyResource] = {}
    for group in (r for r in resources if r.resource_type in DATA_SUBNET_GROUPS):
        for dep in depends_on(group, "subnetIds"):
            if dep.resource_type == SUBNET:
                found[dep.urn] = dep
    for subnet in of_type(resources, SUBNET):
        name = known(lambda s=subnet: tag_map(get(s.props, "tags")).get("Name"))
        if pattern.search(subnet.name) or (isinstance(name, str) and pattern.search(name)):
            found[subnet.urn] = subnet
    return found


def _check_isolated_routes(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    pattern = re.compile(str(settings["isolatedSubnetPattern"]), re.IGNORECASE)
    isolated = _isolated_subnets(args.resources, pattern)
    if not isolated:
        return
    internet = _tables_to_internet(args.resources)
    tables = _subnet_tables(args.resources)
    for urn, subnet in sorted(isolated.items()):
        for table in tables.get(urn, []):
            if table in internet:
                targets = sorted(set(internet[table][1]))
                report(f"Isolated subnet {_subnet_label(subnet)} holds data stores but its route table "
                       f"{table.rsplit('::', 1)[-1]} routes to {', '.join(targets)}; data subnets get local routes "
                       "(and VPC endpoints) only.", subnet.urn)


COMPUTE_SUBNET_PROPS = {
    "aws:eks/nodeGroup:NodeGroup": "subnetIds",
    "aws:autoscaling/group:Group": "vpcZoneIdentifiers",
    "aws:ec2/instance:Instance": "subnetId",
    "aws:ec2/spotInstanceRequest:SpotInstanceRequest": "subnetId",
    "aws:eks/fargateProfile:FargateProfile": "subnetIds",
}


def _public_subnets(resources: Sequence[PolicyResource]) -> dict[str, str]:
    """Subnet URN to why it is public: a route to an internet gateway, or public IPs on launch."""
    internet = _tables_to_internet(resources)
    public: dict[str, str] = {}
    for subnet_urn, tables in _subnet_tables(resources).items():
        if any(internet.get(t, (False, []))[0] for t in tables):
            public[subnet_urn] = "routes to an internet gateway"
    for subnet in of_type(resources, SUBNET):
        if known(lambda s=subnet: get(s.props, "mapPublicIpOnLaunch")) is True:
            public.setdefault(subnet.urn, "assigns public IPs on launch")
    return public


def _check_compute_placement(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    public = _public_subnets(args.resources)
    if not public:
        return
    for res in args.resources:
        prop = COMPUTE_SUBNET_PROPS.get(res.resource_type)
        if prop is None:
            continue
        if res.resource_type == "aws:autoscaling/group:Group" and is_nat(res.props, settings["natRoleValue"]):
            continue  # the NAT instance lives in a public subnet by definition (nat-instance-* policies)
        subnets = [d for d in depends_on(res, prop) if d.resource_type == SUBNET and d.urn in public]
        for subnet in subnets:
            report(f"{res.resource_type.rsplit(':', 1)[-1]} {res.name} places nodes or instances in public subnet "
                   f"{_subnet_label(subnet)} ({public[subnet.urn]}); compute belongs in the private subnets behind "
                   "the ALB.", res.urn)


def _check_subnet_public_ip(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "mapPublicIpOnLaunch") is True:
        report("mapPublicIpOnLaunch is true: every instance or node launched here gets a public IPv4 address.")
    if get(args.props, "assignIpv6AddressOnCreation") is True and not settings["allowIpv6"]:
        report("assignIpv6AddressOnCreation is true: instances get globally routable IPv6 addresses.")


# --- EKS, ALB, S3 ---------------------------------------------------------------------------------------------


def _check_eks_private_endpoint(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    # CreateCluster defaults endpointPrivateAccess to false (EKS API reference, VpcConfigRequest).
    if get(args.props, "vpcConfig", "endpointPrivateAccess", default=False) is not True:
        report("vpcConfig.endpointPrivateAccess is not true: nodes and pods reach the Kubernetes API over its public "
               "endpoint, and turning the public endpoint off would cut them off.")


def _check_eks_auth_mode(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    # CreateCluster defaults authenticationMode to CONFIG_MAP (EKS API reference, CreateAccessConfigRequest).
    mode = get(args.props, "accessConfig", "authenticationMode", default="CONFIG_MAP")
    allowed = [str(m) for m in settings["allowedModes"]]
    if mode not in allowed:
        report(f"accessConfig.authenticationMode is {mode}: the aws-auth ConfigMap grants cluster access outside IAM "
               f"and CloudTrail-audited access entries. Use {' or '.join(allowed)}.")


def _check_waf_fail_open(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "loadBalancerType", default="application") != "application":
        return
    if get(args.props, "enableWafFailOpen") is True:
        report("enableWafFailOpen is true: when the WAF cannot be reached the ALB forwards every request unfiltered.")


def _check_s3_acls(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if args.resource_type == "aws:s3/bucketOwnershipControls:BucketOwnershipControls":
        ownership = get(args.props, "rule", "objectOwnership")
        if ownership != "BucketOwnerEnforced":
            report(f"rule.objectOwnership is {ownership}: ACLs are re-enabled, so objects can be shared by ACL "
                   "outside the bucket policy. Use BucketOwnerEnforced.")
    elif args.resource_type in ("aws:s3/bucketAclV2:BucketAclV2", "aws:s3/bucketAcl:BucketAcl"):
        report("A bucket ACL resource grants access outside the bucket policy; ACLs should stay disabled "
               "(BucketOwnerEnforced).")
    else:
        acl = get(args.props, "acl")
        if acl not in (None, "", "private"):
            report(f"acl is {acl}: a canned ACL grants access outside the bucket policy.")
        if as_list(get(args.props, "grants")):
            report("grants set ACL grants on the bucket; ACLs should stay disabled (BucketOwnerEnforced).")


POLICIES: list[Policy] = [
    resource_policy(
        "k8s-service-not-exposed",
        description="Kubernetes Services are ClusterIP without externalIPs: no LoadBalancer or NodePort path "
                    "around the ALB and WAF.",
        resource_types=[SERVICE],
        check=_check_service,
        severity=Severity.HIGH,
        remediation="Use type ClusterIP and route through the ingress behind the ALB; remove spec.externalIPs.",
        refs=[soc2("CC6.6")],
        config={"allowedTypes": {"type": "array", "items": {"type": "string"}, "default": [],
                                 "description": "Service types allowed despite bypassing the ALB (reviewed)."}},
    ),
    resource_policy(
        "helm-chart-no-exposed-service",
        description="Helm releases do not create LoadBalancer or NodePort Services (values or chart defaults), "
                    "externalIPs, or internet-facing NLBs.",
        resource_types=[HELM_RELEASE],
        check=_check_chart_services,
        severity=Severity.HIGH,
        remediation="Set every <component>.service.type the chart offers to ClusterIP (the chart's own default may "
                    "be LoadBalancer, as ingress-nginx's controller.service.type is) and route through the ALB.",
        refs=[soc2("CC6.6")],
        config={
            "allowedTypes": {"type": "array", "items": {"type": "string"}, "default": [],
                             "description": "Service types allowed despite bypassing the ALB (reviewed)."},
            "chartDefaults": {
                "type": "object",
                # kubernetes/ingress-nginx charts/ingress-nginx/values.yaml: controller.service.type: LoadBalancer
                "default": {"ingress-nginx": {"controller.service.type": "LoadBalancer"}},
                "description": "Per chart, Service-type values keys and the chart's default when left unset.",
            },
        },
    ),
    resource_policy(
        "resource-policy-no-public-principal",
        description="Resource policies (S3, SNS, SQS, ECR, Secrets Manager, Backup vaults, KMS) never Allow a \"*\" "
                    "principal unless a condition pins the caller's account, organisation, source or VPC endpoint.",
        resource_types=list(RESOURCE_POLICY_TYPES),
        check=_check_resource_policy,
        severity=Severity.CRITICAL,
        remediation="Name the account, role or service principal; when \"*\" is needed (e.g. AWS services), add a "
                    "StringEquals condition on aws:SourceAccount, aws:SourceArn or aws:PrincipalOrgID.",
        refs=[fsbp("SNS.4"), checkov("CKV_AWS_70"), checkov("CKV_AWS_169"), checkov("CKV_AWS_168"),
              checkov("CKV_AWS_32"), soc2("CC6.1")],
    ),
    stack_policy(
        "isolated-subnet-no-internet-route",
        description="Subnets that hold data stores (those of RDS/ElastiCache subnet groups, or named isolated) have "
                    "no route to an internet, NAT or egress-only gateway.",
        check=_check_isolated_routes,
        severity=Severity.CRITICAL,
        remediation="Associate data subnets with a route table that has only the local route (plus gateway "
                    "endpoints); reach AWS APIs through VPC endpoints.",
        refs=[soc2("CC6.6")],
        config={"isolatedSubnetPattern": {"type": "string", "default": "isolated|database|data-subnet",
                                          "description": "Regex on subnet names or Name tags marking isolated "
                                                         "subnets besides those of data subnet groups."}},
    ),
    stack_policy(
        "compute-not-in-public-subnets",
        description="EKS node groups, Auto Scaling groups and instances run in private subnets, not in subnets "
                    "routed to an internet gateway or assigning public IPs.",
        check=_check_compute_placement,
        severity=Severity.HIGH,
        remediation="Pass the private subnet ids (network.private_subnet_ids) to node groups, Auto Scaling groups and "
                    "instances; only load balancers, NAT gateways and the NAT instance's group live in public "
                    "subnets.",
        refs=[cis_eks("5.4.3", "Ensure clusters are created with Private Nodes"), fsbp("EC2.9"),
              checkov("CKV_AWS_88"), soc2("CC6.6")],
        config=NAT_ROLE_CONFIG,
    ),
    resource_policy(
        "subnet-no-auto-public-ip",
        description="Subnets do not assign public IP addresses to what launches in them.",
        resource_types=[SUBNET],
        check=_check_subnet_public_ip,
        severity=Severity.MEDIUM,
        remediation="Set map_public_ip_on_launch=False (the public subnets host only the ALB and NAT gateways, which "
                    "get their addresses explicitly).",
        refs=[fsbp("EC2.15", "Amazon EC2 subnets should not automatically assign public IP addresses"),
              checkov("CKV_AWS_130")],
        config={"allowIpv6": {"type": "boolean", "default": False,
                              "description": "Allow assignIpv6AddressOnCreation (IPv6 stacks with egress-only "
                                             "gateways)."}},
    ),
    resource_policy(
        "eks-private-endpoint-enabled",
        description="The EKS API has its private endpoint on, so nodes and pods never depend on the public one.",
        resource_types=["aws:eks/cluster:Cluster"],
        check=_check_eks_private_endpoint,
        severity=Severity.HIGH,
        remediation="Set vpc_config.endpoint_private_access=True (and restrict or turn off the public endpoint).",
        refs=[cis_eks("5.4.2", "Ensure clusters are created with Private Endpoint Enabled and Public Access Disabled"),
              fsbp("EKS.1")],
    ),
    resource_policy(
        "eks-access-entries-only",
        description="EKS clusters authenticate through access entries (authenticationMode API), not the legacy "
                    "aws-auth ConfigMap.",
        resource_types=["aws:eks/cluster:Cluster"],
        check=_check_eks_auth_mode,
        severity=Severity.HIGH,
        remediation="Set access_config.authentication_mode=\"API\" and grant access with aws.eks.AccessEntry and "
                    "AccessPolicyAssociation.",
        refs=[soc2("CC6.2")],
        config={"allowedModes": {"type": "array", "items": {"type": "string", "enum": ["API", "API_AND_CONFIG_MAP",
                                                                                       "CONFIG_MAP"]},
                                 "default": ["API"], "description": "Allowed authentication modes."}},
    ),
    resource_policy(
        "alb-waf-fail-closed",
        description="Application Load Balancers do not fail open when their WAF is unavailable.",
        resource_types=["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"],
        check=_check_waf_fail_open,
        severity=Severity.HIGH,
        remediation="Set enable_waf_fail_open=False (the default) on the load balancer.",
        refs=[soc2("CC6.6")],
    ),
    resource_policy(
        "s3-acls-disabled",
        description="S3 buckets keep ACLs disabled (object ownership BucketOwnerEnforced, no ACL resources or "
                    "canned ACLs).",
        resource_types=["aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketAclV2:BucketAclV2",
                        "aws:s3/bucketAcl:BucketAcl", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
        check=_check_s3_acls,
        severity=Severity.HIGH,
        remediation="Use aws.s3.BucketOwnershipControls with object_ownership=\"BucketOwnerEnforced\" and grant "
                    "access with the bucket policy only; remove BucketAcl resources and acl/grants arguments.",
        refs=[fsbp("S3.12", "ACLs should not be used to manage user access to S3 general purpose buckets"),
              soc2("CC6.1")],
    ),
]
