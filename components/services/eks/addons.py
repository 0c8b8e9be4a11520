"""Cluster-wide pieces every agent service relies on: its namespace, secrets delivery, queue autoscaling.

External Secrets Operator turns Secrets Manager entries into Kubernetes Secrets at runtime, so no secret
value ever passes through a Pulumi-managed manifest. KEDA scales queue workers on Redis list length.
Neither controller gets an AWS role: every SecretStore authenticates as the service's own service
account (its IRSA role), and the Redis scaler talks to Redis only, so the operators hold no AWS access
that one service's compromise could widen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.core import kms
from components.core.context import StackContext
from components.core.namespace import READINESS_GATE_LABEL, kubernetes_provider, restricted_namespace
from components.core.registry import chart_images
from config.charts import EXTERNAL_SECRETS, KEDA
from config.image_pins import merged
from config.services import MONITORING_NAMESPACE, SERVICES_NAMESPACE

EXTERNAL_SECRETS_CHART = EXTERNAL_SECRETS.name
EXTERNAL_SECRETS_VERSION = EXTERNAL_SECRETS.version
EXTERNAL_SECRETS_REPO = EXTERNAL_SECRETS.repo
EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
KEDA_CHART = KEDA.name
KEDA_VERSION = KEDA.version
KEDA_REPO = KEDA.repo
KEDA_NAMESPACE = "keda"
# Ports the API server calls. ESO: the webhook (chart values webhook.port, 10250). KEDA: the metrics API server
# (service.portHttpsTarget, 6443) and the admission webhooks (templates/webhooks/deployment.yaml, 9443 by default).
EXTERNAL_SECRETS_PORTS = (10250,)
KEDA_PORTS = (6443, 9443)

_HARDENED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
_NON_ROOT_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


@dataclass(frozen=True)
class ServicePlatformArgs:
    """The stack context and what must exist first (``Cluster.ready``); the cluster's provider comes in opts."""

    context: StackContext
    ready: Sequence[pulumi.Resource]
    namespace: str = SERVICES_NAMESPACE
    # The load balancer controller's webhook adds target-health readiness gates to this namespace's pods.
    pod_readiness_gates: bool = False


class ServicePlatform(pulumi.ComponentResource):
    """The ``agents`` namespace (PSA restricted, default-deny), ESO, KEDA and the CMK for image repositories."""

    namespace: str
    namespace_resource: k8s.core.v1.Namespace
    external_secrets: k8s.helm.v3.Release
    keda: k8s.helm.v3.Release
    ecr_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ServicePlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:services:ServicePlatform", name, None, opts)
        context = args.context
        ready = list(args.ready)
        ha = context.protected_tier
        self._provider = provider = kubernetes_provider(self)  # the cluster's, from opts.providers

        self.namespace = args.namespace
        self.namespace_resource = restricted_namespace(
            f"{name}-namespace", args.namespace, provider=provider, parent=self, depends_on=ready,
            labels={"agent-platform/workloads": "agent-services",
                    **({READINESS_GATE_LABEL: "enabled"} if args.pod_readiness_gates else {})})
        # Everything in the namespace starts isolated; each service's own policy opens only what it needs.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny",
            metadata={"name": "default-deny-all", "namespace": args.namespace},
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[self.namespace_resource]),
        )

        ecr_key = kms.customer_key(
            f"{name}-ecr-key", "ecr", account_id=context.account_id, partition=context.partition,
            tags=context.tags("services"), protect=context.protect, parent=self)
        self.ecr_key_arn = ecr_key.arn

        self.external_secrets = self._release(
            f"{name}-external-secrets", EXTERNAL_SECRETS_CHART, EXTERNAL_SECRETS_VERSION, EXTERNAL_SECRETS_REPO,
            EXTERNAL_SECRETS_NAMESPACE, _external_secrets_values(ha), ready, api_server_ports=EXTERNAL_SECRETS_PORTS)
        self.keda = self._release(
            f"{name}-keda", KEDA_CHART, KEDA_VERSION, KEDA_REPO, KEDA_NAMESPACE, _keda_values(ha), ready,
            api_server_ports=KEDA_PORTS)

        self.register_outputs({"namespace": self.namespace, "ecr_key_arn": self.ecr_key_arn})

    def _release(self, resource_name: str, chart: str, version: str, repo: str, namespace: str,
                 values: dict[str, Any], ready: list[pulumi.Resource], *,
                 api_server_ports: Sequence[int]) -> k8s.helm.v3.Release:
        ns = restricted_namespace(f"{resource_name}-namespace", namespace, provider=self._provider, parent=self,
                                  depends_on=ready)
        k8s.networking.v1.NetworkPolicy(
            f"{resource_name}-ingress",
            metadata={"name": f"{namespace}-ingress", "namespace": namespace},
            spec=operator_ingress_spec(api_server_ports),
            opts=pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=[ns]))
        return k8s.helm.v3.Release(
            resource_name,
            name=chart,
            chart=chart,
            version=version,
            repository_opts={"repo": repo},
            namespace=namespace,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
            timeout=600,
            values=values,
            opts=pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=[ns, *ready]),
        )


