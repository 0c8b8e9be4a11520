"""Delivery facts shared by the program, the workflows' tests and docs/ci.md: one source for each name CI relies on.

The workflows address an EKS stack's in-VPC runner by its CodeBuild project name (runner label
``codebuild-<project>-<run id>-<attempt>``), so that name is a stable physical name, derived here and nowhere else.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from agent_contract.aws import ECR_PULL_ACTIONS
from pydantic import AfterValidator, Field, model_validator

from config.base import Model, RoleArn

PROJECT = "agent-platform"
# The ESC environment (under <org>/agent-platform/) a stack imports for its released image digests.
RELEASE_ENVIRONMENT_SUFFIX = "images"


def runner_project_name(stack: str) -> str:
    """The CodeBuild project of ``stack``'s in-VPC GitHub Actions runner.

    CodeBuild project names: 2-255 characters, letters, digits, '-' and '_' (CodeBuild API reference,
    CreateProject ``name`` pattern ``[A-Za-z0-9][A-Za-z0-9\\-_]{1,254}``).
    """
    return f"{PROJECT}-{stack}-ci-runner"


def release_environment(stack: str) -> str:
    """``<project>/<environment>`` of the ESC environment holding ``stack``'s released image digests."""
    return f"{PROJECT}/{stack}-{RELEASE_ENVIRONMENT_SUFFIX}"


# --- config section `delivery`
# GitHub owner/repository names: letters, digits, '-', '_' and '.' (owner: letters, digits and '-').
_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# arn:<partition>:codeconnections:<region>:<account>:connection/<uuid> (AWS CodeConnections ARN format; the
# older codestar-connections service prefix names the same connections).
_CONNECTION = re.compile(r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/"
                         r"[0-9a-f-]{36}$")


def _repository(value: str) -> str:
    if not _REPOSITORY.match(value):
        raise ValueError(f"'{value}' is not a GitHub repository: use owner/name, e.g. example-org/agent-platform")
    return value


def _connection(value: str) -> str:
    if not _CONNECTION.match(value):
        raise ValueError(f"'{value}' is not a CodeConnections connection ARN "
                         "(e.g. arn:aws:codeconnections:<region>:<account>:connection/<id>)")
    return value


GitHubRepository = Annotated[str, AfterValidator(_repository)]
ConnectionArn = Annotated[str, AfterValidator(_connection)]

# An AWS account id: 12 digits.
_ACCOUNT_ID = re.compile(r"^\d{12}$")
# IAM role names: 1-64 of letters, digits and +=,.@_- (IAM API reference, CreateRole RoleName).
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def _account_id(value: str) -> str:
    if not _ACCOUNT_ID.match(value):
        raise ValueError(f"'{value}' is not an AWS account id (12 digits, quoted in YAML, e.g. '444455556666')")
    return value


def _role_name(value: str) -> str:
    if not _ROLE_NAME.match(value):
        raise ValueError(f"'{value}' is not an IAM role name (1-64 letters, digits and +=,.@_-)")
    return value


AccountId = Annotated[str, AfterValidator(_account_id)]
RoleName = Annotated[str, AfterValidator(_role_name)]

# What copying an image by digest out of a repository needs (agent_contract.aws, shared with the pack's
# ecr-repository-policy-pull-only): the pull actions, no push, list or policy action.
PULL_ACTIONS = ECR_PULL_ACTIONS


class ImagePullConfig(Model):
    """Other AWS accounts whose deploy role copies this stack's released images into their own repositories.

    Set on the stack images are released to first (dev) when staging and prod live in other accounts: the release
    workflow's promotion (tools/release-image.sh record) runs as the target stack's deploy role and pulls from
    this stack's repositories by digest. Each repository then gets a policy allowing only the pull actions to
    those accounts, and within them only to the role named here (aws:PrincipalArn), not to every principal of
    the account. Same-account stacks need nothing here: a role's IAM policy is enough within one account.
    """

    account_ids: list[AccountId] = Field(
        default_factory=list,
        description="Accounts (12 digits, quoted) whose deploy role may pull this stack's images, e.g. staging's and "
                    "prod's. Empty: no repository policy (same-account promotion needs none).",
        examples=[["444455556666", "777788889999"]])
    role_name: RoleName = Field(
        default="AgentPlatformDeploy",
        description="The deploy role's name in each of those accounts (docs/accounts.md): only a session of "
                    "arn:<partition>:iam::<account>:role/<roleName> may pull.")

    @model_validator(mode="after")
    def _unique(self) -> ImagePullConfig:
        if len(set(self.account_ids)) != len(self.account_ids):
            raise ValueError("accountIds: each account once")
        return self


