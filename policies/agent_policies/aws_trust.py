"""Who may assume a role, and what an identity policy lets it reach.

``aws_identity`` stops administrator wildcards; these policies read what it does not: role trust policies
(public, foreign-account and IRSA trust), service-wide wildcards and sensitive data actions on every
resource of a kind, ``NotAction``/``NotResource`` allows, and AWS-managed policies that grant a whole service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from agent_contract.tags import PLACEMENT_TAG, SHARED_PLACEMENT
from pulumi_policy import Policy, ResourceValidationArgs, Severity

from ._common import (
    Report,
    Settings,
    as_list,
    checkov,
    fsbp,
    get,
    known,
    parse_document,
    resource_policy,
    soc2,
    statements,
    tag_map,
)
from .aws_identity import ATTACHMENT_TYPES, AWS_MANAGED, IAM_TYPES, ROLE, _documents

_ACCOUNT_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(?P<account>\d{12}):")
_OIDC_PROVIDER = re.compile(r":oidc-provider/(?P<issuer>.+)$")
# Condition keys that tie a "*" principal (or a foreign account) to known callers. Source: IAM global
# condition context keys (docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
_CALLER_KEYS = ("aws:principalorgid", "aws:principalaccount", "aws:principalarn", "aws:sourceaccount",
                "aws:sourcearn", "aws:sourceowner", "aws:principalorgpaths", "aws:sourcevpc", "aws:sourcevpce")
_EQUALS = ("stringequals", "stringequalsignorecase", "arnequals", "forallvalues:stringequals",
           "foranyvalue:stringequals")


def _label(stmt: Mapping[str, Any], i: int) -> str:
    return str(stmt.get("Sid") or f"#{i + 1}")


def _conditions(stmt: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Operator (lower-case) to condition key (lower-case) to values."""
    out: dict[str, dict[str, list[str]]] = {}
    condition = stmt.get("Condition")
    if isinstance(condition, Mapping):
        for op, block in condition.items():
            if isinstance(block, Mapping):
                out[str(op).lower()] = {str(k).lower(): [str(v) for v in as_list(val)] for k, val in block.items()}
    return out


def _pinned_keys(stmt: Mapping[str, Any]) -> set[str]:
    """Condition keys compared for equality with values free of wildcards."""
    keys: set[str] = set()
    for op, block in _conditions(stmt).items():
        exact = op in _EQUALS or op.startswith("stringlike")
        for key, values in block.items():
            if exact and values and not any("*" in v or "?" in v for v in values):
                keys.add(key)
    return keys


def _principals(stmt: Mapping[str, Any], kind: str) -> list[str]:
    principal = stmt.get("Principal")
    if principal == "*":
        return ["*"] if kind == "AWS" else []
    if isinstance(principal, Mapping):
        return [str(p) for p in as_list(principal.get(kind))]
    return []


def _trust_document(args: ResourceValidationArgs) -> dict[str, Any] | None:
    return parse_document(get(args.props, "assumeRolePolicy"))


def _placed_on_shared_host(args: ResourceValidationArgs) -> bool:
    """A service role of the VM runtime's shared host: vm-shared-service-trust judges its principal instead.

    It trusts the host's role of the same stack, which this single-resource check cannot tell from another
    account's role; the stack policy can (the trust depends on that role), and refuses anything else.
    """
    return known(lambda: tag_map(get(args.props, "tags")).get(PLACEMENT_TAG), None) == SHARED_PLACEMENT


