"""Capacity and Helm-values policies: each passes a compliant stack, catches a violating one, ignores unknowns."""

from __future__ import annotations

import copy
from typing import Any

from planning.model import PlannedResource
from tests.harness import plan, review
from tests.policies.support import UNKNOWN, found, res

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
CPU = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]


def hpa(metrics: Any = CPU) -> PlannedResource:
    return res(HPA, "api-hpa", {"metadata": {"name": "api", "namespace": "agents"},
                                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "minReplicas": 2,
                                         "maxReplicas": 6, "metrics": metrics}})


def metrics_server(name: str = "metrics-server") -> PlannedResource:
    return res(ADDON, "cluster-metrics-server", {"clusterName": "c", "addonName": name})


def node_group(min_size: int = 3, max_size: int = 12) -> PlannedResource:
    return res(NODE_GROUP, "cluster-general", {"scalingConfig": {"minSize": min_size, "desiredSize": min_size,
                                                                 "maxSize": max_size}})


def release(chart: str, values: dict[str, Any], version: str = "1.0.0") -> PlannedResource:
    return res(RELEASE, f"{chart}-release", {"chart": chart, "version": version, "values": values})


# --- hpa-has-metrics-server ---------------------------------------------------------------------------------------


def test_a_cpu_hpa_without_a_metrics_server_is_caught():
    (violation,) = found("hpa-has-metrics-server", hpa())
    assert "metrics.k8s.io" in violation.message


def test_a_cpu_hpa_with_the_metrics_server_add_on_or_chart_passes():
    assert not found("hpa-has-metrics-server", hpa(), metrics_server())
    assert not found("hpa-has-metrics-server", hpa(), release("metrics-server", {}))


def test_an_hpa_without_metrics_defaults_to_cpu_and_needs_the_server_too():
    assert len(found("hpa-has-metrics-server", hpa(metrics=None))) == 1


def test_an_hpa_on_external_metrics_only_needs_no_metrics_server():
    external = [{"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value",
                                                                                          "value": "10"}}}]
    assert not found("hpa-has-metrics-server", hpa(metrics=external))


def test_a_chart_with_its_own_hpa_needs_the_server_and_an_unknown_add_on_name_is_silent():
    chart = release("ingress-nginx", {"controller": {"autoscaling": {"enabled": True, "minReplicas": 2}}})
    (violation,) = found("hpa-has-metrics-server", chart)
    assert "controller.autoscaling" in violation.message
    assert not found("hpa-has-metrics-server", hpa(metrics=UNKNOWN))


def test_another_add_on_does_not_count_as_a_metrics_server():
    assert len(found("hpa-has-metrics-server", hpa(), metrics_server("coredns"))) == 1


# --- scalable-stack-has-node-autoscaler -----------------------------------------------------------------------------


def test_scaling_pods_without_a_node_autoscaler_are_caught():
    (violation,) = found("scalable-stack-has-node-autoscaler", hpa(), node_group())
    assert "cluster-general" in violation.message and "Pending" in violation.message
    scaled = res(SCALED_OBJECT, "worker", {"metadata": {"name": "worker", "namespace": "agents"},
                                           "spec": {"scaleTargetRef": {"name": "worker"}}})
    assert len(found("scalable-stack-has-node-autoscaler", scaled, node_group())) == 1


def test_cluster_autoscaler_or_karpenter_or_auto_mode_satisfies_it():
    for scaler in (release("cluster-autoscaler", {}), release("karpenter", {}),
                   res("aws:eks/cluster:Cluster", "eks", {"computeConfig": {"enabled": True}})):
        assert not found("scalable-stack-has-node-autoscaler", hpa(), node_group(), scaler), scaler.name


def test_a_group_that_cannot_grow_is_caught_even_with_an_autoscaler():
    (violation,) = found("scalable-stack-has-node-autoscaler", hpa(), node_group(3, 3),
                         release("cluster-autoscaler", {}))
    assert "maxSize 3 <= minSize 3" in violation.message


def test_stacks_without_scalers_or_without_node_groups_are_not_judged():
    assert not found("scalable-stack-has-node-autoscaler", node_group())
    assert not found("scalable-stack-has-node-autoscaler", hpa())


# --- helm-release-rbac-namespaced -----------------------------------------------------------------------------------

GRAFANA_OK: dict[str, Any] = {"grafana": {"rbac": {"namespaced": True}, "sidecar": {
    "dashboards": {"enabled": True, "resource": "configmap"}, "datasources": {"enabled": True}}}}


def test_namespaced_grafana_passes_and_cluster_wide_grafana_is_caught():
    assert not found("helm-release-rbac-namespaced", release("kube-prometheus-stack", GRAFANA_OK))
    wide = copy.deepcopy(GRAFANA_OK)
    wide["grafana"]["rbac"]["namespaced"] = False
    wide["grafana"]["sidecar"]["dashboards"]["searchNamespace"] = "ALL"
    messages = [v.message for v in found("helm-release-rbac-namespaced", release("kube-prometheus-stack", wide))]
    assert len(messages) == 2
    assert any("grafana.rbac.namespaced" in m for m in messages)
    assert any("searchNamespace" in m for m in messages)


def test_rbac_scope_unset_means_the_chart_default_cluster_role_and_is_caught():
    assert len(found("helm-release-rbac-namespaced", release("grafana", {}))) == 1


def test_rbac_scope_unknown_during_preview_is_not_reported():
    assert not found("helm-release-rbac-namespaced",
                     release("kube-prometheus-stack", {"grafana": {"rbac": {"namespaced": UNKNOWN}}}))


# --- helm-release-pods-hardened -------------------------------------------------------------------------------------

RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}
HARDENED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
SECCOMP = {"seccompProfile": {"type": "RuntimeDefault"}}


def test_a_hardened_chart_passes_and_each_missing_setting_is_caught():
    ok = {"resources": RESOURCES, "containerSecurityContext": HARDENED, "podSecurityContext": SECCOMP}
    assert not found("helm-release-pods-hardened", release("aws-for-fluent-bit", ok))
    bare = found("helm-release-pods-hardened", release("aws-for-fluent-bit", {"resources": {"limits": {}}}))
    assert len(bare) == 3
    assert {m.split(":")[1].split()[0] for m in (v.message for v in bare)} == {
        "values.resources", "values.containerSecurityContext", "values.podSecurityContext.seccompProfile.type"}


def test_a_privileged_chart_container_is_caught():
    values = {"resources": RESOURCES, "containerSecurityContext": {**HARDENED, "privileged": True},
              "podSecurityContext": SECCOMP}
    (violation,) = found("helm-release-pods-hardened", release("aws-for-fluent-bit", values))
    assert "privileged is true" in violation.message


def test_charts_not_listed_are_not_judged_and_unknown_values_are_silent():
    assert not found("helm-release-pods-hardened", release("some-chart", {}))
    assert not found("helm-release-pods-hardened", release("aws-for-fluent-bit", {
        "resources": UNKNOWN, "containerSecurityContext": UNKNOWN, "podSecurityContext": {"seccompProfile": UNKNOWN}}))


def test_the_committed_stacks_meet_the_capacity_and_chart_policies():
    for stack in ("staging", "prod"):
        names = {"hpa-has-metrics-server", "scalable-stack-has-node-autoscaler", "helm-release-rbac-namespaced",
                 "helm-release-pods-hardened"}
        assert not [v for v in review(plan(stack)).violations if v.policy in names], stack
