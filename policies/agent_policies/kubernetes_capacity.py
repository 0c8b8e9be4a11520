"""Kubernetes capacity and Helm-release policies: autoscaling that can actually scale, charts that stay hardened.

A HorizontalPodAutoscaler on CPU or memory reads ``metrics.k8s.io``; without a metrics server it never acts.
Pods that scale out need nodes that scale out. And the objects a ``helm.v3.Release`` renders are never
resources of the plan, so the pod-level policies cannot see them: what matters for security in them (RBAC
scope, security contexts, resources) is asserted here on the release's values, at the keys each chart
reads at its pinned version (config/charts.py). The gap that remains is stated in docs/policies.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from ._common import Report, Settings, as_list, cis_eks, get, known, plain, resource_policy, soc2, stack_policy

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
ADDON = "aws:eks/addon:Addon"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHARTS = ("kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v4:Chart")
RESOURCE_METRIC_TYPES = ("Resource", "ContainerResource")
_SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
_UNKNOWN = object()  # a value unknown during preview: nothing is reported about it


def chart_name(chart: Any) -> str:
    """``repo/kube-prometheus-stack`` or ``oci://host/charts/grafana@sha256:..`` -> the chart's name."""
    return str(chart or "").rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]


def _releases(resources: Iterable[PolicyResource]) -> list[tuple[PolicyResource, str]]:
    return [(r, chart_name(known(lambda r=r: get(r.props, "chart")))) for r in resources
            if r.resource_type in (HELM_RELEASE, *HELM_CHARTS)]


def _autoscaling_paths(values: Any, path: tuple[str, ...] = ()) -> Iterable[str]:
    """Values sections that turn on a chart's own HPA (``<component>.autoscaling.enabled: true``)."""
    if not isinstance(values, Mapping):
        return
    for key, value in values.items():
        if key == "autoscaling" and isinstance(value, Mapping) and value.get("enabled") is True:
            yield ".".join([*path, key])
        else:
            yield from _autoscaling_paths(value, (*path, str(key)))


# --- metrics server --------------------------------------------------------------------------------------------


def _has_metrics_server(resources: Sequence[PolicyResource], settings: Settings) -> bool:
    names = {str(n) for n in settings["metricsServerNames"]}
    for res in resources:
        if res.resource_type == ADDON and known(lambda r=res: get(r.props, "addonName")) in names:
            return True
        if res.resource_type == DEPLOYMENT and known(lambda r=res: get(r.props, "metadata", "name")) in names:
            return True
    return any(chart in names for _, chart in _releases(resources))


def _uses_resource_metrics(hpa: PolicyResource) -> bool:
    metrics = get(hpa.props, "spec", "metrics")
    if metrics is None or not len(metrics):
        return True  # autoscaling/v2 defaults to 80% average CPU utilisation
    return any(get(m, "type") in RESOURCE_METRIC_TYPES for m in as_list(metrics))


