"""Kubernetes cluster intent: control plane access, identities and node groups."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.base import Cidr, DnsName, LabelKey, LabelValue, LogRetentionDays, Model, RoleArn, unique
from config.catalog import (
    ADDON_VERSION,
    EKS_VERSIONS,
    eks_version_problem,
    instance_type_problem,
)
from config.errors import Problems

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
AMI_ARCHITECTURE = {"AL2023_x86_64_STANDARD": "x86_64", "AL2023_ARM_64_STANDARD": "arm64"}
# EKS serviceIpv4Cidr: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, between /24 and /12 (EKS API reference,
# KubernetesNetworkConfigRequest:
# https://docs.aws.amazon.com/eks/latest/APIReference/API_KubernetesNetworkConfigRequest.html).
_PRIVATE_RANGES = tuple(ipaddress.ip_network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

# End of EKS standard support per Kubernetes minor version: the release calendar the pack reads too
# (agent_contract.eks; `aws eks describe-cluster-versions`). See docs/cluster-upgrades.md.
EKS_STANDARD_SUPPORT_ENDS = {v: row.end_of_standard_support for v, row in EKS_VERSIONS.items()}
# New clusters start on the newest version (EKS's own default), leaving the most standard support ahead.
DEFAULT_KUBERNETES_VERSION = "1.36"

# The EKS add-ons the cluster installs, pinned per Kubernetes version to versions EKS published for it, so an
# update never picks up a new add-on build nobody chose. Sources (describe-addon-versions output recorded in
# public deploys): 1.36 as resolved by a 1.36 cluster on 2026-09-16 (vpc-cni, kube-proxy, coredns) and the
# EBS CSI build pinned with 1.36; 1.35 from a 1.35 cluster's pinned set. Re-check before changing with
# `aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>`.
CLUSTER_ADDONS = ("vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver")
ADDON_VERSIONS: dict[str, dict[str, str]] = {
    "1.35": {"vpc-cni": "v1.21.1-eksbuild.3", "kube-proxy": "v1.35.0-eksbuild.2",
             "coredns": "v1.13.2-eksbuild.1", "aws-ebs-csi-driver": "v1.57.1-eksbuild.1"},
    "1.36": {"vpc-cni": "v1.22.4-eksbuild.3", "kube-proxy": "v1.36.0-eksbuild.21",
             "coredns": "v1.14.3-eksbuild.16", "aws-ebs-csi-driver": "v1.63.1-eksbuild.1"},
}


AddonName = Literal["vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver", "metrics-server"]



class Taint(Model):
    key: LabelKey = Field(examples=["dedicated"])
    value: LabelValue = ""
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"] = Field(examples=["NO_SCHEDULE"])


class NodeGroup(Model):
    instance_types: list[str] = Field(default_factory=lambda: ["m7i.large"], min_length=1,
                                      description="EC2 instance types of the group's architecture (amiType).",
                                      json_schema_extra={"allowed": "EC2 instance types (pulumi-aws's InstanceType "
                                                                    "list), Graviton only under the ARM AMI"})
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
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, description="Kubernetes labels of the nodes.")
    taints: list[Taint] = Field(default_factory=list, max_length=50)

    @field_validator("instance_types")
    @classmethod
    def _unique_types(cls, value: list[str]) -> list[str]:
        return unique(value, "instance type")

    @model_validator(mode="after")
    def _sizes(self) -> NodeGroup:
        problems = []
        if not self.min_size <= self.desired_size <= self.max_size:
            problems.append(("desiredSize", f"node group sizes must satisfy minSize <= desiredSize <= maxSize "
                                            f"(got {self.min_size} <= {self.desired_size} <= {self.max_size})"))
        arch = AMI_ARCHITECTURE[self.ami_type]
        for i, instance_type in enumerate(self.instance_types):
            problem = instance_type_problem(instance_type, arch)  # type: ignore[arg-type]
            if problem:
                problems.append((f"instanceTypes.{i}", f"{problem}; amiType is {self.ami_type}"))
        if len({(t.key, t.effect) for t in self.taints}) != len(self.taints):
            problems.append(("taints", "each key and effect may be tainted once"))
        if problems:
            raise Problems(problems)
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
    version: str = Field(default=DEFAULT_KUBERNETES_VERSION,
                         description="Kubernetes minor version; upgrade one minor version per update "
                                     "(docs/cluster-upgrades.md).",
                         json_schema_extra={"allowed": "one of " + ", ".join(EKS_VERSIONS)})
    endpoint_public_access: bool = Field(
        default=False,
        description="Off by default; turn on only with publicAccessCidrs naming the deploy runner's egress.",
    )
    public_access_cidrs: list[Cidr] = Field(
        default_factory=list, description="CIDRs allowed to reach the public API endpoint; protected tiers may not "
                                          "open it to the internet or a /1 of it.")
    service_cidr: Cidr = Field(default="172.20.0.0/16", description="Kubernetes service IP range (a private /12 to "
                                                                    "/24 outside the VPC).")
    admin_role_arns: list[RoleArn] = Field(default_factory=list, description="IAM roles with cluster admin access.")
    read_only_role_arns: list[RoleArn] = Field(default_factory=list, description="IAM roles with read-only access.")
    log_retention_days: LogRetentionDays = Field(
        default=90, description="Retention of the control plane log group (a CloudWatch Logs retention).")
    node_groups: dict[DnsName, NodeGroup] = Field(default_factory=lambda: {"general": NodeGroup()}, min_length=1)
    node_autoscaler: NodeAutoscalerConfig = Field(default_factory=NodeAutoscalerConfig)
    addon_versions: dict[AddonName, str] = Field(
        default_factory=dict,
        description="Per add-on version overrides; the others come from the pins for the Kubernetes version "
                    "(config/cluster.py ADDON_VERSIONS). Every add-on must resolve to a pinned version.",
    )
    addon_conflicts_on_update: Literal["OVERWRITE", "PRESERVE"] = Field(
        default="PRESERVE",
        description="What an add-on update does with fields changed in the cluster: PRESERVE keeps them (a hotfix "
                    "applied with kubectl survives the update); OVERWRITE resets them to EKS's defaults.",
    )

    def resolved_addon_versions(self) -> dict[str, str]:
        """The version of every add-on: a stack override, else the pin for this Kubernetes version."""
        pinned = ADDON_VERSIONS.get(self.version, {})
        return {a: v for a in CLUSTER_ADDONS if (v := self.addon_versions.get(a) or pinned.get(a))}

    @model_validator(mode="after")
    def _addons(self) -> ClusterConfig:
        missing = [a for a in CLUSTER_ADDONS if a not in self.resolved_addon_versions()]
        if missing:
            raise Problems([("addonVersions", (
                f"Kubernetes {self.version} has no pinned add-on versions for {', '.join(missing)}; set "
                f"cluster.addonVersions.<name> (aws eks describe-addon-versions --kubernetes-version "
                f"{self.version} --addon-name <name>) or use {', '.join(sorted(ADDON_VERSIONS))}"))])
        return self

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        problem = eks_version_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _unique_cidrs(cls, value: list[str]) -> list[str]:
        return unique(value, "CIDR")

    @field_validator("admin_role_arns", "read_only_role_arns")
    @classmethod
    def _unique_roles(cls, value: list[str]) -> list[str]:
        return unique(value, "role")

    @field_validator("service_cidr")
    @classmethod
    def _service_cidr(cls, value: str) -> str:
        net = ipaddress.ip_network(value)
        if not any(net.subnet_of(r) for r in _PRIVATE_RANGES if r.version == net.version) \
                or not 12 <= net.prefixlen <= 24:
            raise ValueError(f"'{value}' is not a Kubernetes service range EKS accepts: a /12 to /24 inside "
                             "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (e.g. 172.20.0.0/16)")
        return value

    @field_validator("addon_versions")
    @classmethod
    def _addon_versions(cls, value: dict[str, str]) -> dict[str, str]:
        """Names are checked by the key type (the add-ons the cluster installs); versions by EKS's shape."""
        problems = [(name, f"'{version}' is not an EKS add-on version (e.g. v1.19.2-eksbuild.1)")
                    for name, version in value.items() if not ADDON_VERSION.match(version)]
        if problems:
            raise Problems(problems)
        return value

    @model_validator(mode="after")
    def _endpoint(self) -> ClusterConfig:
        problems = []
        if self.endpoint_public_access and not self.public_access_cidrs:
            problems.append(("publicAccessCidrs", "endpointPublicAccess needs publicAccessCidrs (the deploy "
                                                  "runner's egress CIDRs, e.g. [\"203.0.113.0/24\"])"))
        total, floor = self.node_autoscaler.max_nodes_total, sum(g.min_size for g in self.node_groups.values())
        if total is not None and total < floor:
            problems.append(("nodeAutoscaler.maxNodesTotal",
                             f"{total} is below the node groups' minSize sum; use at least {floor}"))
        if problems:
            raise Problems(problems)
        return self

    @property
    def max_nodes_total(self) -> int:
        """The cluster-wide node limit the autoscaler enforces."""
        explicit = self.node_autoscaler.max_nodes_total
        return explicit if explicit is not None else sum(g.max_size for g in self.node_groups.values())

    def public_access_covers(self) -> str | None:
        """The widest network the public CIDRs cover together, when it is a /1 or larger (else None)."""
        nets = [ipaddress.ip_network(c) for c in self.public_access_cidrs]
        for family in (4, 6):
            merged = list(ipaddress.collapse_addresses(n for n in nets if n.version == family))  # type: ignore[misc]
            wide = [n for n in merged if n.prefixlen <= 1]
            if wide:
                return str(min(wide, key=lambda n: n.prefixlen))
        return None
