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
    addon_versions: dict[str, str] = Field(
        default_factory=dict,
        description="Pin EKS add-on versions; unpinned ones resolve to the newest for the Kubernetes version.",
    )

    @model_validator(mode="after")
    def _endpoint(self) -> ClusterConfig:
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise ValueError("endpointPublicAccess needs publicAccessCidrs (the deploy runner's egress CIDRs)")
        return self
