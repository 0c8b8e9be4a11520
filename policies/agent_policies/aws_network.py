"""VPC and security-group policies: flow logs, the default security group, and what the internet can reach."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent_contract.tags import ROLE_TAG
from pulumi_policy import (
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from ._common import (
    Report,
    Settings,
    as_list,
    cis_aws,
    depends_on,
    get,
    known,
    of_type,
    pci_dss,
    resource_policy,
    soc2,
    stack_policy,
    tag_map,
)

VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
GROUP_TYPES = (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)
PUBLIC_CIDRS = ("0.0.0.0/0", "::/0")
ALL_PROTOCOLS = ("-1", "all")
TCP = ("tcp", "6")

_UNKNOWN = object()


def _has(props: Mapping[str, Any], key: str) -> bool:
    # ``key in props`` reads the value through the proxy (and raises when it is unknown); iterating does not.
    return any(k == key for k in props)


# --- the security-group graph -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingress:
    """One ingress permission, wherever it was declared (a rule resource or an inline block)."""

    declared_by: PolicyResource
    group: PolicyResource | None
    protocol: str
    from_port: int | None
    to_port: int | None
    public_sources: tuple[str, ...]
    source_groups: tuple[str, ...]
    label: str

    @property
    def all_traffic(self) -> bool:
        return self.protocol in ALL_PROTOCOLS

    def covers(self, port: int) -> bool:
        if self.all_traffic:
            return True
        if self.protocol not in TCP or self.from_port is None or self.to_port is None:
            return False
        return self.from_port <= port <= self.to_port

    def only_ports(self, allowed: Iterable[int]) -> bool:
        """True if this permission opens nothing but TCP ports from ``allowed``."""
        if self.all_traffic or self.protocol not in TCP or self.from_port is None or self.to_port is None:
            return False
        allowed_set = set(allowed)
        if self.to_port - self.from_port + 1 > len(allowed_set):
            return False
        return all(p in allowed_set for p in range(self.from_port, self.to_port + 1))

    @property
    def ports(self) -> str:
        if self.all_traffic:
            return "all traffic"
        if self.from_port is None or self.from_port == self.to_port:
            return f"{self.protocol} {self.from_port}"
        return f"{self.protocol} {self.from_port}-{self.to_port}"


def _port(value: Any) -> int | None:
    return None if value is None else int(value)


def _own_group(rule: PolicyResource, prop: str, source_prop: str) -> PolicyResource | None:
    """The security group a standalone rule belongs to, from the dependency graph (ids are unknown in preview)."""
    specific = [d for d in rule.property_dependencies.get(prop) or [] if d.resource_type in GROUP_TYPES]
    if specific:
        return specific[0]
    sources = {d.urn for d in rule.property_dependencies.get(source_prop) or []}
    candidates = [d for d in rule.dependencies if d.resource_type in GROUP_TYPES and d.urn not in sources]
    if len(candidates) == 1:
        return candidates[0]
    if rule.parent is not None and rule.parent.resource_type in GROUP_TYPES:
        return rule.parent
    return None


def _source_groups(rule: PolicyResource, own: PolicyResource | None, source_prop: str) -> tuple[str, ...]:
    specific = rule.property_dependencies.get(source_prop)
    if specific:
        return tuple(d.urn for d in specific if d.resource_type in GROUP_TYPES)
    if not _has(rule.props, source_prop):
        return ()
    own_urn = own.urn if own is not None else None
    return tuple(d.urn for d in rule.dependencies if d.resource_type in GROUP_TYPES and d.urn != own_urn)


def _standalone(rule: PolicyResource) -> Ingress | None:
    props = rule.props
    if rule.resource_type == INGRESS_RULE:
        group = _own_group(rule, "securityGroupId", "referencedSecurityGroupId")
        cidrs = [get(props, "cidrIpv4"), get(props, "cidrIpv6")]
        return Ingress(
            declared_by=rule, group=group, protocol=str(get(props, "ipProtocol", default="-1")).lower(),
            from_port=_port(get(props, "fromPort")), to_port=_port(get(props, "toPort")),
            public_sources=tuple(c for c in cidrs if c in PUBLIC_CIDRS),
            source_groups=_source_groups(rule, group, "referencedSecurityGroupId"),
            label=f"rule {rule.name}",
        )
    if get(props, "type") != "ingress":
        return None
    group = _own_group(rule, "securityGroupId", "sourceSecurityGroupId")
    cidrs = [*as_list(get(props, "cidrBlocks")), *as_list(get(props, "ipv6CidrBlocks"))]
    sources = _source_groups(rule, group, "sourceSecurityGroupId")
    if get(props, "self") is True and group is not None:
        sources = (*sources, group.urn)
    return Ingress(
        declared_by=rule, group=group, protocol=str(get(props, "protocol", default="-1")).lower(),
        from_port=_port(get(props, "fromPort")), to_port=_port(get(props, "toPort")),
        public_sources=tuple(c for c in cidrs if c in PUBLIC_CIDRS), source_groups=sources,
        label=f"rule {rule.name}",
    )


def _inline(group: PolicyResource, index: int) -> Ingress:
    entry = get(group.props, "ingress", index, default={})
    cidrs = [*as_list(get(entry, "cidrBlocks")), *as_list(get(entry, "ipv6CidrBlocks"))]
    sources: tuple[str, ...] = ()
    referenced = get(entry, "securityGroups")
    if referenced is not None and len(referenced) > 0:
        # Property dependencies are per top-level input, so every group referenced by any inline rule counts.
        sources = tuple(d.urn for d in group.property_dependencies.get("ingress") or []
                        if d.resource_type in GROUP_TYPES and d.urn != group.urn)
    if get(entry, "self") is True:
        sources = (*sources, group.urn)
    return Ingress(
        declared_by=group, group=group, protocol=str(get(entry, "protocol", default="-1")).lower(),
        from_port=_port(get(entry, "fromPort")), to_port=_port(get(entry, "toPort")),
        public_sources=tuple(c for c in cidrs if c in PUBLIC_CIDRS), source_groups=sources,
        label=f"inline ingress #{index + 1} of {group.name}",
    )


def ingress_permissions(resources: Sequence[PolicyResource]) -> list[Ingress]:
    """Every ingress permission in the stack whose shape is known (unknown ones are skipped, not guessed)."""
    found: list[Ingress] = []
    for res in resources:
        if res.resource_type in (INGRESS_RULE, LEGACY_RULE):
            rule = known(lambda res=res: _standalone(res))
            if rule is not None:
                found.append(rule)
        elif res.resource_type in GROUP_TYPES:
            count = known(lambda res=res: len(get(res.props, "ingress", default=[])), 0)
            for i in range(count):
                rule = known(lambda res=res, i=i: _inline(res, i))
                if rule is not None:
                    found.append(rule)
    return found


# --- policies ------------------------------------------------------------------------------------------------


def _vpc_children(args: StackValidationArgs, type_: str) -> dict[str, list[PolicyResource]]:
    children: dict[str, list[PolicyResource]] = {}
    for res in of_type(args.resources, type_):
        for dep in depends_on(res, "vpcId"):
            if dep.resource_type == VPC:
                children.setdefault(dep.urn, []).append(res)
    return children


def _check_flow_logs(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    wanted = settings["trafficType"]
    logs = _vpc_children(args, FLOW_LOG)
    for vpc in of_type(args.resources, VPC):
        seen: list[Any] = [known(lambda fl=fl: get(fl.props, "trafficType"), _UNKNOWN) for fl in logs.get(vpc.urn, [])]
        if wanted in seen or _UNKNOWN in seen:
            continue
        if not seen:
            report(f"VPC {vpc.name} has no flow log: add an aws.ec2.FlowLog with vpc_id={vpc.name}.id and "
                   f"traffic_type=\"{wanted}\".", vpc.urn)
        else:
            report(f"VPC {vpc.name} flow logs capture {', '.join(map(str, seen))} traffic, not {wanted}.", vpc.urn)


def _check_default_sg_rules(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    for direction in ("ingress", "egress"):
        rules = get(args.props, direction, default=[])
        if len(rules) > 0:
            report(f"The default security group has {len(rules)} {direction} rule(s); it must have none.")


def _check_default_sg_managed(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    managed = _vpc_children(args, DEFAULT_SECURITY_GROUP)
    for vpc in of_type(args.resources, VPC):
        if vpc.urn not in managed:
            report(f"VPC {vpc.name} leaves its default security group unmanaged (AWS creates it with "
                   "allow-all egress and allow-from-itself ingress).", vpc.urn)


def _load_balancer_group(group: PolicyResource | None, settings: Settings) -> bool | None:
    """Whether ``group`` is tagged as a load balancer's security group; ``None`` while its tags are unknown."""
    if group is None or group.resource_type != SECURITY_GROUP:
        return False
    tags = known(lambda: tag_map(get(group.props, "tags")), _UNKNOWN)
    if tags is _UNKNOWN:
        return None
    assert isinstance(tags, dict)
    if tags.get(settings["loadBalancerRoleTag"]) != settings["loadBalancerRoleValue"]:
        return False
    components = settings["loadBalancerComponents"]
    return not components or tags.get("component") in components


