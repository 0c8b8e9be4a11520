"""The Kubernetes shape of one agent service, as plain specs built from its config.

Kept apart from the component so each rule (security context, probes, spread, scaling, traffic) reads
as data and can be reviewed against the policies that check it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from agent_contract.tags import KUBERNETES_API_ANNOTATION

from components.services.contract import RUN_AS, SECRETS_DIR, ServiceDataRefs
from config.services import ServiceConfig

APP_CONTAINER = "app"
HTTP_PORT_NAME = "http"
STARTUP_PERIOD_SECONDS = 5
ANYWHERE = "0.0.0.0/0"

# Scale up fast (double, or +4 pods, every 15 s) and down slowly (10 % a minute after 5 min calm):
# the behaviour the seed deployments give their HPAs, so bursts of agent traffic are absorbed at once.
SCALING_BEHAVIOR: dict[str, Any] = {
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
    },
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                     {"type": "Pods", "value": 4, "periodSeconds": 15}],
        "selectPolicy": "Max",
    },
}


def selector(name: str) -> dict[str, str]:
    """The one label that identifies a service's pods (Service, PDB, NetworkPolicy and ServiceMonitor use it)."""
    return {"app.kubernetes.io/name": name}


def labels(name: str, cfg: ServiceConfig, environment: str) -> dict[str, str]:
    return {
        **selector(name),
        "app.kubernetes.io/component": cfg.kind,
        "app.kubernetes.io/part-of": "agent-platform",
        "app.kubernetes.io/managed-by": "pulumi",
        "agent-platform/environment": environment,
    }


def secret_name(name: str) -> str:
    """The Kubernetes Secret External Secrets Operator writes for a service."""
    return f"{name}-secrets"


def config_map_name(name: str) -> str:
    return f"{name}-config"


def service_url(name: str, namespace: str, port: int) -> str:
    return f"http://{name}.{namespace}.svc.cluster.local:{port}"


def _http_get(path: str) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": HTTP_PORT_NAME, "scheme": "HTTP"}}


def container_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,  # group-readable secret files and the IRSA token for a non-root user
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _resources(cfg: ServiceConfig) -> dict[str, Any]:
    limits = {"memory": cfg.resources.memory_limit}
    if cfg.resources.cpu_limit is not None:
        limits["cpu"] = cfg.resources.cpu_limit
    return {"requests": {"cpu": cfg.resources.cpu_request, "memory": cfg.resources.memory_request},
            "limits": limits}


def container(name: str, cfg: ServiceConfig, image: pulumi.Input[str]) -> dict[str, Any]:
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if cfg.secrets:
        mounts.append({"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True})
    spec: dict[str, Any] = {
        "name": APP_CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": HTTP_PORT_NAME, "containerPort": cfg.port, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": config_map_name(name)}}],
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ],
        "resources": _resources(cfg),
        "securityContext": container_security_context(),
        "startupProbe": {
            **_http_get(cfg.probes.startup_path),
            "periodSeconds": STARTUP_PERIOD_SECONDS,
            "timeoutSeconds": 3,
            "failureThreshold": math.ceil(cfg.probes.startup_timeout_seconds / STARTUP_PERIOD_SECONDS),
        },
        "livenessProbe": {**_http_get(cfg.probes.liveness_path), "periodSeconds": 10, "timeoutSeconds": 3,
                          "failureThreshold": 3},
        "readinessProbe": {**_http_get(cfg.probes.readiness_path), "periodSeconds": 5, "timeoutSeconds": 3,
                           "failureThreshold": 3, "successThreshold": 1},
        "volumeMounts": mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if cfg.pre_stop_delay_seconds:
        # The sleep handler needs no shell or binary in the image (distroless images have neither).
        spec["lifecycle"] = {"preStop": {"sleep": {"seconds": cfg.pre_stop_delay_seconds}}}
    return spec


