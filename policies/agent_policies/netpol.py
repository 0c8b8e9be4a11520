"""What network policies and data-store security groups actually allow.

``workload-has-network-policy`` checks that a policy selects each workload; these check the content: a
namespace-wide default deny where workloads carry their own allows, no rule that allows everything, and no
unrestricted egress from workloads or from the security groups of databases and caches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Policy, PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._common import (
    Report,
    Settings,
    as_list,
    cis_eks,
    depends_on,
    get,
    known,
    known_plain,
    resource_policy,
    soc2,
    stack_policy,
)
from .stack import NETWORK_POLICY, _namespace, _namespace_names

WORKLOAD_TYPES = (
    "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob",
)
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DATA_STORE_SG_PROPS = {
    "aws:rds/instance:Instance": "vpcSecurityGroupIds",
    "aws:rds/cluster:Cluster": "vpcSecurityGroupIds",
    "aws:elasticache/replicationGroup:ReplicationGroup": "securityGroupIds",
    "aws:elasticache/cluster:Cluster": "securityGroupIds",
    "aws:efs/mountTarget:MountTarget": "securityGroups",
}


def _empty_selector(selector: Any) -> bool:
    return not selector or (not selector.get("matchLabels") and not selector.get("matchExpressions"))


def _policy_types(spec: Mapping[str, Any]) -> set[str]:
    # Unset policyTypes means Ingress, plus Egress when the policy has egress rules (networking.k8s.io/v1 API).
    declared = spec.get("policyTypes")
    if declared:
        return {str(t) for t in declared}
    return {"Ingress", *(["Egress"] if spec.get("egress") else [])}


def _check_default_deny(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    required = {str(t) for t in settings["requiredPolicyTypes"]}
    exempt = {str(n) for n in settings["exemptNamespaces"]}
    names = _namespace_names(args.resources)
    covered: dict[str, set[str]] = {}
    needing: dict[str, PolicyResource] = {}
    for res in args.resources:
        if res.resource_type != NETWORK_POLICY and res.resource_type not in WORKLOAD_TYPES:
            continue
        namespace = known(lambda r=res: _namespace(r, names))
        if namespace is None or namespace in exempt:
            continue
        needing.setdefault(namespace, res)
        if res.resource_type == NETWORK_POLICY:
            spec = known(lambda r=res: known_plain(get(r.props, "spec", default={})))
            if spec is None:
                covered.setdefault(namespace, set()).update(required)  # unknown until apply: give it the benefit
            elif _empty_selector(spec.get("podSelector")):
                covered.setdefault(namespace, set()).update(_policy_types(spec))
    for namespace, res in sorted(needing.items()):
        missing = sorted(required - covered.get(namespace, set()))
        if missing:
            report(f"Namespace {namespace} has workloads or network policies but no NetworkPolicy with an empty "
                   f"podSelector for {', '.join(missing)}: pods no policy selects accept "
                   f"{' and '.join(missing).lower()} traffic from anywhere.", res.urn)


def _peer_open(peer: Mapping[str, Any]) -> bool:
    block = peer.get("ipBlock") or {}
    return block.get("cidr") in OPEN_CIDRS and not block.get("except")


def _check_rules(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    spec = known_plain(get(args.props, "spec", default={})) or {}
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            rule = rule or {}
            peers = rule.get(peers_key) or []
            ports = rule.get("ports") or []
            label = f"{direction}[{i}]"
            if not peers and not ports:
                report(f"{label} is an empty rule ({{}}): it allows all {direction} traffic, to and from anywhere.")
            elif not ports and any(_peer_open(p or {}) for p in peers):
                report(f"{label} allows every port {'from' if direction == 'ingress' else 'to'} "
                       f"{'/'.join(OPEN_CIDRS)}.")
            elif (direction == "ingress" and any(_peer_open(p or {}) for p in peers)
                  and not settings["allowOpenIngress"]):
                report(f"{label} admits traffic from the whole internet ({'/'.join(OPEN_CIDRS)}); name the "
                       "load balancer's subnets or the ingress namespace.")


def _open_egress_rules(sg: PolicyResource, rules: list[PolicyResource]) -> list[str]:
    found = []
    for entry in known(lambda: as_list(get(sg.props, "egress")), []) or []:
        cidrs = [*as_list(known(lambda e=entry: get(e, "cidrBlocks"), [])),
                 *as_list(known(lambda e=entry: get(e, "ipv6CidrBlocks"), []))]
        open_ = [c for c in cidrs if c in OPEN_CIDRS]
        if open_:
            found.append(f"inline egress to {', '.join(open_)}")
    for rule in rules:
        props = rule.props
        if rule.resource_type == "aws:ec2/securityGroupRule:SecurityGroupRule":
            if known(lambda p=props: get(p, "type")) != "egress":
                continue
            cidrs = [*as_list(known(lambda p=props: get(p, "cidrBlocks"), [])),
                     *as_list(known(lambda p=props: get(p, "ipv6CidrBlocks"), []))]
        else:
            cidrs = [known(lambda p=props: get(p, "cidrIpv4")), known(lambda p=props: get(p, "cidrIpv6"))]
        open_ = [c for c in cidrs if c in OPEN_CIDRS]
        if open_:
            found.append(f"rule {rule.name} to {', '.join(open_)}")
    return found


def _check_data_store_egress(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    groups: dict[str, tuple[PolicyResource, list[str]]] = {}
    for res in args.resources:
        prop = DATA_STORE_SG_PROPS.get(res.resource_type)
        if prop is None:
            continue
        for sg in depends_on(res, prop):
            if sg.resource_type == SECURITY_GROUP:
                groups.setdefault(sg.urn, (sg, []))[1].append(res.name)
    if not groups:
        return
    rules: dict[str, list[PolicyResource]] = {}
    for rule in args.resources:
        if rule.resource_type in ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                                  "aws:ec2/securityGroupRule:SecurityGroupRule"):
            for sg in depends_on(rule, "securityGroupId"):
                rules.setdefault(sg.urn, []).append(rule)
    for urn, (sg, stores) in sorted(groups.items()):
        found = _open_egress_rules(sg, rules.get(urn, []))
        if found:
            report(f"Security group {sg.name} of {', '.join(sorted(set(stores)))} allows {'; '.join(found)}: a data "
                   "store only answers connections, so unrestricted egress only serves exfiltration.", sg.urn)


POLICIES: list[Policy] = [
    stack_policy(
        "k8s-namespace-default-deny",
        description="Every namespace with workloads or network policies has a default-deny NetworkPolicy (empty "
                    "podSelector) for the required directions.",
        check=_check_default_deny,
        severity=Severity.HIGH,
        remediation="Add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] and no rules in the "
                    "namespace; keep the per-workload allows.",
        refs=[cis_eks("4.3.2", "Ensure that all Namespaces have Network Policies defined"), soc2("CC6.6")],
        config={
            "requiredPolicyTypes": {"type": "array", "items": {"type": "string", "enum": ["Ingress", "Egress"]},
                                    "default": ["Ingress"],
                                    "description": "Directions a namespace-wide policy must isolate."},
            "exemptNamespaces": {"type": "array", "items": {"type": "string"}, "default": ["kube-system"],
                                 "description": "Namespaces managed by AWS or add-on vendors."},
        },
    ),
    resource_policy(
        "k8s-network-policy-no-allow-all",
        description="NetworkPolicy rules never allow everything: no empty rule ({}), no every-port rule to or from "
                    "0.0.0.0/0, no ingress from the whole internet.",
        resource_types=[NETWORK_POLICY],
        check=_check_rules,
        severity=Severity.HIGH,
        remediation="Give every rule peers (podSelector/namespaceSelector or specific ipBlocks) and ports; egress to "
                    "the internet names its port (443).",
        refs=[cis_eks("4.3.2"), soc2("CC6.6")],
        config={"allowOpenIngress": {"type": "boolean", "default": False,
                                     "description": "Allow ingress rules from 0.0.0.0/0 when they name ports."}},
    ),
    stack_policy(
        "data-store-egress-restricted",
        description="Security groups of RDS, ElastiCache and EFS allow no egress to 0.0.0.0/0 or ::/0.",
        check=_check_data_store_egress,
        severity=Severity.HIGH,
        remediation="Remove the open egress rules from the data store's security group (a security group created "
                    "by Pulumi has no egress unless one is declared).",
        refs=[soc2("CC6.6")],
    ),
]
