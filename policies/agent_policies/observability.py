"""Observability policies: alerts reach someone, every agent service is measured, dashboards stay private.

Log-group encryption and retention are checked by ``aws_logging``; here only what keeps log groups under
those checks (no log shipper creating its own groups) is added.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from ._common import (
    Report,
    Settings,
    StackIndex,
    fact,
    get,
    known,
    plain,
    resource_policy,
    soc2,
    stack_policy,
)

# Namespace and selector semantics shared with the workload policies.
from .stack import WORKLOAD_KINDS, Candidates, _namespace, _namespace_names, _selects, first_label, label_keys, plain_at

SNS_TOPIC = "aws:sns/topic:Topic"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
BUDGET = "aws:budgets/budget:Budget"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHART_V3 = "kubernetes:helm.sh/v3:Chart"
HELM_CHART_V4 = "kubernetes:helm.sh/v4:Chart"
PUBLIC_SERVICE_TYPES = ("LoadBalancer", "NodePort")
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
_LOCAL_CHART = re.compile(r"^(\.{0,2}/|file://)")


def _chart_name(chart: Any) -> str:
    """``prometheus-community/kube-prometheus-stack`` or ``oci://host/charts/grafana`` -> the chart's name."""
    return str(chart or "").rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]


# --- SNS ---------------------------------------------------------------------------------------------------------