def pod_spec(name: str, cfg: ServiceConfig, image: pulumi.Input[str], *, strict_zone_spread: bool) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": cfg.tmp_size_limit}}]
    if cfg.secrets:
        volumes.append({"name": "secrets", "secret": {"secretName": secret_name(name), "defaultMode": 0o440}})
    spread = {"labelSelector": {"matchLabels": selector(name)}, "matchLabelKeys": ["pod-template-hash"], "maxSkew": 1}
    return {
        "serviceAccountName": name,
        # The EKS pod identity webhook projects its own STS-audience token, so IRSA works without this one.
        "automountServiceAccountToken": cfg.kubernetes_api_access,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": cfg.termination_grace_period_seconds,
        "topologySpreadConstraints": [
            {**spread, "topologyKey": "topology.kubernetes.io/zone",
             "whenUnsatisfiable": "DoNotSchedule" if strict_zone_spread else "ScheduleAnyway"},
            {**spread, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"},
        ],
        "containers": [container(name, cfg, image)],
        "volumes": volumes,
    }


def pod_annotations(cfg: ServiceConfig, config_checksum: pulumi.Input[str]) -> dict[str, Any]:
    annotations: dict[str, Any] = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(cfg.port),
        "prometheus.io/path": cfg.metrics_path,
        # Pods roll when their ConfigMap changes; without this they would keep the old environment.
        "agent-platform/config-checksum": config_checksum,
    }
    if cfg.kubernetes_api_access:
        annotations[KUBERNETES_API_ANNOTATION] = "true"
    return annotations


def deployment_spec(
    name: str, cfg: ServiceConfig, image: pulumi.Input[str], *, environment: str, strict_zone_spread: bool,
    config_checksum: pulumi.Input[str],
) -> dict[str, Any]:
    return {
        "replicas": cfg.replicas,
        "revisionHistoryLimit": 5,
        "progressDeadlineSeconds": 600,
        "selector": {"matchLabels": selector(name)},
        # Never below the current capacity during a rollout: new pods become ready before old ones stop.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
        "template": {
            "metadata": {"labels": labels(name, cfg, environment),
                         "annotations": pod_annotations(cfg, config_checksum)},
            "spec": pod_spec(name, cfg, image, strict_zone_spread=strict_zone_spread),
        },
    }


def service_spec(name: str, cfg: ServiceConfig) -> dict[str, Any]:
    return {
        "type": "ClusterIP",
        "selector": selector(name),
        "ports": [{"name": HTTP_PORT_NAME, "port": cfg.port, "targetPort": HTTP_PORT_NAME, "protocol": "TCP",
                   "appProtocol": "http"}],
    }


def _target(name: str) -> dict[str, str]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}


def hpa_spec(name: str, cfg: ServiceConfig) -> dict[str, Any]:
    def utilization(resource: str, percent: int) -> dict[str, Any]:
        return {"type": "Resource", "resource": {"name": resource, "target": {"type": "Utilization",
                                                                              "averageUtilization": percent}}}

    return {
        "scaleTargetRef": _target(name),
        "minReplicas": cfg.min_replicas,
        "maxReplicas": cfg.max_replicas,
        "metrics": [utilization("cpu", cfg.hpa.cpu_utilization), utilization("memory", cfg.hpa.memory_utilization)],
        "behavior": SCALING_BEHAVIOR,
    }


def trigger_auth_name(name: str) -> str:
    return f"{name}-redis"