def operator_ingress_spec(api_server_ports: Sequence[int]) -> dict[str, Any]:
    """Ingress to an operator's namespace: its own pods, Prometheus from ``monitoring``, and the ports the API
    server calls (webhooks, the external-metrics API). The control plane's ENIs have no pod labels, so those
    ports are open by port only, as in the ``monitoring`` namespace."""
    return {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"podSelector": {}}]},
            {"from": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}]},
            {"ports": [{"protocol": "TCP", "port": port} for port in api_server_ports]},
        ],
    }


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def _external_secrets_values(ha: bool) -> dict[str, Any]:
    """Chart values: CRDs installed by the chart; two replicas with leader election in protected tiers."""
    replicas = 2 if ha else 1
    pdb = {"enabled": ha, "minAvailable": 1}
    # The three deployments' images by the digest the registry serves for v2.9.0 (config/image_pins.py UNPINNED).
    return merged(chart_images(EXTERNAL_SECRETS_CHART), {
        "installCRDs": True,
        "replicaCount": replicas,
        "leaderElect": ha,
        "podDisruptionBudget": pdb,
        "resources": _resources("50m", "128Mi", "256Mi"),
        "podSecurityContext": {"enabled": True, **_NON_ROOT_POD},
        "securityContext": {"enabled": True, "runAsNonRoot": True, **_HARDENED_CONTAINER},
        "webhook": {"replicaCount": replicas, "podDisruptionBudget": pdb,
                    "resources": _resources("20m", "64Mi", "128Mi")},
        "certController": {"resources": _resources("20m", "64Mi", "128Mi")},
    })


def _keda_values(ha: bool) -> dict[str, Any]:
    """Chart values: explicit hardened security contexts (the metrics server writes its serving cert); the three
    images by digest (config/image_pins.py)."""
    replicas = 2 if ha else 1
    metrics_server_container = {k: v for k, v in _HARDENED_CONTAINER.items() if k != "readOnlyRootFilesystem"}
    values: dict[str, Any] = {
        "crds": {"install": True},
        "operator": {"replicaCount": replicas},
        "metricsServer": {"replicaCount": replicas},
        "webhooks": {"replicaCount": replicas},
        "resources": {
            "operator": _resources("100m", "128Mi", "512Mi"),
            "metricServer": _resources("50m", "128Mi", "512Mi"),
            "webhooks": _resources("20m", "64Mi", "128Mi"),
        },
        "securityContext": {
            "operator": _HARDENED_CONTAINER,
            "metricServer": metrics_server_container,
            "webhooks": _HARDENED_CONTAINER,
        },
        "podSecurityContext": {"operator": _NON_ROOT_POD, "metricServer": _NON_ROOT_POD, "webhooks": _NON_ROOT_POD},
        "logging": {"operator": {"format": "json"}, "webhooks": {"format": "json"}},
    }
    if ha:
        values["podDisruptionBudget"] = {part: {"minAvailable": 1} for part in ("operator", "metricServer", "webhooks")}
    return merged(chart_images(KEDA_CHART), values)