def _check_sns_encrypted(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    key = get(args.props, "kmsMasterKeyId")
    if not key:
        report("kmsMasterKeyId is not set: alert messages (resource names, error details) are stored unencrypted.")
    elif str(key) in [str(k) for k in settings["disallowedKeys"]]:
        report(f"kmsMasterKeyId is {key}: the AWS-managed key's policy cannot admit CloudWatch, Budgets or Backup, "
               "so their notifications to this topic are silently dropped. Use a customer-managed key.")


# --- alarms and budgets --------------------------------------------------------------------------------------------


def _check_alarm_actions(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "actionsEnabled", default=True) is False:
        report("actionsEnabled is false: the alarm changes state without notifying anyone.")
    if not len(get(args.props, "alarmActions", default=[])):
        report("alarmActions is empty: entering ALARM notifies no one. Add the platform's alert topic.")
    if settings["requireOkActions"] and not len(get(args.props, "okActions", default=[])):
        report("okActions is empty: the recovery is never announced, so the incident stays open for whoever was "
               "paged. Add the alert topic to okActions.")


def _check_budget_notifications(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    notifications = get(args.props, "notifications", default=[])
    if not len(notifications):
        report("The budget has no notifications: overspend is discovered on the invoice.")
        return
    kinds = set()
    for i in range(len(notifications)):
        item = get(notifications, i)
        kinds.add(known(lambda item=item: get(item, "notificationType")))
        subscribers = (len(get(item, "subscriberSnsTopicArns", default=[]))
                       + len(get(item, "subscriberEmailAddresses", default=[])))
        if not subscribers:
            report(f"notifications[{i}] has no subscriber (SNS topic or email).")
    if settings["requireForecast"] and None not in kinds and "FORECASTED" not in kinds:
        report("No FORECASTED notification: the alert comes only once the money is spent.")


# --- every agent service is scraped ---------------------------------------------------------------------------------


def _monitor_namespaces(monitor: PolicyResource, names: Mapping[str, str]) -> set[str] | None:
    """Namespaces a monitor selects in; None means all of them."""
    selector = get(monitor.props, "spec", "namespaceSelector", default={})
    if get(selector, "any") is True:
        return None
    match = get(selector, "matchNames")
    if match:
        return {str(n) for n in plain(match)}
    return {_namespace(monitor, names)}


def _service_shape(svc: PolicyResource) -> tuple[dict[str, Any], dict[str, Any]]:
    """A Service's own labels (what a ServiceMonitor selects) and its pod selector (which pods it fronts)."""
    return plain_at(svc, "metadata", "labels"), plain_at(svc, "spec", "selector")


def _monitor_covers(monitor: PolicyResource, namespace: str, pod_labels: Mapping[str, str], services: _Fronting,
                    names: Mapping[str, str]) -> bool | None:
    """Whether ``monitor`` scrapes pods labelled ``pod_labels`` in ``namespace``; None while that is unknown.

    A ServiceMonitor scrapes the pods of the Services it selects, so it covers the pods when it selects one of
    the Services fronting them.
    """
    scope = fact("monitor-namespaces", monitor.urn, lambda: _monitor_namespaces(monitor, names))
    if scope is not None and namespace not in scope:
        return False
    selector = plain_at(monitor, "spec", "selector")
    if monitor.resource_type == POD_MONITOR or not services.in_namespace:
        # No Service in this stack (e.g. rendered by a chart): trust the shared name label convention.
        return _selects(selector, pod_labels)
    if any(_selects(selector, labels) for labels in services.fronting_labels):
        return True
    return None if services.unknown else False


@dataclass(frozen=True)
class _Fronting:
    """The stack's Services in a workload's namespace, seen from the workload's pods."""

    in_namespace: bool
    fronting_labels: list[dict[str, Any]]  # own labels of each Service whose selector selects the pods
    unknown: bool  # some Service's labels or selector are unknown until the update


def _shape(svc: PolicyResource) -> tuple[dict[str, Any], dict[str, Any]] | None:
    return known(lambda: fact("service-shape", svc.urn, lambda: _service_shape(svc)))


def _selector_label(svc: PolicyResource) -> tuple[str, Any] | None:
    shape = _shape(svc)
    return first_label({"matchLabels": shape[1]}) if shape is not None else None


def _fronting(services: Candidates, unknown: bool, pod_labels: Mapping[str, str]) -> _Fronting:
    """The Services of ``services`` (one namespace's) whose selector selects ``pod_labels``.

    Only a Service whose selector requires one of the pod's labels (or none) can select the pods, so only those
    are asked (``Candidates``); ``unknown``: some Service of the namespace has a shape unknown until the update.
    """
    labels: list[dict[str, Any]] = []
    for svc in services.likely(label_keys(pod_labels)):
        shape = _shape(svc)
        if shape is not None and shape[1] and _selects({"matchLabels": shape[1]}, pod_labels):
            labels.append(shape[0])
    return _Fronting(bool(services.all), labels, unknown)


def _monitor_label(monitor: PolicyResource) -> tuple[str, Any] | None:
    return first_label(plain_at(monitor, "spec", "selector"))


def _check_scraped(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    names = _namespace_names(args.resources)
    watched = {str(n) for n in settings["namespaces"]}
    index = StackIndex(args.resources)
    # A monitor covers a workload only by selecting its pods' or its Services' labels: those that require one of
    # them are asked first; every monitor only when none of those answers.
    monitors = Candidates(index.of_type(SERVICE_MONITOR, POD_MONITOR), _monitor_label)
    services_in: dict[str, list[PolicyResource]] = {}
    for svc in index.of_type(SERVICE):
        svc_namespace = known(lambda svc=svc: _namespace(svc, names))
        if svc_namespace is not None:
            services_in.setdefault(svc_namespace, []).append(svc)
    fronts = {ns: (Candidates(svcs, _selector_label), any(_shape(s) is None for s in svcs))
              for ns, svcs in services_in.items()}
    no_services = (Candidates([], _selector_label), False)
    for res in args.resources:
        kind = WORKLOAD_KINDS.get(res.resource_type)
        if kind is None:
            continue
        namespace = known(lambda res=res: _namespace(res, names))
        labels = known(lambda res=res: plain_at(res, "spec", "template", "metadata", "labels"))
        if namespace not in watched or labels is None:
            continue
        services = _fronting(*fronts.get(namespace, no_services), labels)
        keys = label_keys(labels)
        if keys is not None:
            keys = keys + [k for front in services.fronting_labels for k in label_keys(front) or ()]
        if monitors.any_or_unknown(keys, lambda m, ns=namespace, pod=labels, svcs=services:
                                   known(lambda: _monitor_covers(m, ns, pod, svcs, names))):
            continue
        name = known(lambda res=res: get(res.props, "metadata", "name")) or res.name
        report(f"{kind} {namespace}/{name} is scraped by no ServiceMonitor or PodMonitor: its request, latency, "
               "LLM and cost metrics never reach Prometheus, its alerts cannot fire and it is missing from the "
               "dashboards.", res.urn)


# --- Grafana stays private ------------------------------------------------------------------------------------------


def _is_grafana(name: Any, labels: Mapping[str, Any], pattern: re.Pattern[str]) -> bool:
    return bool(pattern.search(str(name or ""))) or labels.get("app.kubernetes.io/name") == "grafana"


def _check_grafana_private(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pattern = re.compile(str(settings["namePattern"]), re.IGNORECASE)
    props = args.props
    if args.resource_type == SERVICE:
        labels = plain(get(props, "metadata", "labels", default={}))
        if not _is_grafana(get(props, "metadata", "name"), labels, pattern):
            return
        kind = get(props, "spec", "type", default="ClusterIP")
        if kind in PUBLIC_SERVICE_TYPES:
            report(f"Grafana's Service is type {kind}: it is reachable from outside the cluster. Use ClusterIP and "
                   "kubectl port-forward.")
        if len(get(props, "spec", "externalIPs", default=[])):
            report("Grafana's Service has externalIPs: it is reachable from outside the cluster.")
    elif args.resource_type == INGRESS:
        if get(props, "spec", "ingressClassName") in [str(c) for c in settings["allowedIngressClasses"]]:
            return
        backends = [get(props, "spec", "defaultBackend", "service", "name")]
        rules = get(props, "spec", "rules", default=[])
        for i in range(len(rules)):
            paths = get(rules, i, "http", "paths", default=[])
            backends += [known(lambda j=j, p=paths: get(p, j, "backend", "service", "name")) for j in range(len(paths))]
        if any(pattern.search(str(b)) for b in backends if b):
            report("An Ingress routes to Grafana: its login page (and any weak or leaked credential) is exposed.")
    else:
        _check_grafana_chart_values(args, settings, report)


def _check_grafana_chart_values(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    charts = {str(k): str(v) for k, v in (settings["charts"] or {}).items()}
    chart = _chart_name(get(args.props, "chart"))
    if chart not in charts:
        return
    values = get(args.props, "values", default={})
    path = [p for p in charts[chart].split(".") if p]
    grafana = get(values, *path, default={}) if path else values
    if path and get(grafana, "enabled", default=True) is False:
        return
    where = ".".join([*path, ""])
    if get(grafana, "ingress", "enabled") is True:
        report(f"Chart {chart} sets {where}ingress.enabled: Grafana gets a public route.")
    kind = get(grafana, "service", "type", default="ClusterIP")
    if kind in PUBLIC_SERVICE_TYPES:
        report(f"Chart {chart} sets {where}service.type={kind}: Grafana is reachable from outside the cluster.")


# --- Helm charts are pinned ------------------------------------------------------------------------------------------


def _check_chart_pinned(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    props = args.props
    chart = get(props, "chart")
    if chart is None or _LOCAL_CHART.match(str(chart)):
        return  # a chart in this repository is versioned with it
    if "@sha256:" in str(chart):
        return
    version = get(props, "version")
    if not version:
        report(f"Chart {_chart_name(chart)} has no version: every update may install whatever the repository "
               "serves that day.")
    elif not _EXACT_VERSION.match(str(version)):
        report(f"Chart {_chart_name(chart)} version {version!r} is a range, not one release; pin an exact "
               "version (e.g. 1.2.3).")
    repo = get(props, "repositoryOpts", "repo") or get(props, "fetchOpts", "repo")
    if isinstance(repo, str) and repo.lower().startswith("http://"):
        report(f"Chart repository {repo} is plain HTTP: the chart can be swapped in transit. Use HTTPS or OCI.")


# --- log groups stay under the log-group policies ---------------------------------------------------------------------


def _check_no_auto_created_groups(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = _chart_name(get(args.props, "chart"))
    if chart not in [str(c) for c in settings["charts"]]:
        return
    values = get(args.props, "values", default={})
    # aws-for-fluent-bit: the cloudwatch_logs output is on and creates groups unless told otherwise.
    for output, enabled_by_default in (("cloudWatchLogs", True), ("cloudWatch", False)):
        section = get(values, output, default={})
        if get(section, "enabled", default=enabled_by_default) and get(section, "autoCreateGroup", default=True):
            report(f"values.{output}.autoCreateGroup is not false: Fluent Bit creates log groups itself, without "
                   "KMS encryption or retention. Create the groups in the program and set it to false.")
    for key in ("additionalOutputs",):
        text = str(get(values, key, default="") or "")
        if re.search(r"auto_create_group\s+(true|on)", text, re.IGNORECASE):
            report(f"values.{key} has auto_create_group on: that output creates unencrypted, unbounded log groups.")


POLICIES: list[Policy] = [
    resource_policy(
        "sns-topic-encrypted",
        description="SNS topics are encrypted with a customer-managed KMS key that alarm publishers may use.",
        resource_types=[SNS_TOPIC],
        check=_check_sns_encrypted,
        severity=Severity.MEDIUM,
        remediation="Set kms_master_key_id to a customer-managed key whose policy lets cloudwatch.amazonaws.com, "
                    "budgets.amazonaws.com and backup.amazonaws.com use it (components.core.alerts.AlertTopic does).",
        refs=[soc2("CC6.1")],
        config={"disallowedKeys": {"type": "array", "items": {"type": "string"}, "default": ["alias/aws/sns"],
                                   "description": "Keys a topic may not use (AWS-managed keys AWS services cannot "
                                                  "publish through)."}},
    ),
    resource_policy(
        "cloudwatch-alarm-has-action",
        description="Every CloudWatch alarm notifies on ALARM (and on OK) with actions enabled.",
        resource_types=[METRIC_ALARM, COMPOSITE_ALARM],
        check=_check_alarm_actions,
        severity=Severity.MEDIUM,
        remediation="Pass alarm_actions=[alert_topic_arn] and ok_actions=[alert_topic_arn] and leave actions_enabled "
                    "true (components.observability.alarms.Alarms.alarm does).",
        topic=("availability",),
        refs=[soc2("CC7.2")],
        config={"requireOkActions": {"type": "boolean", "default": True,
                                     "description": "Also require okActions so recoveries are announced."}},
    ),
    resource_policy(
        "budget-notifies-subscribers",
        description="AWS Budgets notify a subscriber, including on forecasted spend.",
        resource_types=[BUDGET],
        check=_check_budget_notifications,
        severity=Severity.LOW,
        remediation="Add notifications (FORECASTED at 80% and 100%, ACTUAL at 100%) with "
                    "subscriber_sns_topic_arns=[alert_topic_arn].",
        topic=("cost",),
        config={"requireForecast": {"type": "boolean", "default": True,
                                    "description": "Require at least one FORECASTED notification."}},
    ),
    stack_policy(
        "agent-services-scraped",
        description="Every Deployment and StatefulSet in the agent namespaces is scraped by a ServiceMonitor or "
                    "PodMonitor.",
        check=_check_scraped,
        severity=Severity.MEDIUM,
        remediation="Add the service to the stack config's services (ObservabilityStack then creates its "
                    "ServiceMonitor), or create a monitoring.coreos.com/v1 ServiceMonitor selecting its Service "
                    "by app.kubernetes.io/name with an endpoint on the port named http.",
        topic=("availability",),
        refs=[soc2("CC7.2")],
        config={"namespaces": {"type": "array", "items": {"type": "string"}, "default": ["agents"],
                               "description": "Namespaces whose workloads must be scraped."}},
    ),
    resource_policy(
        "grafana-not-public",
        description="Grafana is not exposed outside the cluster (no LoadBalancer or NodePort Service, no Ingress).",
        resource_types=[SERVICE, INGRESS, HELM_RELEASE],
        check=_check_grafana_private,
        severity=Severity.HIGH,
        remediation="Keep grafana.service.type=ClusterIP and grafana.ingress.enabled=false; reach Grafana with "
                    "`kubectl -n monitoring port-forward svc/grafana 3000:80` (docs/observability.md).",
        refs=[soc2("CC6.6")],
        config={
            "namePattern": {"type": "string", "default": "grafana",
                            "description": "Regex (case-insensitive) for Service and backend names that are Grafana."},
            "charts": {"type": "object", "additionalProperties": {"type": "string"},
                       "default": {"grafana": "", "kube-prometheus-stack": "grafana"},
                       "description": "Chart name to the values key holding Grafana's settings ('' for the root)."},
            "allowedIngressClasses": {"type": "array", "items": {"type": "string"}, "default": [],
                                      "description": "Ingress classes that are internal and authenticated."},
        },
    ),
    resource_policy(
        "helm-chart-version-pinned",
        description="Helm charts are installed at an exact version from a TLS-protected repository.",
        resource_types=[HELM_RELEASE, HELM_CHART_V3, HELM_CHART_V4],
        check=_check_chart_pinned,
        severity=Severity.MEDIUM,
        remediation="Set version to an exact chart release (e.g. version=\"79.7.1\") and "
                    "repository_opts={\"repo\": \"https://...\"}; upgrade by changing the pin in a reviewed commit.",
        topic=("security", "governance"),
        refs=[soc2("CC8.1")],
    ),
    resource_policy(
        "fluent-bit-log-groups-precreated",
        description="Log shippers write only to log groups the program created (encrypted, with retention).",
        resource_types=[HELM_RELEASE],
        check=_check_no_auto_created_groups,
        severity=Severity.MEDIUM,
        remediation="Create each group with components.core.logs.log_group and set "
                    "cloudWatchLogs.autoCreateGroup=false (and auto_create_group false in extra outputs).",
        topic=("security", "cost"),
        refs=[soc2("CC6.1")],
        config={"charts": {"type": "array", "items": {"type": "string"}, "default": ["aws-for-fluent-bit"],
                           "description": "Charts of log shippers whose outputs are checked."}},
    ),
]
