"""The Redis exporter as plain Kubernetes objects, so its image runs by digest.

The prometheus-redis-exporter chart (6.20.0 and every release up to 6.29.0) templates ``image.tag`` into the
``app.kubernetes.io/version`` label (templates/_helpers.tpl) and has no digest key: a ``<tag>@sha256:...`` tag is an
invalid label value the API server rejects. These objects mirror what the chart rendered with the program's values
(templates/{deployment,service,servicemonitor}.yaml at tag prometheus-redis-exporter-6.20.0): the same container
name, port names and numbers, probes, environment and Secret wiring, pod hardening and resources. Dropped: the
chart's Role and RoleBinding (empty with ``rbac.pspEnabled: false``); the service account no longer mounts a token
(the exporter never calls the API server).

The object names differ from the chart's (``redis-exporter-prometheus-redis-exporter``): the provider upserts under
server-side apply, and the Helm release, deleted at the end of the same update, would then delete same-named objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from config.image_pins import REDIS_EXPORTER_IMAGE

NAME = "redis-exporter"
PORT = 9121  # the chart's service.port and containerPort
PORT_NAME = "redis-exporter"  # the chart's service.portName, which its ServiceMonitor scrapes
CONTAINER_PORT_NAME = "exporter-port"
SELECTOR = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}


def redis_exporter(name: str, *, namespace: str, host: pulumi.Input[str], port: pulumi.Input[int],
                   password_secret: str, scrape_interval_seconds: int, labels: Mapping[str, str],
                   pod_security: dict[str, Any], container_security: dict[str, Any], resources: dict[str, Any],
                   monitor_api: str, opts: pulumi.ResourceOptions,
                   monitor_depends_on: Sequence[pulumi.Resource] = ()) -> k8s.apps.v1.Deployment:
    """ServiceAccount, Deployment, Service and ServiceMonitor of the exporter; returns the Deployment."""
    meta_labels = {**SELECTOR, "app.kubernetes.io/version": REDIS_EXPORTER_IMAGE.tag, **labels}
    metadata = {"name": NAME, "namespace": namespace, "labels": meta_labels}
    account = k8s.core.v1.ServiceAccount(f"{name}-service-account", metadata=metadata,
                                         automount_service_account_token=False, opts=opts)
    probe = {"httpGet": {"path": "/", "port": CONTAINER_PORT_NAME}}
    deployment = k8s.apps.v1.Deployment(
        f"{name}-deployment",
        metadata=metadata,
        spec={
            "replicas": 1,
            "selector": {"matchLabels": SELECTOR},
            "template": {
                "metadata": {"labels": meta_labels},
                "spec": {
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security,
                    "containers": [{
                        "name": "prometheus-redis-exporter",
                        "image": REDIS_EXPORTER_IMAGE.reference,
                        "imagePullPolicy": "IfNotPresent",
                        "securityContext": container_security,
                        "ports": [{"name": CONTAINER_PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
                        "env": [
                            # ElastiCache enforces TLS in transit, hence rediss://.
                            {"name": "REDIS_ADDR", "value": pulumi.Output.concat(
                                "rediss://", host, ":", pulumi.Output.from_input(port).apply(str))},
                            {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {
                                "name": password_secret, "key": "password"}}},
                        ],
                        "livenessProbe": probe,
                        "readinessProbe": probe,
                        "resources": resources,
                    }],
                },
            },
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[account])))
    k8s.core.v1.Service(
        f"{name}-service",
        metadata=metadata,
        spec={"type": "ClusterIP", "selector": SELECTOR, "ports": [
            {"name": PORT_NAME, "port": PORT, "targetPort": CONTAINER_PORT_NAME, "protocol": "TCP"}]},
        opts=opts)
    k8s.apiextensions.CustomResource(
        f"{name}-servicemonitor",
        api_version=monitor_api,
        kind="ServiceMonitor",
        metadata=metadata,
        spec={
            # job="redis-exporter" in every series (the Service's app.kubernetes.io/name label).
            "jobLabel": "app.kubernetes.io/name",
            "selector": {"matchLabels": SELECTOR},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [{"port": PORT_NAME, "interval": f"{scrape_interval_seconds}s"}],
        },
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(monitor_depends_on))))
    return deployment
