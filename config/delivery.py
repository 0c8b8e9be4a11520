"""Delivery facts shared by the program, the workflows' tests and docs/ci.md: one source for each name CI relies on.

The workflows address an EKS stack's in-VPC runner by its CodeBuild project name (runner label
``codebuild-<project>-<run id>-<attempt>``), so that name is a stable physical name, derived here and nowhere else.
"""

from __future__ import annotations

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
