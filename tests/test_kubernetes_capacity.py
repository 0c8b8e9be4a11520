"""Kubernetes that works on a real cluster: metrics for the HPAs, nodes that grow, charts that exist, no leaks."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.data.bootstrap_job import BOOTSTRAP, FETCH_LOGINS, SQL
from config import charts as chart_pins
from planning.model import Plan, PlannedResource
from tests.harness import STACKS, TUNED_CLUSTER, config_error, eks_plan, plan, review

ADDON = "aws:eks/addon:Addon"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
EKS_STACKS = ("staging", "prod")


def releases(p: Plan) -> dict[str, PlannedResource]:
    return {r.props["chart"]: r for r in p.of_type(RELEASE)}


def values(p: Plan, chart: str) -> dict[str, Any]:
    return releases(p)[chart].props["values"]


# --- metrics-server -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", EKS_STACKS)
def test_metrics_server_serves_the_hpas_and_every_hpa_waits_for_it(stack: str):
    p = plan(stack)
    server = p.one(ADDON, "cluster-metrics-server")
    assert server.props["addonName"] == "metrics-server"
    # Its pods need nodes; the HPAs need it.
    assert {g.urn for g in p.of_type(NODE_GROUP)} <= set(server.dependencies)
    hpas = list(p.of_type(HPA))
    assert {h.name for h in hpas} == {"service-api-hpa", "service-context-hpa"}
    for hpa in hpas:
        assert server.urn in hpa.dependencies, hpa.name
        assert {m["type"] for m in hpa.props["spec"]["metrics"]} == {"Resource"}


# --- chart pins ---------------------------------------------------------------------------------------------------


def test_fluent_bit_is_pinned_to_a_published_release():
    # 0.2.1 never reached the eks-charts index (it stops at 0.2.0).
    assert releases(plan("prod"))["aws-for-fluent-bit"].props["version"] == "0.2.0"


def test_every_release_the_program_installs_is_a_pin_with_its_provenance():
    pins = {c.name: c for c in chart_pins.PINNED}
    for stack in EKS_STACKS:
        for chart, res in releases(plan(stack)).items():
            if chart == "ingress-nginx":
                continue  # pinned in config/edge.py, owned by the edge
            pin = pins[chart]
            assert (res.props["version"], res.props["repositoryOpts"]["repo"]) == (pin.version, pin.repo), chart
    for pin in chart_pins.PINNED:
        assert re.fullmatch(r"\d+\.\d+\.\d+", pin.version) and pin.repo.startswith("https://"), pin
        assert re.fullmatch(r"20\d\d-\d\d-\d\d", pin.released) and len(pin.verified) > 40, pin


# --- node autoscaling ---------------------------------------------------------------------------------------------


def test_cluster_autoscaler_discovers_this_clusters_groups_within_config_limits():
    p = plan("prod")
    release = releases(p)["cluster-autoscaler"]
    assert release.props["namespace"] == "kube-system"
    v = release.props["values"]
    assert v["autoDiscovery"]["clusterName"] == "agent-platform-prod" and v["cloudProvider"] == "aws"
    # prod's one group may grow to 12 nodes (Pulumi.prod.yaml): the cluster-wide cap defaults to the sum.
    assert v["extraArgs"]["max-nodes-total"] == 12
    assert v["extraArgs"]["balance-similar-node-groups"] is True
    assert v["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    assert "eks.amazonaws.com/role-arn" in v["rbac"]["serviceAccount"]["annotations"]
    capped = plan("prod", TUNED_CLUSTER)  # maxNodesTotal 8, scaleDownUnneededMinutes 20
    args = values(capped, "cluster-autoscaler")["extraArgs"]
    assert (args["max-nodes-total"], args["scale-down-unneeded-time"]) == (8, "20m")


def test_node_groups_let_the_autoscaler_own_their_desired_size():
    for group in plan("prod").of_type(NODE_GROUP):
        assert "scalingConfig.desiredSize" in group.ignore_changes
        assert group.props["scalingConfig"]["maxSize"] > group.props["scalingConfig"]["minSize"]


def test_cluster_autoscaler_may_resize_only_this_clusters_groups():
    p = plan("prod")
    doc = json.loads(p.one(ROLE_POLICY, "cluster-autoscaler-role-policy").props["policy"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    write = by_sid["ScaleThisClustersNodeGroups"]
    assert write["Action"] == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert write["Condition"] == {"StringEquals": {
        "aws:ResourceTag/k8s.io/cluster-autoscaler/agent-platform-prod": "owned"}}
    reads = by_sid["DiscoverNodeGroups"]["Action"]
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in reads)


def test_node_autoscaler_cap_below_the_groups_minimum_is_a_config_error():
    err = config_error("prod", {"cluster.nodeAutoscaler.maxNodesTotal": 2})
    assert "maxNodesTotal" in str(err)


def test_node_autoscaler_can_be_turned_off_and_the_pack_then_objects():
    p = plan("prod", {"cluster.nodeAutoscaler.enabled": False})
    assert "cluster-autoscaler" not in releases(p)
    found = review(p, only={"scalable-stack-has-node-autoscaler"}).violations
    assert found and "cluster-general" in found[0].message


# --- Grafana, chart hardening -------------------------------------------------------------------------------------


def test_grafana_reads_configmaps_of_its_own_namespace_only():
    grafana = values(plan("prod"), "kube-prometheus-stack")["grafana"]
    assert grafana["rbac"]["namespaced"] is True
    for sidecar in ("dashboards", "datasources"):
        assert "searchNamespace" not in grafana["sidecar"][sidecar]
        assert grafana["sidecar"][sidecar]["resource"] == "configmap"


def test_chart_components_have_requests_and_limits():
    kps = values(plan("prod"), "kube-prometheus-stack")
    for path in (("grafana", "sidecar"), ("kube-state-metrics",), ("prometheus-node-exporter",),
                 ("prometheusOperator", "admissionWebhooks", "patch"),
                 ("prometheusOperator", "prometheusConfigReloader")):
        section: Any = kps
        for key in path:
            section = section[key]
        res = section["resources"]
        assert res["requests"]["cpu"] and res["requests"]["memory"] and res["limits"]["memory"], path
    assert kps["prometheus-node-exporter"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert kps["crds"]["upgradeJob"]["enabled"] is False  # a deliberate choice: docs/kubernetes.md


def test_fluent_bit_runs_without_capabilities_or_privilege_escalation():
    fb = values(plan("prod"), "aws-for-fluent-bit")
    container = fb["containerSecurityContext"]
    assert container["allowPrivilegeEscalation"] is False and container["capabilities"] == {"drop": ["ALL"]}
    assert container["privileged"] is False
    assert fb["podSecurityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


# --- ordering -----------------------------------------------------------------------------------------------------


def test_every_external_secret_waits_for_the_secret_values_it_reads():
    p = plan("prod")
    versions = {v.urn for v in p.of_type(SECRET_VERSION)}
    externals = list(p.of_type(EXTERNAL_SECRET))
    assert len(externals) >= 5
    for ext in externals:
        assert versions & set(ext.dependencies), ext.name


def test_kube_prometheus_stack_installs_after_the_encrypted_storage_class():
    p = plan("prod")
    storage = p.one(STORAGE_CLASS, "cluster-gp3")
    assert storage.urn in releases(p)["kube-prometheus-stack"].dependencies


# --- network policies ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("namespace", "ports"), [("keda", [6443, 9443]), ("external-secrets", [10250])])
def test_operator_namespaces_admit_only_their_own_pods_prometheus_and_the_api_server_ports(namespace, ports):
    (policy,) = [n for n in plan("prod").of_type(NETWORK_POLICY) if n.props["metadata"]["namespace"] == namespace]
    spec = policy.props["spec"]
    assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress"]
    sources = [rule.get("from") for rule in spec["ingress"]]
    assert [{"podSelector": {}}] in sources
    assert [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}] in sources
    open_ports = [rule for rule in spec["ingress"] if "from" not in rule]
    assert open_ports == [{"ports": [{"protocol": "TCP", "port": p} for p in ports]}]


# --- postgres-exporter's own login --------------------------------------------------------------------------------


def test_exporter_logs_in_with_its_own_pg_monitor_secret_not_the_applications():
    p = plan("prod")
    monitor = p.one("aws:secretsmanager/secret:Secret", "data-monitor-db-credentials")
    app = p.one("aws:secretsmanager/secret:Secret", "data-app-db-credentials")
    (sync,) = [e for e in p.of_type(EXTERNAL_SECRET) if e.props["metadata"]["name"] == "postgres-exporter"]
    keys = {d["remoteRef"]["key"] for d in sync.props["spec"]["data"]}
    assert len(keys) == 1 and ":secret:data-monitor-db-credentials-" in keys.pop()
    assert app.urn not in sync.dependencies and monitor.urn != app.urn
    reader = json.loads(p.one(ROLE_POLICY, "observability-secrets-reader-role-policy").props["policy"])
    readable = next(s for s in reader["Statement"] if s["Sid"] == "ReadObservabilitySecrets")["Resource"]
    assert not [arn for arn in readable if ":secret:data-app-db-credentials-" in arn]
    assert [arn for arn in readable if ":secret:data-monitor-db-credentials-" in arn]
    # Rotated on its own schedule, by the same AWS function.
    rotation = p.one(ROTATION, "data-monitor-db-rotation")
    assert rotation.props["rotationRules"]["automaticallyAfterDays"] <= 90


def test_bootstrap_creates_the_monitoring_role_with_pg_monitor_only():
    assert "GRANT pg_monitor TO %I" in SQL and "g.rolname <> 'pg_monitor'" in SQL
    assert "\\set monitor_password `cat :'monitor_password_file'`" in SQL
    assert "--set monitor_password_file=/creds/monitor-password" in BOOTSTRAP
    assert 'if [ "$monitor_user" != "$MONITOR_USER" ]; then' in BOOTSTRAP
    assert '"$MONITOR_LOGIN_ARN"' in FETCH_LOGINS
    env = {e["name"]: e["value"] for e in eks_plan("prod").one("kubernetes:batch/v1:Job", "data-bootstrap")
           .props["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MONITOR_USER"] == "metrics_reader"


def test_monitoring_user_must_differ_from_the_application_user():
    err = config_error("prod", {"dataTier.postgres.monitorUsername": "agent_app"})
    assert "monitorUsername" in str(err)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_still_has_a_metrics_server_where_it_has_hpas(stack: str):
    p = eks_plan(stack)
    if list(p.of_type(HPA)):
        assert [a for a in p.of_type(ADDON) if a.props["addonName"] == "metrics-server"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_bootstrap_runs_digest_pinned_images_in_every_stack(stack: str):
    pod = eks_plan(stack).one("kubernetes:batch/v1:Job", "data-bootstrap").props["spec"]["template"]["spec"]
    images = [c["image"] for c in [*pod["initContainers"], *pod["containers"]]]
    assert len(images) == 2 and all(re.search(r"@sha256:[0-9a-f]{64}$", i) for i in images), images


def test_the_cost_estimate_covers_the_new_components():
    from planning.cost_report import stack_report
    from planning.engine import with_paths

    p = plan("prod")
    report = stack_report(p, with_paths("prod", {}))
    new = {"cluster-autoscaler-release", "cluster-autoscaler-role", "cluster-metrics-server",
           "data-monitor-db-credentials", "data-monitor-db-rotation"}
    assert not [u for u in report.unpriced if any(str(u.to_json()).find(n) >= 0 for n in new)]
    # The exporter's own secret is billed like every other secret; the rest carries no charge of its own.
    lines = report.of_resource("data-monitor-db-credentials")  # the secret, and in prod its DR replica
    assert lines and all(line.monthly_usd > 0 for line in lines)
    without = stack_report(plan("prod", {"cluster.nodeAutoscaler.enabled": False}),
                           with_paths("prod", {"cluster.nodeAutoscaler.enabled": False}))
    assert report.free["kubernetes:helm.sh/v3:Release"] == without.free["kubernetes:helm.sh/v3:Release"] + 1
    assert report.free["aws:iam/role:Role"] == without.free["aws:iam/role:Role"] + 1
    assert report.total == pytest.approx(without.total)


def test_metrics_server_takes_a_stack_pin_over_the_eks_default():
    p = plan("prod", TUNED_CLUSTER)
    assert p.one(ADDON, "cluster-metrics-server").props["addonVersion"] == TUNED_CLUSTER[
        "cluster.addonVersions.metrics-server"] == "v0.8.1-eksbuild.10"
