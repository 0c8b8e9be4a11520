"""ECR repositories: images that cannot be swapped under a tag, are scanned, encrypted and pruned."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from ._common import Report, Settings, depends_on, get, known, of_type, resource_policy, soc2, stack_policy

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
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