def _check_public_ingress(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    allowed = [int(p) for p in settings["allowedPublicPorts"]]
    for rule in ingress_permissions(args.resources):
        if not rule.public_sources:
            continue
        is_lb = _load_balancer_group(rule.group, settings)
        if rule.only_ports(allowed) and is_lb is not False:
            continue
        where = rule.group.name if rule.group is not None else "an unidentified security group"
        reason = ("only a load balancer's security group may be public" if rule.only_ports(allowed)
                  else f"only tcp {', '.join(map(str, allowed))} may be public, on a load balancer's security group")
        report(f"{rule.label} on {where} admits {rule.ports} from {', '.join(rule.public_sources)}: {reason} "
               f"(tag {settings['loadBalancerRoleTag']}={settings['loadBalancerRoleValue']}"
               + (f", component={'|'.join(settings['loadBalancerComponents'])}"
                  if settings["loadBalancerComponents"] else "")
               + ").", rule.declared_by.urn)


def _check_data_paths(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    ports = [int(p) for p in settings["dataPorts"]]
    rules = ingress_permissions(args.resources)
    exposed = {r.group.urn: r.group for r in rules if r.public_sources and r.group is not None}
    for rule in rules:
        opened = [p for p in ports if rule.covers(p)]
        if not opened:
            continue
        where = rule.group.name if rule.group is not None else "an unidentified security group"
        listed = ", ".join(map(str, opened))
        if rule.public_sources:
            report(f"{rule.label} on {where} admits data port(s) {listed} from the internet "
                   f"({', '.join(rule.public_sources)}).", rule.declared_by.urn)
            continue
        via = [exposed[u].name for u in rule.source_groups if u in exposed]
        if via:
            report(f"{rule.label} on {where} admits data port(s) {listed} from security group(s) "
                   f"{', '.join(sorted(set(via)))}, which admit traffic from the internet.", rule.declared_by.urn)


POLICIES: list[Policy] = [
    stack_policy(
        "vpc-flow-logs-enabled",
        description="Every VPC has a flow log capturing all traffic.",
        check=_check_flow_logs,
        severity=Severity.MEDIUM,
        remediation="Create an aws.ec2.FlowLog for the VPC (vpc_id=vpc.id) with traffic_type \"ALL\", delivered "
                    "to a KMS-encrypted CloudWatch log group or S3 bucket.",
        refs=[cis_aws("3.7", "Ensure VPC flow logging is enabled in all VPCs"), soc2("CC7.2")],
        config={"trafficType": {"type": "string", "enum": ["ALL", "ACCEPT", "REJECT"], "default": "ALL",
                                "description": "Traffic type the VPC's flow log must capture."}},
    ),
    resource_policy(
        "default-security-group-no-rules",
        description="The VPC default security group has no ingress or egress rules.",
        resource_types=[DEFAULT_SECURITY_GROUP],
        check=_check_default_sg_rules,
        severity=Severity.HIGH,
        remediation="Declare aws.ec2.DefaultSecurityGroup with ingress=[] and egress=[] and attach purpose-built "
                    "security groups to workloads instead.",
        refs=[cis_aws("5.4", "Ensure the default security group of every VPC restricts all traffic")],
    ),
    stack_policy(
        "vpc-default-security-group-managed",
        description="Every VPC manages its default security group, so its rules can be stripped.",
        check=_check_default_sg_managed,
        severity=Severity.MEDIUM,
        remediation="Adopt the default security group with aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id, ingress=[], "
                    "egress=[]).",
        refs=[cis_aws("5.4", "Ensure the default security group of every VPC restricts all traffic")],
    ),
    stack_policy(
        "security-group-no-public-ingress",
        description="No security group admits traffic from 0.0.0.0/0 or ::/0, except web ports on a load "
                    "balancer's security group.",
        check=_check_public_ingress,
        severity=Severity.HIGH,
        remediation="Restrict the rule's source to a CIDR inside the VPC or to another security group. Public "
                    "web traffic belongs on the load balancer's security group (tagged as such), on the allowed "
                    "ports only.",
        refs=[cis_aws("5.2", "Ensure no security groups allow ingress from 0.0.0.0/0 to remote server "
                             "administration ports"),
              cis_aws("5.3"), pci_dss("1.3.1"), soc2("CC6.6")],
        config={
            "allowedPublicPorts": {"type": "array", "items": {"type": "integer"}, "default": [80, 443],
                                   "description": "TCP ports a load balancer's security group may open to the "
                                                  "internet."},
            "loadBalancerRoleTag": {"type": "string", "default": ROLE_TAG,
                                    "description": "Tag key that marks a load balancer's security group."},
            "loadBalancerRoleValue": {"type": "string", "default": "load-balancer",
                                      "description": "Value of the role tag on a load balancer's security group."},
            "loadBalancerComponents": {"type": "array", "items": {"type": "string"}, "default": ["edge"],
                                       "description": "If non-empty, the group's `component` tag must also be one "
                                                      "of these."},
        },
    ),
    stack_policy(
        "no-internet-path-to-data-ports",
        description="No security-group path lets the internet reach a database or cache port.",
        check=_check_data_paths,
        severity=Severity.CRITICAL,
        remediation="Admit data ports only from the security groups of the workloads that use them (nodes, pods), "
                    "never from a CIDR open to the internet or from a group that itself admits internet traffic "
                    "(such as the load balancer's).",
        refs=[pci_dss("1.4.4", "System components that store cardholder data are not directly accessible from "
                               "untrusted networks"),
              soc2("CC6.6")],
        config={"dataPorts": {"type": "array", "items": {"type": "integer"}, "default": [5432, 6379],
                              "description": "TCP ports of databases and caches."}},
    ),
]
