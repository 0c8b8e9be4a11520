"""The seam between the data tier and the runtime: who runs the database bootstrap, and where.

On EKS a Kubernetes Job runs it (``bootstrap_job.JobBootstrap``); on VMs a one-shot instance does
(``bootstrap_vm.VmBootstrap``). DataTier only calls ``run``: it never asks which runtime it is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from components.core.context import StackContext
    from components.data.bootstrap_job import BootstrapInputs
    from config.data import DataTierConfig


class DatabaseBootstrap(Protocol):
    """Creates the roles, grants and extensions the services need, once the database exists."""

    def run(self, parent: pulumi.Resource, name: str, config: DataTierConfig, context: StackContext, *,
            inputs: BootstrapInputs, database_security_group: aws.ec2.SecurityGroup) -> pulumi.Resource:
        """Register what runs the bootstrap; the returned resource is what later resources order on."""
        ...
