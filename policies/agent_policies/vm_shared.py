"""The VM runtime's shared host (``vm.placement: shared``): containers isolated from the host's identity.

Several services on one instance are only as separate as their credentials: a container that reached the
instance metadata service, or shared the host's network namespace, would act as the instance role, and an
instance role allowed to assume any role would hand every container every service's permissions. These
policies judge what carries the placement tag (``agent_contract.tags.PLACEMENT_TAG``):

- ``vm-shared-host-isolation``: the host's launch template requires IMDSv2 with a hop limit of 1, runs no
  container on the host network and drops the bridge's traffic to 169.254.169.254 in DOCKER-USER;
- ``vm-shared-host-assumes-placed-roles-only``: the host role may ``sts:AssumeRole`` only roles placed on it
  (tagged, and trusting that host role), never ``*`` or any other role;
- ``vm-shared-service-trust``: a placed service role trusts exactly the shared host's role of this stack.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Any

from agent_contract.tags import PLACEMENT_TAG, SHARED_PLACEMENT
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
    parse_document,
    resource_policy,
    soc2,
    stack_policy,
    statements,
    tag_map,
)

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IMDS = "169.254.169.254"
_HOST_NETWORK = re.compile(r"--(?:network|net)[ =]host\b")
_IMDS_DROP = re.compile(r"iptables\s+-[IA]\s+DOCKER-USER\b[^\n]*-d\s+169\.254\.169\.254(?:/32)?\b[^\n]*-j\s+DROP")


def _shared(props: Any) -> bool:
    return tag_map(get(props, "tags")).get(PLACEMENT_TAG) == SHARED_PLACEMENT


def _check_isolation(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not known(lambda: _shared(args.props), False):
        return
    tokens = known(lambda: get(args.props, "metadataOptions", "httpTokens"))
    hops = known(lambda: get(args.props, "metadataOptions", "httpPutResponseHopLimit"), 0)
    if tokens is not None and tokens != "required":
        report(f"Shared host requires no IMDSv2 token (httpTokens {tokens!r}): a container could read the "
               "instance role's credentials without one.")
    if hops is None or (hops != 0 and int(hops) != 1):
        report(f"Shared host's metadata hop limit is {hops}: at 1 the token response dies before it reaches a "
               "container on the bridge network, at 2 or more every container can act as the instance role.")
    encoded = known(lambda: get(args.props, "userData"))
    if encoded is None:
        return
    try:
        text = base64.b64decode(str(encoded)).decode()
    except (ValueError, UnicodeDecodeError):
        text = str(encoded)
    if _HOST_NETWORK.search(text):
        report("Shared host runs a container on the host network: it shares the host's namespace, reaches the "
               "metadata service and every other container's port; run it on the docker bridge network.")
    if not _IMDS_DROP.search(text):
        report(f"Shared host does not drop its containers' traffic to {IMDS} (an iptables DOCKER-USER ... -d "
               f"{IMDS} -j DROP rule): the hop limit alone guards only IMDSv2 token responses.")


def _role_tags(role: PolicyResource) -> dict[str, Any]:
    return known(lambda: tag_map(get(role.props, "tags")), {}) or {}


def _trust(role: PolicyResource) -> list[dict[str, Any]]:
    return known(lambda: statements(parse_document(get(role.props, "assumeRolePolicy"))), []) or []


def _aws_principals(stmt: dict[str, Any]) -> list[str]:
    principal = stmt.get("Principal")
    if principal == "*":
        return ["*"]
    return [str(p) for p in as_list(principal.get("AWS"))] if isinstance(principal, dict) else []


def _is_host_role(role: PolicyResource) -> bool:
    """Tagged, trusted by EC2 and by no AWS principal: what an instance profile of the shared host carries."""
    if _role_tags(role).get(PLACEMENT_TAG) != SHARED_PLACEMENT:
        return False
    if any(_aws_principals(stmt) for stmt in _trust(role)):
        return False
    for stmt in _trust(role):
        principal = stmt.get("Principal")
        if isinstance(principal, dict) and "ec2.amazonaws.com" in [str(p) for p in as_list(principal.get("Service"))]:
            return True
    return False


def _placed_roles(resources: Sequence[PolicyResource]) -> list[PolicyResource]:
    return [r for r in of_type(resources, ROLE)
            if _role_tags(r).get(PLACEMENT_TAG) == SHARED_PLACEMENT and not _is_host_role(r)]


def _trusts(role: PolicyResource, host: PolicyResource) -> bool:
    return any(d.urn == host.urn for d in depends_on(role, "assumeRolePolicy"))


def _check_service_trust(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    hosts = [r for r in of_type(args.resources, ROLE) if _is_host_role(r)]
    for role in _placed_roles(args.resources):
        principals = [p for stmt in _trust(role) if stmt.get("Effect") == "Allow" for p in _aws_principals(stmt)]
        services = [stmt for stmt in _trust(role) if isinstance(stmt.get("Principal"), dict)
                    and stmt["Principal"].get("Service")]
        trusted_hosts = [h for h in hosts if _trusts(role, h)]
        if services:
            report(f"Role {role.name} is placed on the shared host but trusts an AWS service directly; only the "
                   "shared host's role may assume it.", role.urn)
        if len(principals) != 1 or not trusted_hosts:
            report(f"Role {role.name} is placed on the shared host but trusts {', '.join(principals) or 'no AWS '}"
                   "principal(s) other than exactly this stack's shared host role.", role.urn)


def _assume_statements(document: Any) -> list[dict[str, Any]]:
    found = []
    for stmt in statements(document):
        if stmt.get("Effect") != "Allow":
            continue
        if "NotAction" in stmt or any(fnmatchcase("sts:assumerole", str(a).lower())
                                      for a in as_list(stmt.get("Action"))):
            found.append(stmt)
    return found


def _check_host_assumes(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    placed = _placed_roles(args.resources)
    for host in (r for r in of_type(args.resources, ROLE) if _is_host_role(r)):
        own = {r.urn for r in placed if _trusts(r, host)}
        for policy in of_type(args.resources, ROLE_POLICY):
            if not any(d.urn == host.urn for d in depends_on(policy, "role")):
                continue
            document = known(lambda policy=policy: parse_document(get(policy.props, "policy")))
            if document is None:
                continue
            targets = {d.urn for d in depends_on(policy, "policy") if d.resource_type == ROLE}
            for stmt in _assume_statements(document):
                resources = [str(r) for r in as_list(stmt.get("Resource"))]
                if "NotResource" in stmt or "NotAction" in stmt or any("*" in r for r in resources):
                    report(f"Shared host role {host.name} may assume roles by wildcard or exclusion ({policy.name}); "
                           "list the roles of the services placed on it.", policy.urn)
                    continue
                foreign = targets - own
                if foreign or len(resources) > len(targets & own):
                    report(f"Shared host role {host.name} may assume a role that is not placed on it "
                           f"({policy.name}): only roles tagged {PLACEMENT_TAG}={SHARED_PLACEMENT} that trust this "
                           "host role.", policy.urn)


POLICIES: list[Policy] = [
    resource_policy(
        "vm-shared-host-isolation",
        description="A shared VM host keeps its containers from the instance role: IMDSv2 with hop limit 1, no "
                    "container on the host network, metadata traffic from the docker bridge dropped.",
        resource_types=[LAUNCH_TEMPLATE],
        check=_check_isolation,
        severity=Severity.CRITICAL,
        remediation="Set metadata_options http_tokens=required and http_put_response_hop_limit=1, run every "
                    "container with --network <bridge>, and insert `iptables -I DOCKER-USER -s <bridge subnet> -d "
                    "169.254.169.254/32 -j DROP` after docker starts (components/services/vm/shared_userdata.py).",
        refs=[cis_aws("5.6", "Ensure that EC2 Metadata Service only allows IMDSv2"), soc2("CC6.1")],
    ),
    stack_policy(
        "vm-shared-host-assumes-placed-roles-only",
        description="The shared VM host's instance role may assume only the roles of the services placed on it.",
        check=_check_host_assumes,
        severity=Severity.CRITICAL,
        remediation="List the placed services' role ARNs as the Resource of the host role's sts:AssumeRole "
                    "statement; give every placed role the placement tag and a trust naming the host role.",
        refs=[soc2("CC6.3")],
    ),
    stack_policy(
        "vm-shared-service-trust",
        description="A service role placed on the shared VM host trusts exactly that host's role, nothing else.",
        check=_check_service_trust,
        severity=Severity.CRITICAL,
        remediation="Set the placed role's assume_role_policy to one statement with Principal {AWS: <shared host "
                    "role ARN>} (components/services/vm/service.py, VmAgentService._placed_role).",
        refs=[soc2("CC6.1")],
    ),
]
