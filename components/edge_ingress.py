"""ingress-nginx behind the ALB: what the seeds' nginx did, as chart values and per-route Ingress annotations.

TLS ends at the load balancer, which forwards plain HTTP to a fixed NodePort. Consequences handled here:
- nginx trusts X-Forwarded-For only from inside the VPC, so rate limits key on the real client address;
- HSTS is sent through add-headers, because ingress-nginx's own `hsts` option only fires on servers that
  terminate TLS themselves (it is turned off so the header is never doubled);
- nginx keeps idle client connections longer than the ALB does, so the ALB never reuses a connection
  nginx is closing (which would surface as 502s);
- rate-limited requests get 429, not ingress-nginx's default 503.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.namespace import restricted_namespace
from components.nginx_shared import (
    HEALTH_BODY_SIZE,
    access_log_format,
    client_keepalive_seconds,
    worker_shutdown_seconds,
)
from config.edge import EdgeConfig, RateLimit, Route
from config.services import INGRESS_NAMESPACE, SERVICES_NAMESPACE

CHART = "ingress-nginx"
CHART_REPO = "https://kubernetes.github.io/ingress-nginx"
RELEASE_NAME = "ingress-nginx"
INGRESS_CLASS = "nginx"
HEALTHZ_PATH = "/healthz"  # answered by the controller's default server on the HTTP port
ANNOTATION = "nginx.ingress.kubernetes.io/"
METRICS_PORT = 10254
WEBHOOK_PORT = 8443
CONTROLLER_LABELS = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/instance": RELEASE_NAME,
    "app.kubernetes.io/component": "controller",
}


# Restricted-profile security contexts, set explicitly so a chart upgrade cannot loosen them. The controller
# keeps NET_BIND_SERVICE (the one capability the restricted profile allows) to bind port 80 as user 101.
_CONTROLLER_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 101,
    "runAsGroup": 82,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": False,
    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
_JOB_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "runAsGroup": 65532,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
_NON_ROOT_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def _spread(topology_key: str) -> dict[str, Any]:
    return {"maxSkew": 1, "topologyKey": topology_key, "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": CONTROLLER_LABELS}}


def controller_config(cfg: EdgeConfig, vpc_cidr: str) -> dict[str, str]:
    """The controller ConfigMap: defaults for every route, and how nginx sits behind the ALB."""
    proxy = cfg.proxy
    return {
        "use-forwarded-headers": "true",
        "compute-full-forwarded-for": "true",
        "forwarded-for-header": "X-Forwarded-For",
        "proxy-real-ip-cidr": vpc_cidr,
        "hsts": "false",
        "ssl-redirect": "false",
        "force-ssl-redirect": "false",
        "server-tokens": "false",
        "hide-headers": "X-Powered-By",
        "keep-alive": str(client_keepalive_seconds(cfg)),
        "keep-alive-requests": "10000",
        "proxy-connect-timeout": str(proxy.connect_timeout_seconds),
        "proxy-read-timeout": str(proxy.read_timeout_seconds),
        "proxy-send-timeout": str(proxy.send_timeout_seconds),
        "proxy-body-size": proxy.max_body_size,
        "proxy-buffering": "off",
        "limit-req-status-code": "429",
        "limit-conn-status-code": "429",
        "worker-shutdown-timeout": f"{worker_shutdown_seconds(cfg)}s",
        "log-format-escape-json": "true",
        "log-format-upstream": access_log_format(),
    }


def controller_values(cfg: EdgeConfig, *, vpc_cidr: str, status_address: pulumi.Input[str]) -> dict[str, Any]:
    """Chart values for ingress-nginx as the edge's router (pinned chart, restricted pod security)."""
    ctl = cfg.controller
    autoscale = ctl.max_replicas > ctl.replicas
    return {
        "controller": {
            "kind": "Deployment",
            "replicaCount": ctl.replicas,
            "minAvailable": 1,
            "autoscaling": {"enabled": autoscale, "minReplicas": ctl.replicas, "maxReplicas": ctl.max_replicas,
                            "targetCPUUtilizationPercentage": 70},
            "ingressClass": INGRESS_CLASS,
            "ingressClassResource": {"name": INGRESS_CLASS, "enabled": True, "default": False,
                                     "controllerValue": "k8s.io/ingress-nginx"},
            "watchIngressWithoutClass": False,
            "allowSnippetAnnotations": False,
            "config": controller_config(cfg, vpc_cidr),
            "addHeaders": cfg.headers.rendered(),
            "service": {
                "type": "NodePort",
                "enableHttp": True,
                "enableHttps": False,
                "externalTrafficPolicy": "Cluster",
                "nodePorts": {"http": ctl.node_port},
            },
            # Ingress status shows the ALB's name (the Service has no external address of its own).
            "publishService": {"enabled": False},
            "extraArgs": {"publish-status-address": status_address},
            "containerSecurityContext": _CONTROLLER_CONTAINER,
            "podSecurityContext": _NON_ROOT_POD,
            "resources": {"requests": {"cpu": ctl.cpu_request, "memory": ctl.memory_request},
                          "limits": {"memory": ctl.memory_limit}},
            "topologySpreadConstraints": [_spread("topology.kubernetes.io/zone"), _spread("kubernetes.io/hostname")],
            # In-flight LLM calls finish before the pod goes away.
            "terminationGracePeriodSeconds": cfg.proxy.read_timeout_seconds + 30,
            "metrics": {"enabled": True, "port": METRICS_PORT},
            "admissionWebhooks": {
                "enabled": True,
                "port": WEBHOOK_PORT,
                "patch": {"securityContext": _NON_ROOT_POD},
                "createSecretJob": {"securityContext": _JOB_CONTAINER},
                "patchWebhookJob": {"securityContext": _JOB_CONTAINER},
            },
        },
        "defaultBackend": {"enabled": False},
    }


