"""Whole-stack policies: protected state and what each Kubernetes workload comes with."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policies.support import TAGS, UNKNOWN, found, res, stack_config

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
LABELS = {"app.kubernetes.io/name": "api", "app.kubernetes.io/part-of": "agents"}
WORKLOAD_POLICIES = ["workload-has-pod-disruption-budget", "workload-has-autoscaler", "workload-has-network-policy"]


# --- stateful-resources-protected ------------------------------------------------------------------------------


def database(protect: bool):
    return res("aws:rds/instance:Instance", "postgres", {"engine": "postgres", "tags": TAGS}, protect=protect)


def test_protected_state_passes():
    bucket = res("aws:s3/bucketV2:BucketV2", "artifacts", {"tags": TAGS}, protect=True)
    assert found("stateful-resources-protected", database(True), bucket, config=stack_config("prod")) == []


def test_unprotected_state_in_a_protected_environment_is_reported():
    db = database(False)
    stateless = res("aws:ec2/subnet:Subnet", "subnet", {"tags": TAGS})
    (violation,) = found("stateful-resources-protected", db, stateless, config=stack_config("prod"))
    assert violation.urn == db.urn and violation.enforcement == "mandatory"


def test_dev_does_not_require_protection():
    assert found("stateful-resources-protected", database(False), config=stack_config("dev")) == []


def test_protection_is_required_when_the_stack_says_nothing():
    assert len(found("stateful-resources-protected", database(False))) == 1


def test_stateful_types_come_from_config():
    volume = res("aws:ebs/volume:Volume", "scratch", {"size": 10, "tags": TAGS})
    config = {"stateful-resources-protected": {"statefulTypes": ["aws:rds/instance:Instance"]}}
    assert len(found("stateful-resources-protected", volume)) == 1
    assert found("stateful-resources-protected", volume, config=config) == []


# --- workloads -------------------------------------------------------------------------------------------------


def meta(name: str | None, namespace: Any = "agents", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": namespace, **extra}
    if name is not None:
        out["name"] = name
    return out


def deployment(name: str | None = "api", namespace: Any = "agents", labels: dict[str, str] | None = None,
               type_: str = DEPLOYMENT, **kw: Any):
    labels = LABELS if labels is None else labels
    return res(type_, f"{name or 'auto'}-deployment", {
        "metadata": meta(name, namespace),
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }, **kw)


def pdb(selector: dict[str, Any] | None = None, namespace: Any = "agents", **kw: Any):
    spec = {"maxUnavailable": 1, "selector": {"matchLabels": LABELS} if selector is None else selector}
    return res(PDB, "api-pdb", {"metadata": meta("api", namespace), "spec": spec}, **kw)


def hpa(target: Any = "api", kind: str = "Deployment", namespace: Any = "agents", **kw: Any):
    return res(HPA, "api-hpa", {"metadata": meta("api", namespace), "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target}, "minReplicas": 2,
        "maxReplicas": 6}}, **kw)


def netpol(selector: dict[str, Any] | None = None, namespace: Any = "agents", **kw: Any):
    spec = {"podSelector": {"matchLabels": LABELS} if selector is None else selector, "policyTypes": ["Ingress"]}
    return res(NETPOL, "api-netpol", {"metadata": meta("api", namespace), "spec": spec}, **kw)


@pytest.mark.parametrize("policy", WORKLOAD_POLICIES)
def test_fully_covered_workload_passes(policy: str):
    assert found(policy, deployment(), pdb(), hpa(), netpol()) == []


@pytest.mark.parametrize("policy", WORKLOAD_POLICIES)
def test_bare_workload_is_reported(policy: str):
    workload = deployment()
    (violation,) = found(policy, workload)
    assert violation.urn == workload.urn and "Deployment agents/api" in violation.message


@pytest.mark.parametrize("policy", WORKLOAD_POLICIES)
def test_a_stack_without_workloads_passes(policy: str):
    assert found(policy, res("aws:ec2/vpc:Vpc", "vpc", {"tags": TAGS})) == []


def test_companions_in_another_namespace_do_not_count():
    others = [pdb(namespace="other"), hpa(namespace="other"), netpol(namespace="other")]
    for policy in WORKLOAD_POLICIES:
        assert len(found(policy, deployment(), *others)) == 1, policy


def test_pdb_must_select_the_pods():
    mismatched = pdb({"matchLabels": {"app.kubernetes.io/name": "worker"}})
    assert len(found("workload-has-pod-disruption-budget", deployment(), mismatched)) == 1
    subset = pdb({"matchLabels": {"app.kubernetes.io/name": "api"}})
    assert found("workload-has-pod-disruption-budget", deployment(), subset) == []
    expression = pdb({"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": ["api"]}]})
    assert found("workload-has-pod-disruption-budget", deployment(), expression) == []


def test_namespace_wide_network_policy_counts():
    assert found("workload-has-network-policy", deployment(), netpol({})) == []


def test_autoscaler_must_target_the_workload_by_name_and_kind():
    assert len(found("workload-has-autoscaler", deployment(), hpa(target="worker"))) == 1
    assert len(found("workload-has-autoscaler", deployment(), hpa(kind="StatefulSet"))) == 1
    stateful = deployment(type_=STATEFUL_SET)
    assert found("workload-has-autoscaler", stateful, hpa(kind="StatefulSet")) == []


def test_keda_scaled_object_counts_as_autoscaler():
    scaled = res(SCALED_OBJECT, "worker-scaler", {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                                                  "metadata": meta("worker"),
                                                  "spec": {"scaleTargetRef": {"name": "worker"}, "triggers": []}})
    worker = deployment("worker")
    assert found("workload-has-autoscaler", worker, scaled) == []


def test_autoscaler_targeting_an_auto_named_workload_is_matched_through_the_graph():
    workload = deployment(name=None)
    scaler = hpa(target=UNKNOWN, prop_deps={"spec": [workload]})
    assert found("workload-has-autoscaler", workload, scaler) == []
    assert len(found("workload-has-autoscaler", workload, hpa(target=UNKNOWN))) == 1


def test_namespaces_unknown_during_preview_are_matched_through_the_namespace_resource():
    ns = res(NAMESPACE, "agents-ns", {"metadata": {"name": "agents"}})
    workload = deployment(namespace=UNKNOWN, prop_deps={"metadata": [ns]})
    policy = netpol(namespace=UNKNOWN, prop_deps={"metadata": [ns]})
    literal = netpol(namespace="agents")
    assert found("workload-has-network-policy", ns, workload, policy) == []
    assert found("workload-has-network-policy", ns, workload, literal) == []


def test_workload_with_unknown_labels_reports_nothing():
    workload = deployment()
    unknown = res(workload.type, workload.name, {**workload.inputs, "spec": {"template": {"metadata": {
        "labels": UNKNOWN}}}})
    for policy in WORKLOAD_POLICIES:
        assert found(policy, unknown) == [], policy


def test_kube_system_is_exempt_by_default():
    assert found("workload-has-network-policy", deployment(namespace="kube-system")) == []
    config = {"workload-has-network-policy": {"exemptNamespaces": []}}
    assert len(found("workload-has-network-policy", deployment(namespace="kube-system"), config=config)) == 1


def test_missing_pdb_is_advisory_in_dev_and_mandatory_in_prod():
    workload = deployment()
    dev = found("workload-has-pod-disruption-budget", workload, config=stack_config("dev"))
    prod = found("workload-has-pod-disruption-budget", workload, config=stack_config("prod"))
    assert [v.enforcement for v in dev] == ["advisory"]
    assert [v.enforcement for v in prod] == ["mandatory"]


def test_missing_network_policy_is_mandatory_even_in_dev():
    (violation,) = found("workload-has-network-policy", deployment(), config=stack_config("dev"))
    assert violation.enforcement == "mandatory"
