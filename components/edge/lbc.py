"""The AWS Load Balancer Controller, reduced to one job: keep pod IPs registered in the edge's target groups.

The program owns the ALB, its listeners and rules, the target groups, the WAF, the certificate, DNS and the
security-group rules; the controller only watches one TargetGroupBinding per routed service and registers the
Service's ready pod IPs in its `ip` target group (and sets the pods' readiness gates from target health).
So its IAM policy is the published one (docs/install/iam_policy.json at v3.5.0) cut down to:

- read-only Describe* calls, which IAM cannot scope to a resource: the TargetGroupBinding webhook and reconciler
  describe the target group, its health and the VPC (to tell in-VPC pod IPs from others);
- RegisterTargets / DeregisterTargets on the program's target groups only, by ARN.

No CreateLoadBalancer, CreateTargetGroup, listener, rule, security-group, WAF or Shield action is granted, so an
Ingress or Service of type LoadBalancer created by hand cannot make the controller build public entry points.
TargetGroupBindings carry no `networking` section: the controller then never edits security groups
(pkg/networking/networking_manager.go, ReconcileForPodEndpoints), and Pulumi owns the ALB-to-pod rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.core import iam
from components.core.irsa import OidcIssuer, service_account_role
from components.core.namespace import restricted_namespace
from components.core.registry import chart_images
from config.charts import AWS_LOAD_BALANCER_CONTROLLER
from config.edge import LoadBalancerControllerConfig
from config.image_pins import merged

CHART = "aws-load-balancer-controller"
CHART_REPO = "https://aws.github.io/eks-charts"
RELEASE_NAME = "aws-load-balancer-controller"
NAMESPACE = "aws-load-balancer-controller"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
# Ports of the controller container at chart 3.5.0 (templates/deployment.yaml, values.yaml probes).
WEBHOOK_PORT = 9443
METRICS_PORT = 8080
HEALTH_PORT = 61779
TARGET_GROUP_BINDING_API = "elbv2.k8s.aws/v1beta1"
CONTROLLER_LABELS = {"app.kubernetes.io/name": CHART, "app.kubernetes.io/instance": RELEASE_NAME}

READ_ACTIONS = (
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
)
TARGET_ACTIONS = ("elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets")

# Restricted-profile contexts, set explicitly so a chart upgrade cannot loosen them (the chart's defaults set
# neither seccomp nor dropped capabilities).
_POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
                 "seccompProfile": {"type": "RuntimeDefault"}}
_CONTAINER_SECURITY = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                       "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def controller_policy(target_group_arns: Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
    """The controller's permissions: describe, and (de)register targets in these target groups only."""
    return iam.document(
        iam.statement(READ_ACTIONS, "*", sid="DescribeOnly"),
        iam.statement(TARGET_ACTIONS, list(target_group_arns), sid="EdgeTargetGroupsOnly"),
    )