def _check_trust_principals(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    trusted = {str(a) for a in settings["trustedAccountIds"]}
    placed = _placed_on_shared_host(args)
    for i, stmt in enumerate(statements(_trust_document(args))):
        if stmt.get("Effect") != "Allow":
            continue
        label = _label(stmt, i)
        pinned = _pinned_keys(stmt)
        for principal in _principals(stmt, "AWS"):
            if principal == "*":
                if not pinned & set(_CALLER_KEYS):
                    report(f"Trust statement {label} lets any AWS principal (\"*\") assume the role; name the "
                           "principals, or pin the callers with aws:PrincipalOrgID / aws:PrincipalAccount.")
                continue
            match = _ACCOUNT_ARN.match(principal)
            account = match["account"] if match else principal if principal.isdigit() else None
            if account is None or account in trusted or (placed and ":role/" in principal):
                continue
            if not pinned & {"sts:externalid", "aws:principalorgid"}:
                report(f"Trust statement {label} lets account {account} assume the role without an sts:ExternalId "
                       "or aws:PrincipalOrgID condition, and the account is not in trustedAccountIds.")


def _check_irsa_trust(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    for i, stmt in enumerate(statements(_trust_document(args))):
        if stmt.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in as_list(stmt.get("Action"))]
        if not any(fnmatchcase("sts:assumerolewithwebidentity", a.lower()) for a in actions):
            continue
        for federated in _principals(stmt, "Federated"):
            match = _OIDC_PROVIDER.search(federated)
            if match is None:
                continue  # Cognito or SAML federation: not a cluster's service accounts
            issuer = match["issuer"].lower()
            label = _label(stmt, i)
            sub_key = f"{issuer}:sub"
            conditions = _conditions(stmt)
            exact = [v for op, block in conditions.items() if op in _EQUALS for v in block.get(sub_key, [])]
            like = [v for op, block in conditions.items() if op.startswith("stringlike")
                    for v in block.get(sub_key, [])]
            if not exact and not like:
                report(f"Trust statement {label} lets every service account of the cluster ({issuer}) assume the "
                       f"role: add StringEquals {{\"{match['issuer']}:sub\": \"system:serviceaccount:<ns>:<name>\"}}.")
                continue
            wild = [v for v in exact + like if "*" in v or "?" in v]
            if wild:
                report(f"Trust statement {label} matches {sub_key} with the wildcard(s) {', '.join(wild)}: any service "
                       "account those match can assume the role; pin one namespace and service account exactly.")
            if settings["requireAudience"] and f"{issuer}:aud" not in _pinned_keys(stmt):
                report(f"Trust statement {label} does not pin {issuer}:aud to sts.amazonaws.com.")


# --- permissions ------------------------------------------------------------------------------------------------


def _broad(resource: str, service: str) -> bool:
    """Every resource, or every resource of one kind in the account (``key/*``, ``secret:*``, ``arn:aws:s3:::*``)."""
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return False
    rest = parts[5]
    if parts[2] == "s3":
        return rest.startswith("*")
    return rest == "*" or bool(re.fullmatch(r"[A-Za-z0-9_-]+[/:]\*", rest))


def _check_data_access(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    sensitive = [str(a).lower() for a in settings["sensitiveActions"]]
    read_only = [str(a).lower() for a in settings["allowedOnAllResources"]]
    for label, document in _documents(args):
        for i, stmt in enumerate(statements(document)):
            if stmt.get("Effect") != "Allow":
                continue
            sid = _label(stmt, i)
            if "NotAction" in stmt:
                report(f"{label} statement {sid} allows NotAction: it grants every action except those listed, "
                       "including any the service adds later. List the actions instead.")
            if "NotResource" in stmt:
                report(f"{label} statement {sid} allows NotResource: it grants every resource except those listed.")
            actions = [str(a) for a in as_list(stmt.get("Action"))]
            resources = [str(r) for r in as_list(stmt.get("Resource"))]
            for action in actions:
                lowered = action.lower()
                if lowered in ("*", "*:*") or ":" not in lowered:
                    continue  # iam-no-admin-wildcard reports these
                service, _, verb = lowered.partition(":")
                broad = [r for r in resources if _broad(r, service)]
                if not broad or any(fnmatchcase(lowered, p) for p in read_only):
                    continue
                if verb == "*":
                    report(f"{label} statement {sid} allows {action} on {', '.join(broad)}: every action of the "
                           "service on every such resource.")
                elif any(fnmatchcase(s, lowered) or fnmatchcase(lowered, s) for s in sensitive):
                    report(f"{label} statement {sid} allows {action} on {', '.join(broad)}: every key, secret, "
                           "parameter or object of the account, not the ones this principal needs.")


def _check_managed(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if args.resource_type in ATTACHMENT_TYPES:
        arns = [get(args.props, "policyArn")]
    elif args.resource_type == ROLE:
        arns = list(as_list(get(args.props, "managedPolicyArns")))
    else:
        return
    patterns = [str(p) for p in settings["forbiddenManagedPolicies"]]
    for arn in arns:
        match = AWS_MANAGED.match(str(arn or ""))
        if match and any(fnmatchcase(match["name"], p) for p in patterns):
            report(f"Attaches the AWS-managed policy {match.group(0)}, which grants far more than one workload needs; "
                   "write a customer-managed policy scoped to the actions and ARNs it uses.")


POLICIES: list[Policy] = [
    resource_policy(
        "iam-trust-no-public-or-foreign-principal",
        description="Role trust policies name who may assume them: no \"*\" principal without a caller condition, "
                    "no other account without an external ID or organisation condition.",
        resource_types=[ROLE],
        check=_check_trust_principals,
        severity=Severity.CRITICAL,
        remediation="In assume_role_policy, name the principal ARNs or service principals that assume the role. For "
                    "another account add a Condition on sts:ExternalId (third parties) or aws:PrincipalOrgID (your "
                    "organisation), or list the account in this policy's trustedAccountIds after review.",
        refs=[checkov("CKV_AWS_60", "Ensure IAM role allows only specific services or principals to assume it"),
              soc2("CC6.1")],
        config={"trustedAccountIds": {"type": "array", "items": {"type": "string"}, "default": [],
                                      "description": "Account ids (the stack's own, reviewed partners) whose "
                                                     "principals may be trusted without a condition."}},
    ),
    resource_policy(
        "iam-irsa-trust-pinned",
        description="Roles trusted by an EKS OIDC provider pin the exact service account (the :sub claim) with no "
                    "wildcard, and the audience.",
        resource_types=[ROLE],
        check=_check_irsa_trust,
        severity=Severity.HIGH,
        remediation="Condition the AssumeRoleWithWebIdentity statement with StringEquals on "
                    "\"<issuer>:sub\": \"system:serviceaccount:<namespace>:<name>\" and \"<issuer>:aud\": "
                    "\"sts.amazonaws.com\" (EKS user guide: associate-service-account-role).",
        refs=[soc2("CC6.3")],
        config={"requireAudience": {"type": "boolean", "default": True,
                                    "description": "Also require the :aud claim pinned to sts.amazonaws.com."}},
    ),
    resource_policy(
        "iam-no-service-wide-access",
        description="Identity policies grant no service-wide wildcard (s3:*) and no sensitive data action "
                    "(kms:Decrypt, secretsmanager:GetSecretValue, s3:GetObject ...) on every resource of a kind, and "
                    "never Allow with NotAction or NotResource.",
        resource_types=IAM_TYPES,
        check=_check_data_access,
        severity=Severity.HIGH,
        remediation="Name the key, secret, bucket prefix or parameter ARNs the principal needs; replace service:* by "
                    "the actions it calls; rewrite NotAction/NotResource allows as explicit lists.",
        refs=[fsbp("IAM.21", "IAM customer managed policies that you create should not allow wildcard actions for "
                             "services"),
              fsbp("KMS.1"), fsbp("KMS.2"), checkov("CKV_AWS_355"), checkov("CKV_AWS_288"), checkov("CKV_AWS_290"),
              soc2("CC6.3")],
        config={
            "sensitiveActions": {
                "type": "array", "items": {"type": "string"},
                "default": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant",
                            "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "ssm:GetParameter*",
                            "s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "dynamodb:GetItem",
                            "dynamodb:Scan", "dynamodb:Query", "sts:AssumeRole", "iam:PassRole", "ecr:*Image*",
                            "rds-db:connect", "elasticache:Connect"],
                "description": "Actions (fnmatch patterns) that must name their resources.",
            },
            "allowedOnAllResources": {
                "type": "array", "items": {"type": "string"},
                "default": ["cloudwatch:get*", "cloudwatch:list*", "cloudwatch:describe*", "logs:describe*",
                            "ec2:describe*", "ecr:getauthorizationtoken", "sts:getcalleridentity",
                            "tag:getresources", "xray:put*"],
                "description": "Actions (fnmatch patterns, lower case) that only work on \"*\" or read metadata.",
            },
        },
    ),
    resource_policy(
        "iam-no-privileged-managed-policies",
        description="Roles, users and groups do not attach AWS-managed policies that grant a whole service or "
                    "account (AdministratorAccess, PowerUserAccess, IAMFullAccess, *FullAccess).",
        resource_types=[ROLE, *ATTACHMENT_TYPES],
        check=_check_managed,
        severity=Severity.HIGH,
        remediation="Attach a customer-managed policy with the actions and ARNs the workload uses (AWS-managed "
                    "service-role policies for AWS services, such as AmazonEKSWorkerNodePolicy, stay allowed).",
        refs=[fsbp("IAM.1"), checkov("CKV_AWS_274"), soc2("CC6.3")],
        config={"forbiddenManagedPolicies": {
            "type": "array", "items": {"type": "string"},
            "default": ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "*FullAccess",
                        "SecretsManagerReadWrite", "AWSKeyManagementServicePowerUser"],
            "description": "AWS-managed policy names (fnmatch patterns) that must not be attached."}},
    ),
]
