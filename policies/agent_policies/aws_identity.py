"""KMS key and IAM policy-document policies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs, Severity

from ._common import (
    Report,
    Settings,
    as_list,
    cis_aws,
    get,
    known,
    parse_document,
    pci_dss,
    resource_policy,
    soc2,
    statements,
)

KMS_KEY = "aws:kms/key:Key"
IAM_POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ROLE = "aws:iam/role:Role"
DOCUMENT_TYPES = (IAM_POLICY, ROLE_POLICY, USER_POLICY, GROUP_POLICY)
ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
IAM_TYPES = (*DOCUMENT_TYPES, ROLE)
ADMIN_ACTIONS = ("*", "*:*")
AWS_MANAGED = re.compile(r"^arn:[a-z-]+:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$")


def _check_rotation(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    props = args.props
    spec = get(props, "customerMasterKeySpec", default="SYMMETRIC_DEFAULT")
    usage = get(props, "keyUsage", default="ENCRYPT_DECRYPT")
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        return  # KMS rotates only symmetric encryption keys.
    if get(props, "customKeyStoreId") or get(props, "xksKeyId"):
        return  # Keys in custom key stores cannot rotate automatically.
    if get(props, "enableKeyRotation") is not True:
        report("enableKeyRotation is not true.")
        return
    period = get(props, "rotationPeriodInDays")
    if period is not None and int(period) > int(settings["maxRotationPeriodDays"]):
        report(f"rotationPeriodInDays is {int(period)}; at most {settings['maxRotationPeriodDays']} is allowed.")


def _public_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in as_list(principal.get("AWS"))
    return False


def _condition_keys(condition: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(condition, Mapping):
        for block in condition.values():
            if isinstance(block, Mapping):
                keys.update(k.lower() for k in block)
    return keys


def _check_key_policy(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    raw = get(args.props, "policy")
    document = parse_document(raw)
    if raw and document is None:
        report("policy is not a valid JSON policy document.")
        return
    required = {k.lower() for k in settings["requiredConditionKeys"]}
    for i, stmt in enumerate(statements(document)):
        if stmt.get("Effect") != "Allow" or not _public_principal(stmt.get("Principal")):
            continue
        label = stmt.get("Sid") or f"#{i + 1}"
        keys = _condition_keys(stmt.get("Condition"))
        if not keys:
            report(f"Statement {label} allows any principal (\"*\") with no Condition.")
        elif required and not keys & required:
            report(f"Statement {label} allows any principal, conditioned only on {', '.join(sorted(keys))}; "
                   f"use one of {', '.join(sorted(required))}.")


def _documents(args: ResourceValidationArgs) -> list[tuple[str, dict[str, Any] | None]]:
    """(label, parsed document) pairs: the ``policy`` input, or a role's inline policies."""
    if args.resource_type in DOCUMENT_TYPES:
        return [("policy", parse_document(get(args.props, "policy")))]
    if args.resource_type != ROLE:
        return []
    found = []
    inline = get(args.props, "inlinePolicies", default=[])
    for i in range(len(inline)):
        entry = known(lambda i=i: (get(inline[i], "name") or f"#{i + 1}", parse_document(get(inline[i], "policy"))))
        if entry is not None:
            found.append((f"inline policy {entry[0]}", entry[1]))
    return found


