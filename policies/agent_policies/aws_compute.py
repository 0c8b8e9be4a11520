"""EC2 policies for the VM runtime: instance reachability, instance-profile roles and Auto Scaling groups.

IMDSv2 and EBS encryption of launch templates are checked by ``launch-template-imdsv2`` and
``launch-template-ebs-encrypted`` (``aws_eks``), which apply to every launch template; standalone
instances get the same checks here, sharing the IMDS logic and its hop-limit setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from agent_contract.types import VM_AGENT_SERVICE
from pulumi_policy import (
    EnforcementLevel,
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
    parse_document,
    pci_dss,
    resource_policy,
    soc2,
    stack_policy,
    statements,
    tag_map,
)
from .aws_eks import HOP_LIMIT_CONFIG, check_metadata_options
from .aws_nat import NAT_ROLE_CONFIG, is_nat
from .aws_network import ingress_permissions

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
INSTANCE_PROFILE = "aws:iam/instanceProfile:InstanceProfile"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
ASG = "aws:autoscaling/group:Group"
SCALING_POLICY = "aws:autoscaling/policy:Policy"
ASG_ATTACHMENT = "aws:autoscaling/attachment:Attachment"
TARGET_GROUP_TYPES = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
AWS_MANAGED = re.compile(r"^arn:[a-z-]+:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$")
_UNKNOWN = object()
WILDCARD_ACTION = re.compile(r"^(\*|[a-z0-9-]+:\*)$", re.IGNORECASE)


def _true(value: object) -> bool:
    # pulumi-aws types some launch-template flags as strings ("true"/"false").
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- launch templates and instances ------------------------------------------------------------------------


def _check_public_ip(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if args.resource_type == INSTANCE:
        if _true(get(args.props, "associatePublicIpAddress")):
            report("associatePublicIpAddress is true: the instance gets a public address; reach it through SSM "
                   "Session Manager and serve traffic through the load balancer.")
        return
    if is_nat(args.props, settings["natRoleValue"]):
        return  # the NAT instance needs its address; nat-instance-* hold it to a stricter shape instead
    interfaces = get(args.props, "networkInterfaces", default=[])
    for i in range(len(interfaces)):
        if _true(get(interfaces[i], "associatePublicIpAddress")):
            report(f"networkInterfaces[{i}].associatePublicIpAddress is \"true\": instances launched from this "
                   "template get a public address.")


def _check_key_pair(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    key = get(args.props, "keyName")
    if key:
        report(f"keyName is {key!r}: an SSH key pair is a long-lived credential outside IAM; use SSM Session "
               "Manager for shell access.")


def _from_template(args: ResourceValidationArgs) -> bool:
    # Settings an instance leaves unset come from its launch template, which the launch-template policies check.
    return get(args.props, "launchTemplate") is not None


def _check_instance_imds(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    options = get(args.props, "metadataOptions")
    inherited = _from_template(args)
    if options is None and not inherited:
        report("metadataOptions is not set: AWS's default (httpTokens \"optional\") still serves IMDSv1; set "
               "metadataOptions.httpTokens=\"required\".")
        return
    check_metadata_options(options or {}, int(settings["maxHopLimit"]), report, inherited=inherited)


def _check_instance_volumes(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    root = get(args.props, "rootBlockDevice")
    if root is None:
        if not _from_template(args):
            report("rootBlockDevice is not set, so the root volume is created from the AMI's unencrypted default; "
                   "set rootBlockDevice.encrypted=true.")
    elif not _true(get(root, "encrypted")):
        report("rootBlockDevice.encrypted is not true: the root volume is stored unencrypted.")
    devices = get(args.props, "ebsBlockDevices", default=[])
    for i in range(len(devices)):
        if not _true(get(devices[i], "encrypted")):
            device = known(lambda i=i: get(devices[i], "deviceName"), "device name unknown until the update")
            report(f"ebsBlockDevices[{i}] ({device}) is not encrypted: set encrypted=true.")


# --- security groups ----------------------------------------------------------------------------------------


def _check_admin_ports(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    ports = [int(p) for p in settings["adminPorts"]]
    for rule in ingress_permissions(args.resources):
        opened = [p for p in ports if rule.covers(p)]
        if not opened:
            continue
        where = rule.group.name if rule.group is not None else "an unidentified security group"
        report(f"{rule.label} on {where} admits {rule.ports}, which includes remote administration port(s) "
               f"{', '.join(map(str, opened))}; shell access goes through SSM Session Manager.",
               rule.declared_by.urn)


# --- instance-profile roles ----------------------------------------------------------------------------------


def _role_names(role: PolicyResource) -> set[str]:
    names = {role.name}
    name = known(lambda: get(role.props, "name"))
    if isinstance(name, str):
        names.add(name)
    return names


def _refers_to(res: PolicyResource, prop: str, role: PolicyResource) -> bool:
    """Whether ``res`` names ``role`` through ``prop``: by dependency, or by a literal role name."""
    if any(d.urn == role.urn for d in res.property_dependencies.get(prop) or []):
        return True
    value = known(lambda: get(res.props, prop))
    names = _role_names(role)
    if isinstance(value, str):
        return value in names
    if isinstance(value, Sequence):
        return any(known(lambda i=i: value[i]) in names for i in range(len(value)))
    return False


def _profile_roles(resources: Sequence[PolicyResource]) -> list[PolicyResource]:
    roles = list(of_type(resources, ROLE))
    found: dict[str, PolicyResource] = {}
    for profile in of_type(resources, INSTANCE_PROFILE):
        for role in roles:
            if _refers_to(profile, "role", role):
                found[role.urn] = role
    return list(found.values())


def _covered(action: str, allowlist: Iterable[str]) -> bool:
    return any(fnmatchcase(action.lower(), entry.lower()) for entry in allowlist)


def _statement_findings(stmt: Mapping[str, Any], allowlist: Sequence[str]) -> list[str]:
    if stmt.get("Effect") != "Allow":
        return []
    if "NotAction" in stmt or "NotResource" in stmt:
        return ["allows by exclusion (NotAction/NotResource), which grants everything not listed"]
    actions = [str(a) for a in as_list(stmt.get("Action"))]
    resources = [str(r) for r in as_list(stmt.get("Resource"))]
    findings = []
    wild = [a for a in actions if WILDCARD_ACTION.match(a) and not _covered(a, allowlist)]
    if wild:
        findings.append(f"allows every action of a service ({', '.join(wild)})")
    if "*" in resources:
        unscoped = [a for a in actions if a not in wild and not _covered(a, allowlist)]
        if unscoped:
            findings.append(f"allows {', '.join(unscoped)} on every resource (\"*\")")
    return findings


def _documents_of(role: PolicyResource, resources: Sequence[PolicyResource]) -> list[tuple[str, PolicyResource, Any]]:
    """(label, declaring resource, raw document) for each inline policy of ``role``."""
    docs: list[tuple[str, PolicyResource, Any]] = []
    inline = known(lambda: get(role.props, "inlinePolicies", default=[]), [])
    for i in range(len(inline)):
        entry = known(lambda i=i: (get(inline[i], "name") or f"#{i + 1}", get(inline[i], "policy")))
        if entry is not None:
            docs.append((f"inline policy {entry[0]} of role {role.name}", role, entry[1]))
    for res in of_type(resources, ROLE_POLICY):
        if _refers_to(res, "role", role):
            raw = known(lambda res=res: get(res.props, "policy"))
            if raw is not None:
                docs.append((f"role policy {res.name}", res, raw))
    return docs


def _attachments_of(role: PolicyResource, resources: Sequence[PolicyResource]) -> list[tuple[PolicyResource, Any]]:
    """(declaring resource, policy ARN or the in-stack aws:iam/policy:Policy) for each managed policy of ``role``."""
    found: list[tuple[PolicyResource, Any]] = []
    managed = known(lambda: get(role.props, "managedPolicyArns", default=[]), [])
    for i in range(len(managed)):
        found.append((role, known(lambda i=i: managed[i])))
    for res in resources:
        prop = {ROLE_ATTACHMENT: "role", POLICY_ATTACHMENT: "roles"}.get(res.resource_type)
        if prop is None or not _refers_to(res, prop, role):
            continue
        in_stack = [d for d in depends_on(res, "policyArn") if d.resource_type == MANAGED_POLICY]
        found.append((res, in_stack[0] if in_stack else known(lambda res=res: get(res.props, "policyArn"))))
    return found


def _check_profile_roles(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    allowlist = [str(a) for a in settings["wildcardResourceActions"]]
    allowed_managed = {str(p) for p in settings["allowedManagedPolicies"]}

    def check_document(label: str, declared_by: PolicyResource, raw: Any) -> None:
        document = known(lambda: parse_document(raw))
        for i, stmt in enumerate(statements(document)):
            sid = stmt.get("Sid") or f"#{i + 1}"
            for finding in known(lambda stmt=stmt: _statement_findings(stmt, allowlist), []):
                report(f"{label} statement {sid} {finding}; an instance role gets only the actions its "
                       "service needs on its own resources.", declared_by.urn)

    for role in _profile_roles(args.resources):
        for label, declared_by, raw in _documents_of(role, args.resources):
            check_document(label, declared_by, raw)
        for declared_by, policy in _attachments_of(role, args.resources):
            if isinstance(policy, PolicyResource):
                check_document(f"managed policy {policy.name} of role {role.name}", policy,
                               known(lambda policy=policy: get(policy.props, "policy")))
                continue
            if not isinstance(policy, str):
                continue  # unknown until the update
            match = AWS_MANAGED.match(policy)
            if policy in allowed_managed or (match and match["name"] in allowed_managed):
                continue
            report(f"Instance role {role.name} has managed policy {policy} attached; allowed are "
                   f"{', '.join(sorted(allowed_managed)) or 'none'}.", declared_by.urn)


# --- Auto Scaling groups ---------------------------------------------------------------------------------------


def _registered_directly(group_props: Any) -> int:
    # Only the number of entries matters: the ARNs themselves are unknown until the target groups exist.
    return len(get(group_props, "targetGroupArns", default=[])) + len(get(group_props, "loadBalancers", default=[]))


def _non_elb_check_type(group_props: Any) -> str | None:
    """The group's healthCheckType when it ignores the load balancer's verdict, else ``None``."""
    kind = str(get(group_props, "healthCheckType", default="EC2"))
    return None if "ELB" in [k.strip().upper() for k in kind.split(",")] else kind


def _check_elb_health(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _registered_directly(args.props):
        return
    kind = _non_elb_check_type(args.props)
    if kind is not None:
        report(f"healthCheckType is {kind!r} though the group is registered with a load balancer: instances the "
               "load balancer marks unhealthy stay in service. Set health_check_type=\"ELB\".")


def _workload_groups(resources: Sequence[PolicyResource], settings: Settings) -> list[PolicyResource]:
    """Auto Scaling groups that run agent services: by ``component`` tag or by their parent component's type."""
    components = set(settings["workloadComponents"])
    parent_types = set(settings["workloadComponentTypes"])
    found = []
    for group in of_type(resources, ASG):
        if group.parent is not None and group.parent.resource_type in parent_types:
            found.append(group)
            continue
        tags = known(lambda group=group: tag_map(get(group.props, "tags")), {})
        if tags.get("component") in components:
            found.append(group)
    return found


