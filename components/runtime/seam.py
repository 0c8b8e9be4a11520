"""The one interface a runtime implements, and what __main__.py passes it.

A choice that changes many components (pods on EKS or processes on EC2 instances) is one object with one
implementation per option (``eks.EksRuntime``, ``vm.VmRuntime``). Each method hands a lower component the
small piece it needs: the data tier a ``DatabaseBootstrap``, the edge an ``EdgeBackend``, observability a
``MonitoringTarget``. Adding a runtime means implementing this protocol, not editing those components.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi

from components.core.context import StackContext
from components.data.bootstrap import DatabaseBootstrap
from components.edge.backends import EdgeBackend
from components.observability.stack import MonitoringTarget, ObservabilityStack
from components.services.contract import ServiceDataRefs
from config import PlatformConfig


@dataclass(frozen=True)
class RuntimeInputs:
    """What a runtime is built from: the validated config, account facts and the network it runs in."""

    config: PlatformConfig
    context: StackContext
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    public_cidrs: list[str]
    private_subnet_ids: list[pulumi.Output[str]]
    logs_key_arn: pulumi.Input[str]


class DeployedService(Protocol):
    """What the stack exports of each agent service, whatever runs it."""

    url: str
    repository_url: pulumi.Output[str]
    image_ref: pulumi.Output[str] | None
    role_arn: pulumi.Output[str]


class Runtime(Protocol):
    """Where agent services run. Called in this order by __main__.py."""

    # The security groups the data stores admit, keyed by a stable name (the ingress rules are named by it).
    workload_security_groups: Mapping[str, pulumi.Input[str]]
    # What runs the database bootstrap once the database exists.
    database_bootstrap: DatabaseBootstrap

    def deploy_services(self, data: ServiceDataRefs) -> Mapping[str, DeployedService]:
        """Register every entry under ``services``."""
        ...

    def edge_backend(self) -> EdgeBackend:
        """What stands behind the edge's routes (after ``deploy_services``)."""
        ...

    def monitoring_target(self) -> MonitoringTarget:
        """What observability watches besides CloudWatch metrics (after ``deploy_services``)."""
        ...

    def component_opts(self) -> pulumi.ResourceOptions | None:
        """Options for components that may register runtime resources (the Kubernetes provider on EKS)."""
        ...

    def exports(self, observability: ObservabilityStack) -> Mapping[str, Any]:
        """The runtime's own stack outputs."""
        ...