def _allows(stmt: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    if stmt.get("Effect") != "Allow":
        return [], []
    return [str(a) for a in as_list(stmt.get("Action"))], [str(r) for r in as_list(stmt.get("Resource"))]


def _admin_attachments(args: ResourceValidationArgs, settings: Settings) -> list[str]:
    """AWS-managed administrator policies attached by this resource (an attachment, or a role's managed list)."""
    if args.resource_type in ATTACHMENT_TYPES:
        arns = [get(args.props, "policyArn")]
    elif args.resource_type == ROLE:
        managed = get(args.props, "managedPolicyArns", default=[])
        arns = [known(lambda i=i: managed[i]) for i in range(len(managed))]
    else:
        return []
    forbidden = set(settings["forbiddenManagedPolicies"])
    matches = [AWS_MANAGED.match(a) for a in arns if isinstance(a, str)]
    return [m.group(0) for m in matches if m and m["name"] in forbidden]


def _check_admin(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    for arn in _admin_attachments(args, settings):
        report(f"Attaches the AWS-managed administrator policy {arn}.")
    for label, document in _documents(args):
        for i, stmt in enumerate(statements(document)):
            actions, resources = _allows(stmt)
            if "*" in resources and any(a in ADMIN_ACTIONS for a in actions):
                report(f"{label} statement {stmt.get('Sid') or '#' + str(i + 1)} allows every action on every "
                       "resource.")


def _check_pass_role(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    for label, document in _documents(args):
        for i, stmt in enumerate(statements(document)):
            actions, resources = _allows(stmt)
            granting = [a for a in actions if fnmatchcase("iam:passrole", a.lower())]
            if "*" in resources and granting:
                report(f"{label} statement {stmt.get('Sid') or '#' + str(i + 1)} grants iam:PassRole (via "
                       f"{', '.join(granting)}) on every role.")


POLICIES: list[Policy] = [
    resource_policy(
        "kms-key-rotation-enabled",
        description="Customer-managed symmetric KMS keys rotate automatically.",
        resource_types=[KMS_KEY],
        check=_check_rotation,
        severity=Severity.MEDIUM,
        remediation="Set enable_key_rotation=True (and rotation_period_in_days within the limit) on the "
                    "aws.kms.Key.",
        refs=[cis_aws("3.6", "Ensure rotation for customer-created symmetric CMKs is enabled"),
              pci_dss("3.7.4")],
        config={"maxRotationPeriodDays": {"type": "integer", "minimum": 90, "maximum": 2560, "default": 365,
                                          "description": "Longest allowed rotation period."}},
    ),
    resource_policy(
        "kms-key-policy-no-public-principal",
        description="KMS key policies never grant access to any principal (\"*\") without a condition.",
        resource_types=[KMS_KEY],
        check=_check_key_policy,
        severity=Severity.CRITICAL,
        remediation="Name the account root, roles or service principals that need the key; if \"*\" is "
                    "unavoidable, constrain it with a Condition such as kms:CallerAccount or kms:ViaService.",
        refs=[soc2("CC6.1"), pci_dss("3.6.1")],
        config={"requiredConditionKeys": {"type": "array", "items": {"type": "string"}, "default": [],
                                          "description": "If non-empty, a statement open to \"*\" must use one "
                                                         "of these condition keys (e.g. kms:CallerAccount)."}},
    ),
    resource_policy(
        "iam-no-admin-wildcard",
        description="IAM policies never allow every action (\"*\") on every resource, nor attach "
                    "AdministratorAccess.",
        resource_types=[*IAM_TYPES, *ATTACHMENT_TYPES],
        check=_check_admin,
        severity=Severity.CRITICAL,
        remediation="List the actions the principal needs and the ARNs it needs them on; administrator access "
                    "belongs to SSO permission sets, not to roles the platform creates.",
        refs=[cis_aws("1.15", "Ensure IAM policies that allow full \"*:*\" administrative privileges are not "
                              "attached"),
              soc2("CC6.3")],
        config={"forbiddenManagedPolicies": {"type": "array", "items": {"type": "string"},
                                             "default": ["AdministratorAccess"],
                                             "description": "AWS-managed policies (by name) that grant full "
                                                            "administrator access and must not be attached."}},
    ),
    resource_policy(
        "iam-no-passrole-wildcard",
        description="IAM policies never grant iam:PassRole on every role.",
        resource_types=IAM_TYPES,
        check=_check_pass_role,
        severity=Severity.HIGH,
        remediation="Scope iam:PassRole to the ARNs of the specific roles that may be passed (and add an "
                    "iam:PassedToService condition).",
        refs=[soc2("CC6.3")],
    ),
]
