"""NAT instance policies (``network.egress: natInstance``): the one instance allowed a public address and a
disabled source/destination check, in exchange for a stricter shape than any other instance.

The pack lets a launch template tagged ``agent-platform/role: nat-instance`` have a public address
(``ec2-no-public-ip``) and its group sit in a public subnet (``compute-not-in-public-subnets``); these policies
make that tag a commitment rather than a loophole: IMDSv2 with one hop, no key pair, an encrypted root volume on
a CMK, security groups that admit only the VPC's own addresses (never an administration port), a self-healing
group of exactly one instance, and no other interface or instance with the source/destination check off.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from agent_contract.tags import NAT_INSTANCE_ROLE, ROLE_TAG
from pulumi_policy import Policy, PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._common import (
    Report,
    Settings,
    as_list,
    cis_aws,
    depends_on,
    get,
    known,
    of_type,
    resource_policy,
    soc2,
    stack_policy,
    tag_map,
)

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
NETWORK_INTERFACE = "aws:ec2/networkInterface:NetworkInterface"
INSTANCE = "aws:ec2/instance:Instance"
VPC = "aws:ec2/vpc:Vpc"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
ADMIN_PORTS = (22, 3389)

NAT_ROLE_CONFIG: dict[str, dict[str, Any]] = {
    "natRoleValue": {"type": "string", "default": NAT_INSTANCE_ROLE,
                     "description": f"Value of the {ROLE_TAG} tag that marks the NAT instance's resources."},
}
_UNKNOWN = object()


def is_nat(props: Any, role: str = NAT_INSTANCE_ROLE) -> bool:
    """Whether a resource carries the NAT instance's role tag (map tags or an Auto Scaling group's tag list)."""
    return known(lambda: tag_map(get(props, "tags")).get(ROLE_TAG), None) == role


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- launch template -----------------------------------------------------------------------------------------


def _check_template(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not is_nat(args.props, settings["natRoleValue"]):
        return
    props = args.props
    if get(props, "metadataOptions", "httpTokens") != "required":
        report("metadataOptions.httpTokens is not \"required\": the NAT instance holds a public address and an "
               "instance role; IMDSv1 lets any request it forwards by mistake read the role's credentials.")
    hops = get(props, "metadataOptions", "httpPutResponseHopLimit")
    if hops is None or int(hops) > settings["maxHopLimit"]:
        report(f"metadataOptions.httpPutResponseHopLimit is {hops}: the NAT instance runs no containers, so "
               f"nothing beyond the host ({settings['maxHopLimit']} hop) may reach instance metadata.")
    if get(props, "keyName"):
        report("keyName is set: the NAT instance is reached through Session Manager only, never SSH.")
    mappings = get(props, "blockDeviceMappings", default=[])
    if not mappings:
        report("blockDeviceMappings is empty: declare the root volume, encrypted with the stack's CMK.")
    for i in range(len(mappings)):
        ebs = get(mappings[i], "ebs", default={})
        if not _true(get(ebs, "encrypted")) or not get(ebs, "kmsKeyId"):
            report(f"blockDeviceMappings[{i}].ebs is not encrypted with a customer managed key (encrypted \"true\" "
                   "and kmsKeyId).")
    if not get(props, "iamInstanceProfile"):
        report("iamInstanceProfile is not set: without its role the instance can neither attach the routes' "
               "interface nor register with Session Manager.")
    interfaces = get(props, "networkInterfaces", default=[])
    if len(interfaces) != 1:
        report(f"networkInterfaces has {len(interfaces)} entries: declare exactly the primary interface (the fixed "
               "interface the routes target is attached at boot).")
    for i in range(len(interfaces)):
        if not as_list(get(interfaces[i], "securityGroups")):
            report(f"networkInterfaces[{i}].securityGroups is empty: the VPC's default group would apply; attach "
                   "the NAT instance's own group.")


# --- security groups -----------------------------------------------------------------------------------------


def _vpc_cidrs(group: PolicyResource) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    """The CIDR blocks of the VPC a group belongs to, or None when the VPC is not in the plan or not known."""
    for vpc in depends_on(group, "vpcId"):
        if vpc.resource_type == VPC:
            block = known(lambda vpc=vpc: get(vpc.props, "cidrBlock"), None)
            return [ipaddress.ip_network(block)] if isinstance(block, str) else None
    return None


def _rule_group(rule: PolicyResource) -> PolicyResource | None:
    groups = [d for d in depends_on(rule, "securityGroupId") if d.resource_type == SECURITY_GROUP]
    if groups:
        return groups[0]
    return rule.parent if rule.parent is not None and rule.parent.resource_type == SECURITY_GROUP else None


def _sources(props: Any, kind: str) -> tuple[list[str], bool, int | None, int | None, str]:
    """(CIDR sources, whether any non-CIDR source is named, from port, to port, protocol) of one permission."""
    if kind == INGRESS_RULE:
        cidrs = [c for c in (get(props, "cidrIpv4"), get(props, "cidrIpv6")) if c]
        other = bool(get(props, "referencedSecurityGroupId") or get(props, "prefixListId"))
        protocol = str(get(props, "ipProtocol", default="-1")).lower()
    else:
        cidrs = [*as_list(get(props, "cidrBlocks")), *as_list(get(props, "ipv6CidrBlocks"))]
        other = bool(get(props, "sourceSecurityGroupId") or as_list(get(props, "securityGroups"))
                     or as_list(get(props, "prefixListIds")) or get(props, "self") is True)
        protocol = str(get(props, "protocol", default="-1")).lower()
    low, high = get(props, "fromPort"), get(props, "toPort")
    return cidrs, other, None if low is None else int(low), None if high is None else int(high), protocol


def _judge(label: str, props: Any, kind: str, vpc: list[Any] | None, urn: str, report: ReportViolation) -> None:
    cidrs, other, low, high, protocol = _sources(props, kind)
    if other:
        report(f"{label} admits a security group or prefix list: the NAT instance admits the VPC's own CIDR only.",
               urn)
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        if vpc is not None and not any(network.version == v.version and network.subnet_of(v) for v in vpc):
            report(f"{label} admits {cidr}, outside the VPC ({', '.join(map(str, vpc))}): only the VPC's workloads "
                   "may send traffic through the NAT instance.", urn)
    all_ports = protocol in ("-1", "all") or low is None or high is None
    opened = [p for p in ADMIN_PORTS if all_ports or (protocol in ("tcp", "6") and low <= p <= high)]  # type: ignore[operator]
    if opened:
        report(f"{label} opens {', '.join(map(str, opened))} (remote administration): the NAT instance is reached "
               "through Session Manager only.", urn)


def _check_groups(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    role = settings["natRoleValue"]
    nat_groups = {g.urn: g for g in of_type(args.resources, SECURITY_GROUP) if is_nat(g.props, role)}
    for group in nat_groups.values():
        vpc = _vpc_cidrs(group)
        entries = known(lambda group=group: get(group.props, "ingress", default=[]), [])
        for i in range(len(entries)):
            known(lambda group=group, i=i, vpc=vpc: _judge(
                f"inline ingress #{i + 1} of {group.name}", get(group.props, "ingress", i), LEGACY_RULE, vpc,
                group.urn, report))
    for rule in of_type(args.resources, INGRESS_RULE, LEGACY_RULE):
        group = _rule_group(rule)
        if group is None or group.urn not in nat_groups:
            continue
        if rule.resource_type == LEGACY_RULE and known(lambda rule=rule: get(rule.props, "type"), None) != "ingress":
            continue
        known(lambda rule=rule, group=group: _judge(f"rule {rule.name}", rule.props, rule.resource_type,
                                                    _vpc_cidrs(group), rule.urn, report))
    # What carries the NAT role must be guarded by NAT groups, or the checks above guard nothing.
    for res in [*of_type(args.resources, LAUNCH_TEMPLATE), *of_type(args.resources, NETWORK_INTERFACE)]:
        if not is_nat(res.props, role):
            continue
        prop = "networkInterfaces" if res.resource_type == LAUNCH_TEMPLATE else "securityGroups"
        foreign = [d.name for d in depends_on(res, prop) if d.resource_type == SECURITY_GROUP
                   and d.urn not in nat_groups]
        if foreign:
            report(f"{res.name} attaches security group(s) {', '.join(sorted(foreign))} that are not the NAT "
                   "instance's own (tagged with its role), so their rules are not held to the VPC-only check.",
                   res.urn)


# --- the group of one ----------------------------------------------------------------------------------------


def _check_group_of_one(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    role = settings["natRoleValue"]
    for group in of_type(args.resources, ASG):
        templates = [d for d in depends_on(group, "launchTemplate") if d.resource_type == LAUNCH_TEMPLATE]
        if not any(is_nat(t.props, role) for t in templates) and not is_nat(group.props, role):
            continue
        sizes = {k: known(lambda k=k, group=group: get(group.props, k), _UNKNOWN)
                 for k in ("minSize", "maxSize", "desiredCapacity")}
        if _UNKNOWN in (sizes["minSize"], sizes["maxSize"]):
            continue
        if sizes["minSize"] != 1 or sizes["maxSize"] != 1:
            report(f"Auto Scaling group {group.name} runs the NAT instance with minSize {sizes['minSize']} and "
                   f"maxSize {sizes['maxSize']}: it must be exactly one (min 1 replaces a lost instance; the routes' "
                   "fixed interface attaches to one instance at a time).", group.urn)
        if known(lambda group=group: get(group.props, "healthCheckType", default="EC2"), "EC2") not in ("EC2", "ELB"):
            report(f"Auto Scaling group {group.name}: healthCheckType must be EC2 so an impaired NAT instance is "
                   "replaced.", group.urn)


# --- source/destination check --------------------------------------------------------------------------------


def _check_source_dest(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "sourceDestCheck") is not False:
        return
    if not is_nat(args.props, settings["natRoleValue"]):
        kind = "network interface" if args.resource_type == NETWORK_INTERFACE else "instance"
        report(f"sourceDestCheck is false on a {kind} that is not the NAT instance's: it can relay traffic for other "
               f"hosts and spoof their addresses. Only resources tagged {ROLE_TAG}: {settings['natRoleValue']} may.")


POLICIES: list[Policy] = [
    resource_policy(
        "nat-instance-hardened",
        description="The NAT instance's launch template requires IMDSv2 with one hop, has no key pair, encrypts its "
                    "root volume with a CMK, carries an instance profile and declares one interface with its own "
                    "security group.",
        resource_types=[LAUNCH_TEMPLATE],
        check=_check_template,
        severity=Severity.HIGH,
        remediation="Build the template with components.core.instances.hardened_template_args(..., "
                    "public_address=True) as components/network/nat_instance.py does.",
        refs=[cis_aws("5.6", "Ensure that EC2 Metadata Service only allows IMDSv2"), soc2("CC6.6")],
        config={**NAT_ROLE_CONFIG,
                "maxHopLimit": {"type": "integer", "default": 1,
                                "description": "Largest metadata hop limit the NAT instance may use."}},
    ),
    stack_policy(
        "nat-instance-ingress-from-vpc-only",
        description="The NAT instance's security groups admit only CIDRs inside its VPC, never another group, a "
                    "prefix list or an administration port, and every NAT interface and template uses only them.",
        check=_check_groups,
        severity=Severity.HIGH,
        remediation="Admit tcp/443 from the VPC CIDR only (aws.vpc.SecurityGroupIngressRule(cidr_ipv4=vpc_cidr)) on "
                    "the group tagged with the NAT role, and attach only that group to the NAT template and "
                    "interface. Use Session Manager instead of SSH.",
        refs=[cis_aws("5.2"), soc2("CC6.6")],
        config=NAT_ROLE_CONFIG,
    ),
    stack_policy(
        "nat-instance-group-of-one",
        description="The NAT instance runs in a self-healing Auto Scaling group of exactly one instance.",
        check=_check_group_of_one,
        severity=Severity.MEDIUM,
        remediation="Set min_size=1, max_size=1 (desired 1) and health_check_type=\"EC2\" on the NAT instance's "
                    "group.",
        topic=("availability",),
        config=NAT_ROLE_CONFIG,
    ),
    resource_policy(
        "source-dest-check-nat-only",
        description="Only the NAT instance's interfaces and instances turn the source/destination check off.",
        resource_types=[NETWORK_INTERFACE, INSTANCE],
        check=_check_source_dest,
        severity=Severity.HIGH,
        remediation="Leave source_dest_check at its default (true); the NAT instance's fixed interface is the one "
                    "resource that needs it off.",
        refs=[soc2("CC6.6")],
        config=NAT_ROLE_CONFIG,
    ),
]