def _check_metrics_server(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    if _has_metrics_server(args.resources, settings):
        return
    for res in args.resources:
        if res.resource_type == HPA and known(lambda r=res: _uses_resource_metrics(r)):
            name = known(lambda r=res: get(r.props, "metadata", "name")) or res.name
            report(f"HorizontalPodAutoscaler {name} scales on CPU or memory, but nothing in the stack serves "
                   "metrics.k8s.io: it stays at minReplicas forever.", res.urn)
    for res, chart in _releases(args.resources):
        values = known(lambda r=res: plain(get(r.props, "values", default={}))) or {}
        for path in _autoscaling_paths(values):
            report(f"Chart {chart} sets values.{path}.enabled: its HorizontalPodAutoscaler reads metrics.k8s.io, "
                   "which nothing in the stack serves.", res.urn)


# --- node autoscaler -------------------------------------------------------------------------------------------


def _scalers(resources: Sequence[PolicyResource]) -> list[str]:
    found = [f"{r.resource_type.rsplit(':', 1)[-1]} {r.name}" for r in resources
             if r.resource_type in (HPA, SCALED_OBJECT)]
    for res, chart in _releases(resources):
        values = known(lambda r=res: plain(get(r.props, "values", default={}))) or {}
        found += [f"chart {chart} values.{p}" for p in _autoscaling_paths(values)]
    return found


def _has_node_autoscaler(resources: Sequence[PolicyResource], settings: Settings) -> bool:
    charts = {str(c) for c in settings["nodeAutoscalerCharts"]}
    if any(chart in charts for _, chart in _releases(resources)):
        return True
    # EKS Auto Mode scales nodes itself.
    return any(r.resource_type == EKS_CLUSTER and known(lambda r=r: get(r.props, "computeConfig", "enabled")) is True
               for r in resources)


def _check_node_autoscaler(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    groups = [r for r in args.resources if r.resource_type == NODE_GROUP]
    scalers = _scalers(args.resources)
    if not scalers or not groups:
        return
    if not _has_node_autoscaler(args.resources, settings):
        shown = ", ".join(scalers[:3]) + (f" and {len(scalers) - 3} more" if len(scalers) > 3 else "")
        for group in groups:
            report(f"Workloads can scale out ({shown}) but nothing changes the size of node group {group.name}: "
                   "pods beyond its current capacity stay Pending.", group.urn)
        return
    for group in groups:
        sizes = known(lambda g=group: (get(g.props, "scalingConfig", "minSize"), get(g.props, "scalingConfig",
                                                                                    "maxSize")))
        if sizes and None not in sizes and sizes[1] <= sizes[0]:
            report(f"Node group {group.name} has maxSize {int(sizes[1])} <= minSize {int(sizes[0])}: the autoscaler "
                   "cannot grow it.", group.urn)


# --- Helm release values ---------------------------------------------------------------------------------------

# Per chart, the values keys its pinned version reads (paths verified in config/charts.py's sources).
DEFAULT_RBAC_RULES: dict[str, dict[str, dict[str, Any]]] = {
    "kube-prometheus-stack": {
        "require": {"grafana.rbac.namespaced": True},
        "forbid": {"grafana.sidecar.dashboards.searchNamespace": "ALL",
                   "grafana.sidecar.datasources.searchNamespace": "ALL"},
    },
    "grafana": {
        "require": {"rbac.namespaced": True},
        "forbid": {"sidecar.dashboards.searchNamespace": "ALL", "sidecar.datasources.searchNamespace": "ALL"},
    },
}

DEFAULT_POD_RULES: dict[str, dict[str, list[str]]] = {
    "kube-prometheus-stack": {
        "resources": ["prometheusOperator.resources", "prometheusOperator.prometheusConfigReloader.resources",
                      "prometheusOperator.admissionWebhooks.patch.resources", "prometheus.prometheusSpec.resources",
                      "alertmanager.alertmanagerSpec.resources", "grafana.resources", "grafana.sidecar.resources",
                      "kube-state-metrics.resources", "prometheus-node-exporter.resources"],
        "containerSecurityContext": ["grafana.sidecar.securityContext"],
        "seccomp": ["grafana.securityContext", "prometheus-node-exporter.securityContext"],
    },
    "aws-for-fluent-bit": {
        "resources": ["resources"],
        "containerSecurityContext": ["containerSecurityContext"],
        "seccomp": ["podSecurityContext"],
    },
    "prometheus-postgres-exporter": {
        "resources": ["resources"], "containerSecurityContext": ["securityContext"], "seccomp": ["podSecurityContext"],
    },
    "prometheus-redis-exporter": {
        "resources": ["resources"], "containerSecurityContext": ["securityContext"], "seccomp": ["podSecurityContext"],
    },
    "external-secrets": {
        "resources": ["resources", "webhook.resources", "certController.resources"],
        "containerSecurityContext": ["securityContext"],
        "seccomp": ["podSecurityContext"],
    },
    "keda": {
        "resources": ["resources.operator", "resources.metricServer", "resources.webhooks"],
        "containerSecurityContext": ["securityContext.operator", "securityContext.metricServer",
                                     "securityContext.webhooks"],
        "seccomp": ["podSecurityContext.operator", "podSecurityContext.metricServer", "podSecurityContext.webhooks"],
    },
    "cluster-autoscaler": {
        "resources": ["resources"], "containerSecurityContext": ["containerSecurityContext"],
        "seccomp": ["securityContext"],
    },
    # The dedicated vector stores (qdrant 1.19.0 values.yaml; weaviate 17.8.3 values.yaml: its pod securityContext
    # is ``securityContext``, the container's ``containerSecurityContext``).
    "qdrant": {
        "resources": ["resources"], "containerSecurityContext": ["containerSecurityContext"],
        "seccomp": ["podSecurityContext"],
    },
    "weaviate": {
        "resources": ["resources"], "containerSecurityContext": ["containerSecurityContext"],
        "seccomp": ["securityContext"],
    },
}


def _at(values: Any, dotted: str) -> Any:
    return get(values, *[p for p in dotted.split(".") if p])


def _release_values(args: ResourceValidationArgs, rules: Mapping[str, Any]) -> tuple[str, Any] | None:
    chart = chart_name(get(args.props, "chart"))
    if chart not in rules:
        return None
    return chart, get(args.props, "values", default={})


def _check_rbac_scope(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    rules = plain(settings["charts"]) or {}
    found = _release_values(args, rules)
    if found is None:
        return
    chart, values = found
    for path, expected in (rules[chart].get("require") or {}).items():
        value = known(lambda p=path: _at(values, p), _UNKNOWN)
        if value is not _UNKNOWN and value != expected:
            report(f"Chart {chart}: values.{path} is {value!r}, must be {expected!r} (otherwise the chart grants "
                   "cluster-wide read of ConfigMaps and Secrets).")
    for path, forbidden in (rules[chart].get("forbid") or {}).items():
        value = known(lambda p=path: _at(values, p), _UNKNOWN)
        if value is not _UNKNOWN and value == forbidden:
            report(f"Chart {chart}: values.{path} is {forbidden!r}: it watches every namespace, so its service "
                   "account needs read access to every namespace's ConfigMaps and Secrets.")


def _check_pod_values(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    rules = plain(settings["charts"]) or {}
    found = _release_values(args, rules)
    if found is None:
        return
    chart, values = found
    spec = rules[chart]
    for path in spec.get("resources") or []:
        res = known(lambda p=path: plain(_at(values, p) or {}))
        if res is None:
            continue
        missing = [k for k, v in (("requests.cpu", get(res, "requests", "cpu")),
                                  ("requests.memory", get(res, "requests", "memory")),
                                  ("limits.memory", get(res, "limits", "memory"))) if not v]
        if missing:
            report(f"Chart {chart}: values.{path} lacks {', '.join(missing)}: the pods are scheduled without "
                   "capacity accounted for and may exhaust the node's memory.")
    for path in spec.get("containerSecurityContext") or []:
        ctx = known(lambda p=path: plain(_at(values, p) or {}))
        if ctx is None:
            continue
        if ctx.get("allowPrivilegeEscalation") is not False or "ALL" not in [
                str(c).upper() for c in (ctx.get("capabilities") or {}).get("drop") or []]:
            report(f"Chart {chart}: values.{path} must set allowPrivilegeEscalation: false and drop ALL "
                   "capabilities.")
        if ctx.get("privileged") is True:
            report(f"Chart {chart}: values.{path}.privileged is true: the container gets every capability and "
                   "the node's devices.")
    for path in spec.get("seccomp") or []:
        profile = known(lambda p=path: _at(values, f"{p}.seccompProfile.type"), _UNKNOWN)
        if profile is not _UNKNOWN and profile not in _SECCOMP_TYPES:
            report(f"Chart {chart}: values.{path}.seccompProfile.type is {profile!r}; set RuntimeDefault.")


POLICIES: list[Policy] = [
    stack_policy(
        "hpa-has-metrics-server",
        description="A stack whose HorizontalPodAutoscalers scale on CPU or memory runs a metrics server.",
        check=_check_metrics_server,
        severity=Severity.HIGH,
        remediation="Install metrics-server (the EKS add-on `metrics-server`, as components.cluster.eks.Cluster does, "
                    "or the kubernetes-sigs chart) and make the HPAs depend on it.",
        topic=("availability",),
        config={"metricsServerNames": {
            "type": "array", "items": {"type": "string"}, "default": ["metrics-server"],
            "description": "EKS add-on, chart or Deployment names that serve metrics.k8s.io."}},
    ),
    stack_policy(
        "scalable-stack-has-node-autoscaler",
        description="A stack whose workloads can scale out (HPA, KEDA, chart autoscaling) has a node autoscaler.",
        check=_check_node_autoscaler,
        severity=Severity.HIGH,
        remediation="Install the Cluster Autoscaler (components.cluster.autoscaler.NodeAutoscaler) or Karpenter, or "
                    "use EKS Auto Mode; give every node group maxSize > minSize.",
        topic=("availability", "cost"),
        config={"nodeAutoscalerCharts": {
            "type": "array", "items": {"type": "string"}, "default": ["cluster-autoscaler", "karpenter"],
            "description": "Charts that scale nodes."}},
    ),
    resource_policy(
        "helm-release-rbac-namespaced",
        description="Charts whose service accounts could read Secrets cluster-wide are held to their namespace.",
        resource_types=[HELM_RELEASE, *HELM_CHARTS],
        check=_check_rbac_scope,
        severity=Severity.HIGH,
        remediation="kube-prometheus-stack: set grafana.rbac.namespaced=true and leave grafana.sidecar.*."
                    "searchNamespace unset (the release's namespace) or a list of namespaces, never ALL.",
        refs=[cis_eks("4.1.2", "Minimize access to secrets"), soc2("CC6.3")],
        config={"charts": {"type": "object", "default": DEFAULT_RBAC_RULES,
                           "description": "Chart name to {require: {path: value}, forbid: {path: value}}."}},
    ),
    resource_policy(
        "helm-release-pods-hardened",
        description="Charts' pods have requests and memory limits, no privilege escalation, no capabilities and a "
                    "seccomp profile, asserted on the release's values.",
        resource_types=[HELM_RELEASE, *HELM_CHARTS],
        check=_check_pod_values,
        severity=Severity.MEDIUM,
        remediation="Set each listed values key: resources {requests: {cpu, memory}, limits: {memory}}; container "
                    "securityContext {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}; pod "
                    "securityContext.seccompProfile.type RuntimeDefault.",
        refs=[cis_eks("4.2.5", "Minimize the admission of containers with allowPrivilegeEscalation"), soc2("CC6.8")],
        config={"charts": {"type": "object", "default": DEFAULT_POD_RULES,
                           "description": "Chart name to {resources, containerSecurityContext, seccomp}: lists of "
                                          "values paths."}},
    ),
]
