"""NodeAutoscaler: the Cluster Autoscaler, so the managed node groups grow and shrink with the pods they must hold.

Why the Cluster Autoscaler and not Karpenter (docs/kubernetes.md): the cluster already runs EKS managed node
groups, whose Auto Scaling groups EKS tags for the autoscaler's auto-discovery; the Cluster Autoscaler works
within each group's minSize/maxSize (the limits the stack config already states) and needs one IAM role and
one Deployment. Karpenter would replace the node groups with NodePools, an interruption queue and its own
instance role: a larger change of the node lifecycle than a capacity fix calls for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.core import iam
from components.core.context import StackContext
from components.core.irsa import OidcIssuer, service_account_role
from components.core.namespace import kubernetes_provider
from components.core.registry import chart_images
from config.charts import CLUSTER_AUTOSCALER
from config.cluster import ClusterConfig
from config.image_pins import merged

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
# Tags EKS puts on every managed node group's Auto Scaling group (EKS user guide, managed-node-groups: "Amazon
# EKS tags managed node group resources so that they are configured to use the Cluster Autoscaler"); the
# cluster tag's value is "owned" (EKS user guide, cluster-autoscaler IAM policy condition).
ENABLED_TAG = "k8s.io/cluster-autoscaler/enabled"
CLUSTER_TAG_PREFIX = "k8s.io/cluster-autoscaler/"

_NON_ROOT_POD = {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                 "seccompProfile": {"type": "RuntimeDefault"}}
_HARDENED_CONTAINER = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                       "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


@dataclass(frozen=True)
class NodeAutoscalerArgs:
    """The cluster's name, OIDC issuer and readiness, and its config section; the provider comes in opts."""

    config: ClusterConfig
    context: StackContext
    cluster_name: pulumi.Input[str]
    oidc: OidcIssuer
    node_groups: list[aws.eks.NodeGroup]
    ready: list[pulumi.Resource]


def autoscaler_policy(cluster_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """Cluster Autoscaler's IAM policy with auto-discovery, writes limited to this cluster's groups.

    Actions: kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md at cluster-autoscaler-1.34.2 (the same
    list at 1.36.1),
    "Full Cluster Autoscaler Features Policy". The Describe/Get actions have no resource-level permissions.
    """
    owned = pulumi.Output.from_input(cluster_name).apply(
        lambda name: {"StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG_PREFIX}{name}": "owned"}})
    return iam.document(
        iam.statement(["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                       "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                       "ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
                       "ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup"],
                      ["*"], sid="DiscoverNodeGroups"),
        iam.statement(["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                      ["*"], sid="ScaleThisClustersNodeGroups", condition=owned),
    )


def autoscaler_values(cfg: ClusterConfig, *, cluster_name: pulumi.Input[str], region: str,
                      role_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Chart values; keys from cluster-autoscaler/charts/cluster-autoscaler/values.yaml at chart 9.59.0. The image runs
    by digest (config/image_pins.py), not by the chart's own tag."""
    auto = cfg.node_autoscaler
    return merged(chart_images(CLUSTER_AUTOSCALER.name), {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "rbac": {"create": True, "serviceAccount": {
            "create": True, "name": SERVICE_ACCOUNT,
            "annotations": {"eks.amazonaws.com/role-arn": role_arn,
                            "eks.amazonaws.com/sts-regional-endpoints": "true"}}},
        "extraArgs": {
            "logtostderr": True,
            "stderrthreshold": "info",
            "v": 2,
            "expander": auto.expander,
            # Node groups spread over the same zones are one pool: scale-ups stay balanced across zones, which the
            # services' zone spread with DoNotSchedule needs.
            "balance-similar-node-groups": True,
            "max-nodes-total": cfg.max_nodes_total,
            "scale-down-utilization-threshold": auto.scale_down_utilization_threshold,
            "scale-down-unneeded-time": f"{auto.scale_down_unneeded_minutes}m",
            "skip-nodes-with-local-storage": False,
        },
        "replicaCount": 1,  # one active instance: the autoscaler elects a leader, a second replica only idles
        "priorityClassName": "system-cluster-critical",
        "podDisruptionBudget": {"maxUnavailable": 1},
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
        "securityContext": _NON_ROOT_POD,
        "containerSecurityContext": _HARDENED_CONTAINER,
        "serviceMonitor": {"enabled": False},
    })


class NodeAutoscaler(pulumi.ComponentResource):
    """The Cluster Autoscaler's IRSA role and Helm release in ``kube-system``."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: NodeAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:cluster:NodeAutoscaler", name, None, opts)
        tags = args.context.tags("cluster")
        role = service_account_role(
            f"{name}-role", args.oidc, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, tags=tags,
            parent=self, inline_policy=autoscaler_policy(args.cluster_name))
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=CLUSTER_AUTOSCALER.name,
            chart=CLUSTER_AUTOSCALER.name,
            version=CLUSTER_AUTOSCALER.version,
            repository_opts={"repo": CLUSTER_AUTOSCALER.repo},
            namespace=NAMESPACE,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
            timeout=600,
            values=autoscaler_values(args.config, cluster_name=args.cluster_name, region=args.context.region,
                                     role_arn=role.arn),
            opts=pulumi.ResourceOptions(parent=self, provider=kubernetes_provider(self),
                                        depends_on=[*args.node_groups, *args.ready]),
        )
        self.register_outputs({"role_arn": role.arn})