def _names_group(res: PolicyResource, group: PolicyResource) -> bool | None:
    """Whether ``res`` (scaling policy, attachment) applies to ``group``; ``None`` while its target is unknown."""
    if any(d.urn == group.urn for d in depends_on(res, "autoscalingGroupName")):
        return True
    target = known(lambda: get(res.props, "autoscalingGroupName"), _UNKNOWN)
    name = known(lambda: get(group.props, "name"), _UNKNOWN)
    if target is _UNKNOWN:
        return None
    return name is not _UNKNOWN and target == name


def _check_scaling(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    policies = list(of_type(args.resources, SCALING_POLICY))
    for group in _workload_groups(args.resources, settings):
        verdicts = [_names_group(p, group) for p in policies]
        if any(verdicts) or None in verdicts:
            continue
        report(f"Auto Scaling group {group.name} runs an agent service but no aws.autoscaling.Policy scales it, so "
               "its capacity stays fixed under load.", group.urn)


def _check_rollback_template(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    """Auto rollback needs a numbered template version whose image is an AMI ID, not an SSM parameter.

    Amazon EC2 Auto Scaling user guide, "Undo changes with a manual or auto rollback": no rollback to a
    template configured with an AMI alias from Parameter Store, nor from the $Latest or $Default version.
    """
    for group in of_type(args.resources, ASG):
        if known(lambda group=group: get(group.props, "instanceRefresh", "preferences", "autoRollback")) is not True:
            continue
        version = known(lambda group=group: get(group.props, "launchTemplate", "version"))
        if version in ("$Latest", "$Default"):
            report(f"Auto Scaling group {group.name} rolls back instance refreshes but uses launch template version "
                   f"{version}; AWS rolls back only to a numbered version.", group.urn)
        for template in depends_on(group, "launchTemplate"):
            if template.resource_type != LAUNCH_TEMPLATE:
                continue
            image = known(lambda template=template: get(template.props, "imageId"))
            if isinstance(image, str) and image.startswith("resolve:ssm:"):
                report(f"Auto Scaling group {group.name} rolls back instance refreshes, but its launch template "
                       f"{template.name} names its AMI through {image}; AWS cannot roll back to such a template.",
                       group.urn)


def _health_check_problem(target_group: PolicyResource) -> str | None:
    check = get(target_group.props, "healthCheck")
    if check is None:
        return "has no health_check, so the load balancer probes \"/\" with defaults instead of the readiness path"
    if get(check, "enabled") is False:
        return "has its health check disabled"
    protocol = str(get(check, "protocol", default="HTTP")).upper()
    if protocol not in ("HTTP", "HTTPS"):
        return f"checks health over {protocol}, which cannot probe a readiness path"
    if not get(check, "path"):
        return "sets no health_check.path; probe the service's readiness endpoint"
    return None


def _check_target_health(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    attachments = list(of_type(args.resources, ASG_ATTACHMENT))
    for group in _workload_groups(args.resources, settings):
        attached = [a for a in attachments if _names_group(a, group)]
        target_groups = {tg.urn: tg for tg in depends_on(group, "targetGroupArns")}
        for attachment in attached:
            target_groups.update((tg.urn, tg) for tg in depends_on(attachment, "lbTargetGroupArn"))
        for target_group in target_groups.values():
            if target_group.resource_type not in TARGET_GROUP_TYPES:
                continue
            problem = known(lambda tg=target_group: _health_check_problem(tg))
            if problem:
                report(f"Target group {target_group.name} of Auto Scaling group {group.name} {problem}.",
                       target_group.urn)
        # asg-elb-health-check sees only the group's own registrations; an attachment is visible only here.
        if attached and known(lambda group=group: _registered_directly(group.props)) == 0:
            kind = known(lambda group=group: _non_elb_check_type(group.props))
            if kind is not None:
                report(f"healthCheckType of Auto Scaling group {group.name} is {kind!r} though attachment "
                       f"{attached[0].name} registers it with a load balancer: instances the load balancer marks "
                       "unhealthy stay in service. Set health_check_type=\"ELB\".", group.urn)


_WORKLOAD_CONFIG: dict[str, dict[str, Any]] = {
    "workloadComponents": {"type": "array", "items": {"type": "string"}, "default": ["services"],
                           "description": "Values of the `component` tag that mark an Auto Scaling group as an "
                                          "agent-service workload."},
    "workloadComponentTypes": {"type": "array", "items": {"type": "string"},
                               "default": [VM_AGENT_SERVICE],
                               "description": "Component types whose child Auto Scaling groups are agent-service "
                                              "workloads."},
}

POLICIES: list[Policy] = [
    resource_policy(
        "ec2-no-public-ip",
        description="Launch templates and instances never associate a public IP address (the NAT instance's "
                    "template excepted: the nat-instance-* policies check it).",
        resource_types=[LAUNCH_TEMPLATE, INSTANCE],
        check=_check_public_ip,
        severity=Severity.HIGH,
        remediation="Set network_interfaces=[{\"associate_public_ip_address\": \"false\", ...}] on the launch "
                    "template (associate_public_ip_address=False on an instance), launch into private subnets and "
                    "serve traffic through the load balancer.",
        refs=[pci_dss("1.4.4"), soc2("CC6.6")],
        config=NAT_ROLE_CONFIG,
    ),
    resource_policy(
        "ec2-no-key-pair",
        description="Launch templates and instances carry no EC2 key pair; shell access is through SSM Session "
                    "Manager.",
        resource_types=[LAUNCH_TEMPLATE, INSTANCE],
        check=_check_key_pair,
        severity=Severity.MEDIUM,
        remediation="Remove key_name; attach AmazonSSMManagedInstanceCore to the instance role and use "
                    "`aws ssm start-session --target <instance-id>`.",
        refs=[soc2("CC6.1")],
    ),
    resource_policy(
        "ec2-instance-imdsv2",
        description="Standalone EC2 instances require IMDSv2 tokens and a small metadata hop limit; an instance "
                    "launched from a launch template may leave them to the template (see launch-template-imdsv2).",
        resource_types=[INSTANCE],
        check=_check_instance_imds,
        severity=Severity.HIGH,
        remediation="Set metadata_options={\"http_endpoint\": \"enabled\", \"http_tokens\": \"required\", "
                    "\"http_put_response_hop_limit\": 1} on the instance, or launch it from a launch template that "
                    "does and set no weaker metadata_options on the instance.",
        refs=[cis_aws("5.6", "Ensure that EC2 Metadata Service only allows IMDSv2")],
        config=HOP_LIMIT_CONFIG,
    ),
    resource_policy(
        "ec2-instance-ebs-encrypted",
        description="Standalone EC2 instances declare an encrypted root volume and encrypt every EBS volume; an "
                    "instance launched from a launch template may leave the root volume to the template (see "
                    "launch-template-ebs-encrypted).",
        resource_types=[INSTANCE],
        check=_check_instance_volumes,
        severity=Severity.HIGH,
        remediation="Set root_block_device={\"encrypted\": True, \"kms_key_id\": key.arn, \"volume_type\": "
                    "\"gp3\"} and encrypted=True on every ebs_block_devices entry, or launch the instance from a "
                    "launch template whose block_device_mappings encrypt the root volume.",
        refs=[cis_aws("2.2.1", "Ensure EBS volume encryption is enabled in all regions"), soc2("CC6.1")],
    ),
    stack_policy(
        "security-group-no-admin-ports",
        description="No security group admits SSH (22) or RDP (3389) from any source, including all-traffic rules.",
        check=_check_admin_ports,
        severity=Severity.HIGH,
        remediation="Delete the rule (or narrow its port range to exclude the administration ports) and reach "
                    "instances through SSM Session Manager, which needs no inbound port.",
        refs=[cis_aws("5.2", "Ensure no security groups allow ingress from 0.0.0.0/0 to remote server "
                             "administration ports"),
              cis_aws("5.3", "Ensure no security groups allow ingress from ::/0 to remote server administration "
                             "ports"),
              soc2("CC6.6")],
        config={"adminPorts": {"type": "array", "items": {"type": "integer"}, "default": [22, 3389],
                               "description": "TCP ports of remote administration services no rule may open."}},
    ),
    stack_policy(
        "instance-profile-least-privilege",
        description="Roles behind instance profiles allow no service-wide actions and no \"*\" resource except "
                    "for actions AWS supports only on \"*\", and attach only allowlisted managed policies.",
        check=_check_profile_roles,
        severity=Severity.HIGH,
        remediation="List the actions the instance needs on the ARNs it needs them on (its ECR repository, log "
                    "group, secrets, S3 prefix); keep \"*\" only for actions without resource-level permissions "
                    "(add them to wildcardResourceActions after review) and attach no managed policy beyond the "
                    "allowlist.",
        refs=[soc2("CC6.3")],
        config={
            "wildcardResourceActions": {
                "type": "array", "items": {"type": "string"},
                "default": ["ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", "ssm:UpdateInstanceInformation",
                            "ssmmessages:*", "ec2messages:*"],
                "description": "Actions (glob patterns) AWS supports only on Resource \"*\"; they may be granted "
                               "on \"*\"."},
            "allowedManagedPolicies": {
                "type": "array", "items": {"type": "string"},
                "default": ["AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy"],
                "description": "AWS-managed policies (by name) or policy ARNs an instance role may attach."},
        },
    ),
    resource_policy(
        "asg-elb-health-check",
        description="Auto Scaling groups registered with a load balancer through target_group_arns or "
                    "load_balancers use its health checks (an agent-service group attached by an "
                    "aws.autoscaling.Attachment instead is checked by vm-workload-target-group-health-check).",
        resource_types=[ASG],
        check=_check_elb_health,
        severity=Severity.MEDIUM,
        remediation="Set health_check_type=\"ELB\" (with a health_check_grace_period covering start-up) on groups "
                    "that have target_group_arns or load_balancers.",
        topic=("availability",),
    ),
    stack_policy(
        "asg-rollback-template-pinned",
        description="Auto Scaling groups whose instance refresh rolls back automatically launch a numbered "
                    "template version that names its AMI by ID (AWS cannot roll back to an SSM-parameter AMI).",
        check=_check_rollback_template,
        severity=Severity.MEDIUM,
        remediation="Read the AMI ID when the program runs (aws.ssm.get_parameter_output(...).insecure_value, as "
                    "components.core.instances does) instead of image_id=\"resolve:ssm:...\", and set launch_template "
                    "version to template.latest_version; or turn auto_rollback off.",
        topic=("availability",),
    ),
    stack_policy(
        "vm-workload-has-scaling-policy",
        description="Every Auto Scaling group running an agent service is scaled by an Auto Scaling policy.",
        check=_check_scaling,
        severity=Severity.LOW,
        enforcement=EnforcementLevel.ADVISORY,
        remediation="Add an aws.autoscaling.Policy with autoscaling_group_name=group.name: target tracking on CPU "
                    "for APIs, on queue depth per instance for workers.",
        topic=("availability", "cost"),
        config=_WORKLOAD_CONFIG,
    ),
    stack_policy(
        "vm-workload-target-group-health-check",
        description="Every agent-service Auto Scaling group behind a load balancer, through target_group_arns or "
                    "an aws.autoscaling.Attachment, points at target groups that probe a readiness path; a group "
                    "attached only by an Attachment also uses the load balancer's health checks.",
        check=_check_target_health,
        severity=Severity.MEDIUM,
        remediation="Give the target group health_check={\"enabled\": True, \"protocol\": \"HTTP\", \"path\": "
                    "<readiness path>, \"matcher\": \"200\"}; set health_check_type=\"ELB\" on a group attached "
                    "to it by an aws.autoscaling.Attachment.",
        topic=("availability",),
        config=_WORKLOAD_CONFIG,
    ),
]
