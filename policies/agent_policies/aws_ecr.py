"""ECR repositories: images that cannot be swapped under a tag, are scanned, encrypted and pruned, and only
named roles of other accounts may pull them."""

from __future__ import annotations

import re
from typing import Any

from agent_contract.aws import ECR_PULL_ACTIONS
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
    depends_on,
    get,
    known,
    of_type,
    parse_document,
    resource_policy,
    soc2,
    stack_policy,
    statements,
)

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
_ACCOUNT = re.compile(r"^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$")
KMS_TYPES = ("KMS", "KMS_DSSE")


def _check_immutable(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    # ECR defaults to MUTABLE when the argument is omitted.
    mutability = get(args.props, "imageTagMutability", default="MUTABLE")
    allowed = ["IMMUTABLE", *(["IMMUTABLE_WITH_EXCLUSION"] if settings["allowExclusions"] else [])]
    if mutability not in allowed:
        report(f"imageTagMutability is {mutability}: a pushed tag can later point at a different image. Set it "
               "to IMMUTABLE.")


def _check_scan_on_push(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "imageScanningConfiguration", "scanOnPush") is not True:
        report("Images are not scanned for vulnerabilities when pushed; set "
               "image_scanning_configuration={\"scan_on_push\": True}.")


def _check_encryption(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    configs = get(args.props, "encryptionConfigurations", default=[])
    config = get(configs, 0, default={})
    kind = get(config, "encryptionType", default="AES256")
    if kind not in KMS_TYPES:
        report(f"The repository is encrypted with {kind} (S3-managed keys); use KMS with a customer-managed key.")
    elif settings["requireCustomerKey"] and not get(config, "kmsKey"):
        report("encryptionType is KMS but no kmsKey is given, so the AWS-managed aws/ecr key is used; pass a "
               "customer-managed key ARN.")


def _governs(policy: PolicyResource, repo: PolicyResource, repo_name: str | None) -> bool:
    """A lifecycle policy belongs to a repository by dependency (names are outputs) or by literal name."""
    if any(dep.urn == repo.urn for dep in depends_on(policy, "repository")):
        return True
    return repo_name is not None and known(lambda: get(policy.props, "repository")) == repo_name


def _check_lifecycle(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    policies = list(of_type(args.resources, LIFECYCLE_POLICY))
    for repo in of_type(args.resources, REPOSITORY):
        name = known(lambda repo=repo: get(repo.props, "name"))
        if not any(_governs(policy, repo, name) for policy in policies):
            report(f"ECR repository {repo.name} has no lifecycle policy: every pushed image is kept and billed "
                   "forever.", repo.urn)


def _whole_account(principal: Any) -> list[str]:
    """The principals that stand for every identity of an account ("*", an account id or its root ARN)."""
    if principal == "*":
        return ["*"]
    if not isinstance(principal, dict):
        return []
    return [str(p) for p in as_list(principal.get("AWS")) if p == "*" or _ACCOUNT.match(str(p))]


def _narrowed(stmt: dict[str, Any], keys: set[str]) -> bool:
    """A positive condition on one of ``keys`` (e.g. aws:PrincipalArn) with no bare "*" value."""
    condition = stmt.get("Condition")
    if not isinstance(condition, dict):
        return False
    for op, block in condition.items():
        if not isinstance(block, dict) or str(op).lower().startswith(("stringnot", "arnnot", "null")):
            continue
        for key, values in block.items():
            vals = [str(v) for v in as_list(values)]
            if str(key).lower() in keys and vals and "*" not in vals:
                return True
    return False


def _check_repository_policy(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    allowed = {str(a).lower() for a in settings["allowedActions"]}
    keys = {str(k).lower() for k in settings["principalConditionKeys"]}
    for i, stmt in enumerate(statements(parse_document(get(args.props, "policy")))):
        if stmt.get("Effect") != "Allow":
            continue
        label = stmt.get("Sid") or f"#{i + 1}"
        if "NotAction" in stmt:
            report(f"Statement {label} uses NotAction: it grants every ECR action but the listed ones.")
        extra = [str(a) for a in as_list(stmt.get("Action")) if str(a).lower() not in allowed]
        if extra:
            report(f"Statement {label} grants {', '.join(extra)}: a repository policy only lets other accounts pull "
                   f"({', '.join(sorted(settings['allowedActions']))}); pushes, deletes and policy changes stay "
                   "with this account's IAM roles.")
        broad = _whole_account(stmt.get("Principal"))
        if broad and not _narrowed(stmt, keys):
            named = " or ".join(sorted(settings["principalConditionKeys"]))
            report(f"Statement {label} grants {', '.join(broad)} with no {named} "
                   "condition: every principal of that account (anyone, for \"*\") may pull. Name the role that "
                   "promotes images in the condition.")


POLICIES: list[Policy] = [
    resource_policy(
        "ecr-image-tags-immutable",
        description="ECR repositories have immutable image tags.",
        resource_types=[REPOSITORY],
        check=_check_immutable,
        severity=Severity.HIGH,
        remediation="Set image_tag_mutability=\"IMMUTABLE\"; push each build under a new tag and deploy by digest.",
        refs=[soc2("CC8.1", "Changes are authorized, tested and approved before deployment")],
        config={"allowExclusions": {"type": "boolean", "default": False,
                                    "description": "Accept IMMUTABLE_WITH_EXCLUSION (some tags stay mutable)."}},
    ),
    resource_policy(
        "ecr-scan-on-push",
        description="ECR repositories scan every image for vulnerabilities on push.",
        resource_types=[REPOSITORY],
        check=_check_scan_on_push,
        severity=Severity.MEDIUM,
        remediation="Set image_scanning_configuration={\"scan_on_push\": True} (or configure registry-wide "
                    "enhanced scanning and exempt the repository here).",
        refs=[soc2("CC7.1", "Vulnerabilities are identified and monitored")],
    ),
    resource_policy(
        "ecr-encrypted-with-kms",
        description="ECR repositories are encrypted with a customer-managed KMS key.",
        resource_types=[REPOSITORY],
        check=_check_encryption,
        severity=Severity.MEDIUM,
        remediation="Set encryption_configurations=[{\"encryption_type\": \"KMS\", \"kms_key\": key.arn}] with a "
                    "rotating customer-managed key (the setting is fixed at creation: the repository is replaced).",
        refs=[soc2("CC6.1")],
        config={"requireCustomerKey": {"type": "boolean", "default": True,
                                       "description": "Require a customer-managed key rather than aws/ecr."}},
    ),
    resource_policy(
        "ecr-repository-policy-pull-only",
        description="An ECR repository policy only lets named roles of other accounts pull images.",
        resource_types=[REPOSITORY_POLICY],
        check=_check_repository_policy,
        severity=Severity.HIGH,
        remediation="Allow only ecr:BatchGetImage, ecr:GetDownloadUrlForLayer and ecr:BatchCheckLayerAvailability, "
                    "to the other account's root principal narrowed by a condition on aws:PrincipalArn naming the "
                    "role that promotes images (delivery.imagePull); grant everything else through IAM roles in "
                    "this account.",
        refs=[soc2("CC6.1", "Logical access is restricted to authorized users"),
              soc2("CC6.3", "Access is granted on least privilege")],
        config={
            "allowedActions": {"type": "array", "items": {"type": "string"}, "default": list(ECR_PULL_ACTIONS),
                               "description": "Actions a repository policy may grant."},
            "principalConditionKeys": {"type": "array", "items": {"type": "string"},
                                       "default": ["aws:PrincipalArn"],
                                       "description": "Condition keys that narrow a whole-account or \"*\" "
                                                      "principal to named roles."},
        },
    ),
    stack_policy(
        "ecr-lifecycle-policy",
        description="Every ECR repository has a lifecycle policy that expires old images.",
        check=_check_lifecycle,
        severity=Severity.LOW,
        enforcement=EnforcementLevel.MANDATORY,
        remediation="Add an aws.ecr.LifecyclePolicy for the repository (e.g. keep the newest 30 images).",
        topic=("cost",),
    ),
]