def scaled_object_spec(name: str, cfg: ServiceConfig, *, redis_address: pulumi.Input[str]) -> dict[str, Any]:
    """KEDA scales the worker on pending items in its Redis list, with the same HPA behaviour as the APIs."""
    assert cfg.queue is not None
    queue = cfg.queue
    return {
        "scaleTargetRef": _target(name),
        "minReplicaCount": cfg.min_replicas,
        "maxReplicaCount": cfg.max_replicas,
        "pollingInterval": queue.polling_interval_seconds,
        "cooldownPeriod": queue.cooldown_period_seconds,
        # If Redis cannot be read, hold the configured size instead of collapsing to the minimum.
        "fallback": {"failureThreshold": 3, "replicas": cfg.replicas},
        "advanced": {"horizontalPodAutoscalerConfig": {"name": f"{name}-keda", "behavior": SCALING_BEHAVIOR}},
        "triggers": [{
            "type": "redis",
            "name": "queue-depth",
            "metadata": {
                "address": redis_address,
                "listName": queue.list_name,
                "listLength": str(queue.list_length),
                "databaseIndex": str(queue.database_index),
                "enableTLS": "true",
            },
            "authenticationRef": {"name": trigger_auth_name(name)},
        }],
    }


def trigger_auth_spec(name: str) -> dict[str, Any]:
    """KEDA reads the Redis AUTH token from the Secret ESO materialised: no secret value in this manifest."""
    return {"secretTargetRef": [{"parameter": "password", "name": secret_name(name), "key": "redis"}]}


def pdb_spec(name: str) -> dict[str, Any]:
    return {
        "maxUnavailable": 1,
        "selector": {"matchLabels": selector(name)},
        # A crash-looping pod must not block node drains and upgrades.
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }


def _from_namespace(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def _tcp(*ports: pulumi.Input[int]) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def vector_store_egress(data: ServiceDataRefs) -> dict[str, Any] | None:
    """The egress rule to a dedicated vector store's pods (its REST and gRPC ports), or None on pgvector."""
    store, peer = data.vector_store, data.vector_store_peer
    if store is None or peer is None or peer.namespace is None:
        return None
    return {"to": [{**_from_namespace(peer.namespace), "podSelector": {"matchLabels": dict(peer.pod_labels or {})}}],
            "ports": _tcp(store.port, store.grpc_port)}


def network_policy_spec(
    name: str,
    cfg: ServiceConfig,
    *,
    edge_cidrs: Sequence[str],
    monitoring_namespace: str,
    callers: Sequence[str],
    callees: Mapping[str, int],
    data_cidrs: Sequence[str],
    postgres_port: pulumi.Input[int],
    redis_port: pulumi.Input[int],
    vector_store: dict[str, Any] | None = None,
    mongodb_port: pulumi.Input[int] | None = None,
) -> dict[str, Any]:
    """Exactly the traffic a service needs; the namespace's default-deny drops everything else.

    ``mongodb_port``: the document store's port, for a service that mounts its credentials (else None)."""
    ingress = [{"from": [_from_namespace(monitoring_namespace)], "ports": _tcp(cfg.port)}]
    if cfg.kind == "api" and edge_cidrs:
        # The ALB sends straight to pod IPs (`ip` target groups), from its nodes in the public subnets.
        ingress.insert(0, {"from": [{"ipBlock": {"cidr": cidr}} for cidr in edge_cidrs], "ports": _tcp(cfg.port)})
    if callers:
        ingress.append({"from": [{"podSelector": {"matchLabels": selector(c)}} for c in callers],
                        "ports": _tcp(cfg.port)})
    dns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    egress: list[dict[str, Any]] = [
        {"to": [dns], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"to": [{"ipBlock": {"cidr": cidr}} for cidr in data_cidrs],
         "ports": _tcp(postgres_port, redis_port, *([mongodb_port] if mongodb_port is not None else []))},
        # LLM provider APIs, AWS APIs (STS for IRSA, S3) and the VPC's interface endpoints all listen on 443.
        {"to": [{"ipBlock": {"cidr": ANYWHERE}}], "ports": _tcp(443)},
    ]
    for callee, port in callees.items():
        egress.append({"to": [{"podSelector": {"matchLabels": selector(callee)}}], "ports": _tcp(port)})
    if vector_store is not None:
        egress.append(vector_store)
    return {
        "podSelector": {"matchLabels": selector(name)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": ingress,
        "egress": egress,
    }
