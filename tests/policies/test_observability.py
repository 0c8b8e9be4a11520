"""Observability policies: each passes a compliant resource, catches a violating one, stays quiet on unknowns."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policies.support import TAGS, UNKNOWN, found, res, stack_config

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1111"
SNS = "aws:sns/topic:Topic"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
BUDGET = "aws:budgets/budget:Budget"
RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
LABELS = {"app.kubernetes.io/name": "chat", "app.kubernetes.io/part-of": "agent-platform"}


# --- sns-topic-encrypted ------------------------------------------------------------------------------------------


def topic(**inputs: Any):
    return res(SNS, "alerts-topic", {"tags": TAGS, **inputs})


def test_topic_with_a_customer_key_passes():
    assert found("sns-topic-encrypted", topic(kmsMasterKeyId=KEY)) == []


@pytest.mark.parametrize("inputs", [{}, {"kmsMasterKeyId": "alias/aws/sns"}], ids=["none", "aws-managed"])
def test_unencrypted_or_aws_managed_topic_is_reported(inputs: dict[str, Any]):
    (violation,) = found("sns-topic-encrypted", topic(**inputs), config=stack_config("dev"))
    assert violation.enforcement == "mandatory"


def test_topic_key_unknown_during_preview_is_not_reported():
    assert found("sns-topic-encrypted", topic(kmsMasterKeyId=UNKNOWN)) == []


# --- cloudwatch-alarm-has-action -------------------------------------------------------------------------------------


def alarm(**inputs: Any):
    base = {"name": "cpu", "alarmActions": [TOPIC], "okActions": [TOPIC], "threshold": 80, "tags": TAGS}
    return res(ALARM, "cpu-alarm", {**base, **inputs})


def test_alarm_notifying_on_alarm_and_ok_passes():
    assert found("cloudwatch-alarm-has-action", alarm()) == []


@pytest.mark.parametrize("inputs", [{"alarmActions": []}, {"okActions": None}, {"actionsEnabled": False}],
                         ids=["no-alarm-action", "no-ok-action", "actions-disabled"])
def test_alarm_that_notifies_no_one_is_reported(inputs: dict[str, Any]):
    assert len(found("cloudwatch-alarm-has-action", alarm(**inputs), config=stack_config("prod"))) == 1


def test_ok_actions_requirement_is_configurable():
    config = {"cloudwatch-alarm-has-action": {"requireOkActions": False}}
    assert found("cloudwatch-alarm-has-action", alarm(okActions=None), config=config) == []


def test_alarm_whose_topic_is_unknown_during_preview_is_not_reported():
    assert found("cloudwatch-alarm-has-action", alarm(alarmActions=[UNKNOWN], okActions=UNKNOWN)) == []


# --- budget-notifies-subscribers -------------------------------------------------------------------------------------


def notification(kind: str = "FORECASTED", **subscribers: Any) -> dict[str, Any]:
    return {"notificationType": kind, "threshold": 80, "thresholdType": "PERCENTAGE",
            "comparisonOperator": "GREATER_THAN", **(subscribers or {"subscriberSnsTopicArns": [TOPIC]})}


def budget(notifications: Any):
    return res(BUDGET, "budget", {"budgetType": "COST", "timeUnit": "MONTHLY", "limitAmount": "100",
                                  "notifications": notifications, "tags": TAGS})


def test_budget_with_a_forecast_notification_to_the_topic_passes():
    assert found("budget-notifies-subscribers", budget([notification(), notification("ACTUAL")])) == []


@pytest.mark.parametrize("notifications", [
    [],
    [notification(subscriberSnsTopicArns=[])],
    [notification("ACTUAL")],
], ids=["none", "no-subscriber", "actual-only"])
def test_budget_that_warns_no_one_in_time_is_reported(notifications: list[dict[str, Any]]):
    assert len(found("budget-notifies-subscribers", budget(notifications))) == 1


def test_budget_check_is_advisory_in_dev():
    (violation,) = found("budget-notifies-subscribers", budget([]), config=stack_config("dev"))
    assert violation.enforcement == "advisory"


def test_budget_notification_type_unknown_is_not_reported():
    assert found("budget-notifies-subscribers", budget([notification(UNKNOWN)])) == []


# --- agent-services-scraped ------------------------------------------------------------------------------------------


def deployment(namespace: str = "agents", labels: dict[str, str] = LABELS):
    return res(DEPLOYMENT, "chat-deployment", {
        "metadata": {"name": "chat", "namespace": namespace},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels},
                                                                   "spec": {"containers": [{"name": "app"}]}}}})


def service(labels: Any = LABELS, selector: Any = None):
    return res(SERVICE, "chat-service", {
        "metadata": {"name": "chat", "namespace": "agents", "labels": labels},
        "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": "chat"} if selector is None else selector,
                 "ports": [{"name": "http", "port": 8000}]}})


def monitor(selector: Any = None, namespace: str = "agents", type_: str = SERVICE_MONITOR, **spec: Any):
    match = {"matchLabels": {"app.kubernetes.io/name": "chat"}} if selector is None else selector
    return res(type_, "chat-monitor", {"metadata": {"name": "chat", "namespace": namespace},
                                       "spec": {"selector": match, "endpoints": [{"port": "http"}], **spec}})


def test_service_scraped_through_its_service_passes():
    assert found("agent-services-scraped", deployment(), service(), monitor()) == []


def test_pod_monitor_counts_and_monitors_may_live_in_another_namespace():
    assert found("agent-services-scraped", deployment(), monitor(type_=POD_MONITOR)) == []
    remote = monitor(namespace="monitoring", namespaceSelector={"matchNames": ["agents"]})
    assert found("agent-services-scraped", deployment(), service(), remote) == []


def test_service_without_a_monitor_is_reported():
    (violation,) = found("agent-services-scraped", deployment(), service(), config=stack_config("prod"))
    assert violation.enforcement == "mandatory" and "agents/chat" in violation.message


@pytest.mark.parametrize("resources", [
    lambda: [monitor({"matchLabels": {"app.kubernetes.io/name": "other"}})],
    lambda: [monitor(namespace="monitoring")],
    lambda: [service(selector={"app.kubernetes.io/name": "other"}), monitor()],
], ids=["selects-another-service", "wrong-namespace", "service-selects-other-pods"])
def test_monitor_that_misses_the_workload_is_reported(resources):
    assert len(found("agent-services-scraped", deployment(), *resources())) == 1


def test_only_the_configured_namespaces_are_checked():
    assert found("agent-services-scraped", deployment(namespace="ingress-nginx")) == []
    config = {"agent-services-scraped": {"namespaces": ["ingress-nginx"]}}
    assert len(found("agent-services-scraped", deployment(namespace="ingress-nginx"), config=config)) == 1


def test_scraping_is_advisory_in_dev():
    (violation,) = found("agent-services-scraped", deployment(), config=stack_config("dev"))
    assert violation.enforcement == "advisory"


def test_monitor_or_service_labels_unknown_during_preview_are_not_reported():
    assert found("agent-services-scraped", deployment(), service(), monitor(UNKNOWN)) == []
    assert found("agent-services-scraped", deployment(), service(labels=UNKNOWN), monitor()) == []


# --- grafana-not-public ---------------------------------------------------------------------------------------------


def grafana_service(kind: str = "ClusterIP", **spec: Any):
    return res(SERVICE, "grafana-svc", {"metadata": {"name": "grafana", "namespace": "monitoring"},
                                        "spec": {"type": kind, "ports": [{"port": 80}], **spec}})


def kps(grafana: dict[str, Any], chart: str = "kube-prometheus-stack"):
    return res(RELEASE, "kps", {"chart": chart, "version": "79.7.1", "namespace": "monitoring",
                                "repositoryOpts": {"repo": "https://prometheus-community.github.io/helm-charts"},
                                "values": {"grafana": grafana} if chart == "kube-prometheus-stack" else grafana})


def grafana_ingress(class_name: str = "nginx"):
    backend = {"service": {"name": "grafana", "port": {"number": 80}}}
    return res(INGRESS, "grafana-ingress", {
        "metadata": {"name": "grafana", "namespace": "monitoring"},
        "spec": {"ingressClassName": class_name,
                 "rules": [{"host": "grafana.example.com", "http": {"paths": [{"path": "/", "backend": backend}]}}]}})


def test_cluster_internal_grafana_passes():
    compliant = [grafana_service(), kps({"service": {"type": "ClusterIP"}, "ingress": {"enabled": False}})]
    assert found("grafana-not-public", *compliant) == []


@pytest.mark.parametrize("resource", [
    lambda: grafana_service("LoadBalancer"),
    lambda: grafana_service("NodePort"),
    lambda: grafana_service(externalIPs=["203.0.113.10"]),
    lambda: grafana_ingress(),
    lambda: kps({"ingress": {"enabled": True}}),
    lambda: kps({"service": {"type": "LoadBalancer"}}),
    lambda: kps({"ingress": {"enabled": True}}, chart="grafana/grafana"),
], ids=["load-balancer", "node-port", "external-ip", "ingress", "kps-ingress", "kps-lb", "grafana-chart-ingress"])
def test_exposed_grafana_is_reported(resource):
    (violation,) = found("grafana-not-public", resource(), config=stack_config("dev"))
    assert violation.enforcement == "mandatory"


def test_disabled_grafana_and_other_services_are_not_reported():
    other = res(SERVICE, "api-svc", {"metadata": {"name": "api", "namespace": "agents"},
                                     "spec": {"type": "LoadBalancer"}})
    assert found("grafana-not-public", kps({"enabled": False, "ingress": {"enabled": True}}), other) == []


def test_an_internal_authenticated_ingress_class_can_be_allowed():
    config = {"grafana-not-public": {"allowedIngressClasses": ["internal-sso"]}}
    assert found("grafana-not-public", grafana_ingress("internal-sso"), config=config) == []


def test_grafana_service_type_unknown_during_preview_is_not_reported():
    assert found("grafana-not-public", grafana_service(UNKNOWN), kps({"ingress": {"enabled": UNKNOWN}})) == []


# --- helm-chart-version-pinned --------------------------------------------------------------------------------------


def chart(version: Any = "1.2.3", repo: str = "https://charts.example.com", name: str = "exporter"):
    inputs: dict[str, Any] = {"chart": name, "namespace": "monitoring", "repositoryOpts": {"repo": repo}}
    if version is not None:
        inputs["version"] = version
    return res(RELEASE, f"{name}-release", inputs)


@pytest.mark.parametrize("release", [
    lambda: chart(),
    lambda: chart("v0.2.1-rc.1"),
    lambda: chart(None, name="./charts/local"),
    lambda: chart(None, name="oci://registry.example.com/charts/app@sha256:" + "a" * 64),
], ids=["exact", "prerelease", "local-chart", "oci-digest"])
def test_pinned_chart_passes(release):
    assert found("helm-chart-version-pinned", release()) == []


@pytest.mark.parametrize("release", [
    lambda: chart(None),
    lambda: chart("^1.2.0"),
    lambda: chart("1.x"),
    lambda: chart(repo="http://charts.example.com"),
], ids=["no-version", "caret-range", "wildcard", "plain-http"])
def test_unpinned_or_insecure_chart_is_reported(release):
    (violation,) = found("helm-chart-version-pinned", release(), config=stack_config("prod"))
    assert violation.enforcement == "mandatory"


def test_chart_version_unknown_during_preview_is_not_reported():
    assert found("helm-chart-version-pinned", chart(UNKNOWN)) == []


# --- fluent-bit-log-groups-precreated --------------------------------------------------------------------------------


def fluent_bit(**values: Any):
    return res(RELEASE, "fluent-bit", {"chart": "aws-for-fluent-bit", "version": "0.2.1",
                                       "namespace": "monitoring-agents",
                                       "repositoryOpts": {"repo": "https://aws.github.io/eks-charts"},
                                       "values": values})


def test_fluent_bit_writing_to_precreated_groups_passes():
    release = fluent_bit(cloudWatchLogs={"enabled": True, "autoCreateGroup": False},
                         additionalOutputs="[OUTPUT]\n    Name cloudwatch_logs\n    auto_create_group   false\n")
    assert found("fluent-bit-log-groups-precreated", release) == []


@pytest.mark.parametrize("values", [
    {},
    {"cloudWatchLogs": {"autoCreateGroup": True}},
    {"cloudWatchLogs": {"autoCreateGroup": False}, "cloudWatch": {"enabled": True}},
    {"cloudWatchLogs": {"autoCreateGroup": False}, "additionalOutputs": "[OUTPUT]\n    auto_create_group On\n"},
], ids=["chart-default", "explicit", "legacy-output", "extra-output"])
def test_fluent_bit_creating_its_own_groups_is_reported(values: dict[str, Any]):
    (violation,) = found("fluent-bit-log-groups-precreated", fluent_bit(**values), config=stack_config("dev"))
    assert violation.enforcement == "mandatory"


def test_auto_create_unknown_during_preview_is_not_reported():
    assert found("fluent-bit-log-groups-precreated", fluent_bit(cloudWatchLogs={"autoCreateGroup": UNKNOWN})) == []