class CiRunnerConfig(Model):
    """An AWS CodeBuild-hosted GitHub Actions runner inside the stack's private subnets (docs/ci.md)."""

    enabled: bool | None = Field(
        default=None, description="Run CI jobs for this stack inside its VPC. Default: on for runtime eks in "
                                  "staging and prod (their Kubernetes API is private or open to a few CIDRs), off "
                                  "for dev and for the vm runtime (GitHub-hosted runners reach them).")
    github_repository: GitHubRepository | None = Field(
        default=None, description="The repository whose workflow jobs the runner takes (owner/name).",
        examples=["example-org/agent-platform"])
    connection_arn: ConnectionArn | None = Field(
        default=None, description="AWS CodeConnections connection to GitHub (created once per account, completed "
                                  "in the console) that CodeBuild uses to register the runner.")
    # CodeBuild compute types for Linux containers (CodeBuild user guide, "Build environment compute types").
    compute_type: Literal["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE"] = Field(
        default="BUILD_GENERAL1_MEDIUM", description="Build host size (MEDIUM: 4 vCPU, 7 GB; the program's plan "
                                                     "and tests need more than SMALL's 3 GB).")
    # CodeBuild TimeoutInMinutes: 5 to 2160 (CodeBuild API reference, CreateProject).
    timeout_minutes: int = Field(default=60, ge=5, le=2160, description="A job running longer is stopped.")

    def is_enabled(self, runtime: str, environment: str) -> bool:
        if self.enabled is not None:
            return self.enabled
        return runtime == "eks" and environment in ("staging", "prod")


class DeliveryConfig(Model):
    """How CI reaches and previews this stack."""

    ci_runner: CiRunnerConfig = CiRunnerConfig()
    preview_role_arns: list[RoleArn] = Field(
        default_factory=list,
        description="Roles of pull-request previews and drift detection: each gets a cluster access entry with "
                    "AmazonEKSViewPolicy and the Kubernetes group agent-platform-preview, which may read and dry-run "
                    "server-side applies of the kinds the program manages; an admission policy denies every "
                    "non-dry-run write of that group (docs/ci.md).")
    image_pull: ImagePullConfig = Field(
        default_factory=ImagePullConfig,
        description="Other accounts' deploy roles that may pull this stack's images to promote them (docs/ci.md, "
                    "\"Image releases\").")

    @model_validator(mode="after")
    def _unique(self) -> DeliveryConfig:
        if len(set(self.preview_role_arns)) != len(self.preview_role_arns):
            raise ValueError("previewRoleArns: each role once")
        return self


def delivery_problems(runtime: str | None, environment: str, delivery: DeliveryConfig | None) -> list[str]:
    """An enabled runner needs its repository and connection."""
    if delivery is None or runtime is None or not delivery.ci_runner.is_enabled(runtime, environment):
        return []
    runner = delivery.ci_runner
    examples = {"githubRepository": "example-org/agent-platform",
                "connectionArn": "arn:aws:codeconnections:<region>:<account>:connection/<id>"}
    values = {"githubRepository": runner.github_repository, "connectionArn": runner.connection_arn}
    return [f"delivery.ciRunner.{key}: required while the in-VPC CI runner is enabled (runtime {runtime}), e.g. "
            f"{examples[key]}; or set delivery.ciRunner.enabled: false (docs/ci.md)"
            for key, value in values.items() if value is None]
