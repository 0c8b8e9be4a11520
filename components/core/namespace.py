"""Namespaces for platform workloads, enforcing the Pod Security Admission 'restricted' profile."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

PSA_LEVEL = "restricted"
# The user every pod the program defines runs as (services, the bootstrap Job): above the host's system and user
# ranges, so a container escape is not a known host user.
RUN_AS = 10001
# The load balancer controller's pod mutating webhook injects readiness gates into pods of namespaces with this
# label set to "enabled" (chart 3.5.0 templates/webhook.yaml, mpod.elbv2.k8s.aws namespaceSelector). Here because
# the namespace that carries it (services) sits below the edge that installs the controller.
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"


def kubernetes_provider(component: pulumi.Resource) -> k8s.Provider:
    """The Kubernetes provider a component was given in ``opts.providers`` (the one way providers arrive)."""
    provider = component.get_provider("kubernetes::")
    if not isinstance(provider, k8s.Provider):
        raise ValueError(f"{type(component).__name__} needs opts=ResourceOptions(providers={{'kubernetes': ...}})")
    return provider


def restricted_namespace(
    resource_name: str,
    namespace: str,
    *,
    provider: k8s.Provider,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
    labels: Mapping[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        resource_name,
        metadata={
            "name": namespace,
            "labels": {
                "pod-security.kubernetes.io/enforce": PSA_LEVEL,
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": PSA_LEVEL,
                "pod-security.kubernetes.io/audit": PSA_LEVEL,
                "app.kubernetes.io/part-of": "agent-platform",
                **(labels or {}),
            },
        },
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on or []),
    )