def _limit_annotations(limit: RateLimit) -> dict[str, str]:
    key = "limit-rps" if limit.per == "second" else "limit-rpm"
    out = {ANNOTATION + key: str(limit.requests),
           ANNOTATION + "limit-burst-multiplier": str(limit.burst_multiplier)}
    if limit.connections is not None:
        out[ANNOTATION + "limit-connections"] = str(limit.connections)
    return out


def route_annotations(route: Route, cfg: EdgeConfig) -> dict[str, str]:
    """A route's nginx behaviour: per-client rate limit, long timeouts for LLM calls, body limit, streaming."""
    proxy = cfg.proxy
    return {
        **_limit_annotations(route.rate_limit),
        ANNOTATION + "proxy-connect-timeout": str(proxy.connect_timeout_seconds),
        ANNOTATION + "proxy-read-timeout": str(proxy.read_timeout_seconds),
        ANNOTATION + "proxy-send-timeout": str(proxy.send_timeout_seconds),
        ANNOTATION + "proxy-body-size": route.max_body_size,
        ANNOTATION + "proxy-buffering": "off",
    }


def health_annotations(cfg: EdgeConfig) -> dict[str, str]:
    """The health route: no rate limit (monitors must always get through), short timeouts, no access log."""
    timeout = str(cfg.proxy.health_timeout_seconds)
    return {
        ANNOTATION + "proxy-connect-timeout": timeout,
        ANNOTATION + "proxy-read-timeout": timeout,
        ANNOTATION + "proxy-send-timeout": timeout,
        ANNOTATION + "proxy-body-size": HEALTH_BODY_SIZE,
        ANNOTATION + "enable-access-log": "false",
    }


def _ingress_spec(route: Route, path: str, path_type: str) -> dict[str, Any]:
    return {
        "ingressClassName": INGRESS_CLASS,
        "rules": [{"host": route.host, "http": {"paths": [{
            "path": path,
            "pathType": path_type,
            "backend": {"service": {"name": route.service, "port": {"number": route.port}}},
        }]}}],
    }


def _labels(route: Route) -> dict[str, str]:
    return {"app.kubernetes.io/name": route.service, "app.kubernetes.io/component": "route",
            "app.kubernetes.io/part-of": "agent-platform"}


class IngressController:
    """Installs the controller in its own namespace and declares one pair of Ingresses per route."""

    def __init__(
        self,
        name: str,
        cfg: EdgeConfig,
        *,
        vpc_cidr: str,
        status_address: pulumi.Input[str],
        provider: k8s.Provider,
        ready: Sequence[pulumi.Resource],
        parent: pulumi.Resource,
    ) -> None:
        self._name = name
        self._cfg = cfg
        self._provider = provider
        self._parent = parent
        namespace = restricted_namespace(f"{name}-namespace", INGRESS_NAMESPACE, provider=provider, parent=parent,
                                         depends_on=list(ready))
        self._network_policies(namespace)
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            name=RELEASE_NAME,
            chart=CHART,
            version=cfg.controller.chart_version,
            repository_opts={"repo": CHART_REPO},
            namespace=INGRESS_NAMESPACE,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
            timeout=600,
            values=controller_values(cfg, vpc_cidr=vpc_cidr, status_address=status_address),
            opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[namespace, *ready]),
        )

    def _network_policies(self, namespace: k8s.core.v1.Namespace) -> None:
        """Nothing in the namespace accepts traffic except the controller, and only on its own ports."""
        opts = pulumi.ResourceOptions(parent=self._parent, provider=self._provider, depends_on=[namespace])
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-default-deny",
            metadata={"name": "default-deny-ingress", "namespace": INGRESS_NAMESPACE},
            spec={"podSelector": {}, "policyTypes": ["Ingress"]},
            opts=opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-controller-ports",
            metadata={"name": "ingress-nginx-controller", "namespace": INGRESS_NAMESPACE},
            spec={
                "podSelector": {"matchLabels": CONTROLLER_LABELS},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": [{"protocol": "TCP", "port": port}
                                       for port in (80, METRICS_PORT, WEBHOOK_PORT)]}],
            },
            opts=opts,
        )

    def route(self, route: Route, depends_on: Sequence[pulumi.Resource]) -> list[k8s.networking.v1.Ingress]:
        """The service's Ingress (rate limited) and its health Ingress (exact path, not rate limited)."""
        opts = pulumi.ResourceOptions(parent=self._parent, provider=self._provider,
                                      depends_on=[self.release, *depends_on])
        main = k8s.networking.v1.Ingress(
            f"{self._name}-{route.service}",
            metadata={"name": route.service, "namespace": SERVICES_NAMESPACE, "labels": _labels(route),
                      "annotations": route_annotations(route, self._cfg)},
            spec=_ingress_spec(route, route.path, "Prefix"),
            opts=opts,
        )
        health = k8s.networking.v1.Ingress(
            f"{self._name}-{route.service}-health",
            metadata={"name": f"{route.service}-health", "namespace": SERVICES_NAMESPACE, "labels": _labels(route),
                      "annotations": health_annotations(self._cfg)},
            spec=_ingress_spec(route, route.health_path, "Exact"),
            opts=opts,
        )
        return [main, health]