def controller_values(cfg: LoadBalancerControllerConfig, *, cluster_name: pulumi.Input[str], region: str,
                      vpc_id: pulumi.Input[str], role_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Chart values (aws/eks-charts stable/aws-load-balancer-controller 3.5.0 values.yaml keys).

    The controller image is pinned by digest (config/image_pins.py) for the pinned chart version; a stack that
    overrides the chart version runs that chart's own image, since the pinned image belongs to the pinned chart.
    """
    spread = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
              "labelSelector": {"matchLabels": CONTROLLER_LABELS}}
    pinned = cfg.chart_version == AWS_LOAD_BALANCER_CONTROLLER.version
    return merged(chart_images(CHART) if pinned else {}, {
        "clusterName": cluster_name,
        # Given explicitly: the pods need no instance metadata (IMDS hop limit 1 on the nodes).
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": cfg.replicas,
        # templates/pdb.yaml renders only with replicaCount > 1.
        "podDisruptionBudget": {"maxUnavailable": 1} if cfg.replicas > 1 else {},
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT,
                           "annotations": {"eks.amazonaws.com/role-arn": role_arn}},
        "podSecurityContext": _POD_SECURITY,
        "securityContext": _CONTAINER_SECURITY,
        "resources": {"requests": {"cpu": cfg.cpu_request, "memory": cfg.memory_request},
                      "limits": {"memory": cfg.memory_limit}},
        "topologySpreadConstraints": [spread],
        # TargetGroupBinding only: no IngressClass, no Service mutation, no WAF/Shield calls, no Service controller.
        "createIngressClassResource": False,
        "ingressClassParams": {"create": False},
        "enableServiceMutatorWebhook": False,
        "enableShield": False,
        "enableWaf": False,
        "enableWafv2": False,
        "enableBackendSecurityGroup": False,
        "enablePodReadinessGateInject": True,
        "controllerConfig": {"featureGates": {"EnableServiceController": False}},
        "serviceMonitor": {"enabled": False},
    })


class LoadBalancerController:
    """Namespace, IRSA role, network policies and the chart; ``release`` is what TargetGroupBindings wait for."""

    def __init__(self, name: str, cfg: LoadBalancerControllerConfig, *, oidc: OidcIssuer,
                 cluster_name: pulumi.Input[str], region: str, vpc_id: pulumi.Input[str],
                 target_group_arns: Sequence[pulumi.Input[str]], monitoring_namespace: str,
                 tags: Mapping[str, str], provider: k8s.Provider, ready: Sequence[pulumi.Resource],
                 parent: pulumi.Resource) -> None:
        self._name, self._provider, self._parent = name, provider, parent
        self.role: aws.iam.Role = service_account_role(
            f"{name}-role", oidc, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT, tags=tags, parent=parent,
            inline_policy=controller_policy(target_group_arns))
        namespace = restricted_namespace(f"{name}-namespace", NAMESPACE, provider=provider, parent=parent,
                                         depends_on=list(ready))
        self._network_policies(namespace, monitoring_namespace)
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=CHART,
            version=cfg.chart_version,
            repository_opts={"repo": CHART_REPO},
            namespace=NAMESPACE,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
            timeout=600,
            values=controller_values(cfg, cluster_name=cluster_name, region=region, vpc_id=vpc_id,
                                     role_arn=self.role.arn),
            opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[namespace, *ready]),
        )

    def _network_policies(self, namespace: k8s.core.v1.Namespace, monitoring_namespace: str) -> None:
        """Only the webhook and health ports from anywhere (the API server and kubelet), metrics from monitoring."""
        opts = pulumi.ResourceOptions(parent=self._parent, provider=self._provider, depends_on=[namespace])
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-default-deny",
            metadata={"name": "default-deny-ingress", "namespace": NAMESPACE},
            spec={"podSelector": {}, "policyTypes": ["Ingress"]},
            opts=opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-controller-ports",
            metadata={"name": "aws-load-balancer-controller", "namespace": NAMESPACE},
            spec={
                "podSelector": {"matchLabels": CONTROLLER_LABELS},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"ports": [{"protocol": "TCP", "port": port} for port in (WEBHOOK_PORT, HEALTH_PORT)]},
                    {"from": [{"namespaceSelector": {"matchLabels": {
                        "kubernetes.io/metadata.name": monitoring_namespace}}}],
                     "ports": [{"protocol": "TCP", "port": METRICS_PORT}]},
                ],
            },
            opts=opts,
        )

    def bind(self, resource_name: str, *, service: str, namespace: str, port: int,
             target_group_arn: pulumi.Input[str], vpc_id: pulumi.Input[str],
             depends_on: Sequence[pulumi.Resource]) -> k8s.apiextensions.CustomResource:
        """A TargetGroupBinding: the Service's ready pod IPs become the `ip` target group's targets.

        No `networking` section on purpose: the security-group rules are Pulumi's. Ordered after the release,
        which installs the CRD (chart crds/) and the webhook that validates the binding.
        """
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version=TARGET_GROUP_BINDING_API,
            kind="TargetGroupBinding",
            metadata={"name": service, "namespace": namespace,
                      "labels": {"app.kubernetes.io/name": service, "app.kubernetes.io/component": "edge-target",
                                 "app.kubernetes.io/part-of": "agent-platform"}},
            spec={"serviceRef": {"name": service, "port": port}, "targetGroupARN": target_group_arn,
                  "targetType": "ip", "ipAddressType": "ipv4", "vpcID": vpc_id},
            opts=pulumi.ResourceOptions(parent=self._parent, provider=self._provider,
                                        depends_on=[self.release, *depends_on]),
        )
