"""Kubernetes cluster intent: control plane access, identities and node groups."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.base import Cidr, DnsName, Model, RoleArn

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


class Taint(Model):
    key: str
    value: str = ""
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]


class NodeGroup(Model):
    instance_types: list[str] = Field(default_factory=lambda: ["m7i.large"], min_length=1)
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    min_size: int = Field(default=2, ge=0, le=100)
    desired_size: int = Field(default=3, ge=0, le=100)
    max_size: int = Field(default=6, ge=1, le=100)
    disk_size_gib: int = Field(default=50, ge=20, le=2000)
    ami_type: Literal["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"] = "AL2023_x86_64_STANDARD"
    metadata_hop_limit: int = Field(
        default=1, ge=1, le=2,
        description="1 keeps pods off the instance metadata service (pods use IRSA); 2 only if pods need IMDS.",
    )
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)

    @model_validator(mode="after")
    def _sizes(self) -> NodeGroup:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"node group sizes must satisfy minSize <= desiredSize <= maxSize "
                f"(got {self.min_size} <= {self.desired_size} <= {self.max_size})"
            )
        return self


class NodeAutoscalerConfig(Model):
    """Cluster Autoscaler: grows a node group when pods are unschedulable, shrinks it when nodes sit idle.

    Each node group's minSize and maxSize bound it; maxNodesTotal bounds the cluster (default: the sum of
    the groups' maxSize). Flags are the chart's extraArgs (cluster-autoscaler FAQ, "What are the parameters
    to CA?").
    """

    enabled: bool = True
    max_nodes_total: int | None = Field(default=None, ge=1, le=1000,
                                        description="--max-nodes-total; default: sum of node groups' maxSize.")
    scale_down_utilization_threshold: float = Field(
        default=0.5, gt=0, le=1, description="A node whose requests are below this share of allocatable may go.")
    scale_down_unneeded_minutes: int = Field(default=10, ge=1, le=1440,
                                             description="How long a node stays unneeded before it is removed.")
    expander: Literal["least-waste", "random", "most-pods", "priority"] = "least-waste"


class ClusterConfig(Model):
    version: str = Field(default="1.34", pattern=r"^1\.\d{2}$")
    endpoint_public_access: bool = Field(
        default=False,
        description="Off by default; turn on only with publicAccessCidrs naming the deploy runner's egress.",
    )
    public_access_cidrs: list[Cidr] = Field(default_factory=list)
    service_cidr: Cidr = Field(default="172.20.0.0/16", description="Kubernetes service IP range.")
    admin_role_arns: list[RoleArn] = Field(default_factory=list)
    read_only_role_arns: list[RoleArn] = Field(default_factory=list)
    log_retention_days: int = Field(default=90, ge=1, le=3653)
    node_groups: dict[DnsName, NodeGroup] = Field(default_factory=lambda: {"general": NodeGroup()}, min_length=1)
    node_autoscaler: NodeAutoscalerConfig = Field(default_factory=NodeAutoscalerConfig)
    addon_versions: dict[str, str] = Field(
        default_factory=dict,
        description="Pin EKS add-on versions; unpinned ones resolve to the newest for the Kubernetes version.",
    )

    @model_validator(mode="after")
    def _endpoint(self) -> ClusterConfig:
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise ValueError("endpointPublicAccess needs publicAccessCidrs (the deploy runner's egress CIDRs)")
        total, floor = self.node_autoscaler.max_nodes_total, sum(g.min_size for g in self.node_groups.values())
        if total is not None and total < floor:
            raise ValueError(f"nodeAutoscaler.maxNodesTotal ({total}) is below the node groups' minSize sum ({floor})")
        return self

    @property
    def max_nodes_total(self) -> int:
        """The cluster-wide node limit the autoscaler enforces."""
        explicit = self.node_autoscaler.max_nodes_total
        return explicit if explicit is not None else sum(g.max_size for g in self.node_groups.values())
