"""Chart workloads, judged by the Helm release values that shape them.

The pod policies in ``kubernetes`` see only the objects the program declares; chart pods exist only as values.
These read every release's values the way the chart templates them: security contexts, resources, Grafana's
login, UI ingresses, and nginx snippet annotations (on any Ingress, and the controller switch that allows them).
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs, Severity

from ._common import (
    Report,
    Settings,
    checkov,
    cis_eks,
    dotted,
    get,
    known_plain,
    pss,
    resource_policy,
    soc2,
    walk,
)

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
_SECURITY_KEYS = {"privileged", "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser", "capabilities"}
DANGEROUS_CAPABILITIES = ("ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_RAW", "BPF")
# ingress-nginx annotations that inject raw nginx configuration (CVE-2021-25742, CVE-2025-1974 family).
_SNIPPET = re.compile(r"^nginx\.ingress\.kubernetes\.io/[a-z-]*snippet$")


def _chart(props: Any) -> str:
    return str(get(props, "chart") or "").rstrip("/").rsplit("/", 1)[-1]


def _values(args: ResourceValidationArgs) -> dict[str, Any]:
    values = known_plain(get(args.props, "values", default={}))
    return values if isinstance(values, dict) else {}


def _check_security_context(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = _chart(args.props)
    problems = []
    for path, value in walk(_values(args)):
        # A security context at any depth under a *securityContext key (charts such as keda nest them per
        # component: securityContext.operator.allowPrivilegeEscalation).
        if not isinstance(value, dict) or not _SECURITY_KEYS & set(value) or not any(
                str(p).lower().endswith("securitycontext") for p in path if not isinstance(p, int)):
            continue
        where = dotted(path)
        if value.get("privileged") is True:
            problems.append(f"{where}.privileged=true")
        if value.get("allowPrivilegeEscalation") is True:
            problems.append(f"{where}.allowPrivilegeEscalation=true")
        if value.get("runAsNonRoot") is False:
            problems.append(f"{where}.runAsNonRoot=false")
        if value.get("runAsUser") in (0, 0.0):
            problems.append(f"{where}.runAsUser=0")
        added = [str(c) for c in ((value.get("capabilities") or {}).get("add") or [])]
        bad = [c for c in added if c.upper().removeprefix("CAP_") in DANGEROUS_CAPABILITIES]
        if bad:
            problems.append(f"{where}.capabilities.add={bad}")
    for path, value in walk(_values(args)):
        if path and path[-1] in ("hostNetwork", "hostPID", "hostIPC") and value is True:
            problems.append(f"{dotted(path)}=true")
    if problems:
        report(f"Chart {chart} runs pods with {', '.join(problems)}: root, privileged or escalating containers "
               "that the restricted Pod Security Standard rejects (they fail only at rollout, or run where it is not "
               "enforced).")


def _missing_requests(resources: Any) -> list[str]:
    if not isinstance(resources, dict):
        return ["requests", "limits.memory"]
    missing = [f"requests.{k}" for k in ("cpu", "memory") if not (resources.get("requests") or {}).get(k)]
    if not (resources.get("limits") or {}).get("memory"):
        missing.append("limits.memory")
    return missing


def _check_resources(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = _chart(args.props)
    values = _values(args)
    required = (settings["requiredPaths"] or {}).get(chart)
    problems = []
    if required is not None:
        for prefix in required:
            path = [p for p in str(prefix).split(".") if p]
            node: Any = values
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict) and node.get("enabled") is False:
                continue
            resources = node.get("resources") if isinstance(node, dict) else None
            missing = _missing_requests(resources)
            if missing:
                problems.append(f"{'.'.join([*path, 'resources'])} lacks {', '.join(missing)}")
    else:
        # A resources block is a mapping with requests/limits under a "resources" key, at any depth (charts such
        # as keda nest them per component: resources.operator.requests).
        found = [(p, v) for p, v in walk(values) if "resources" in p and isinstance(v, dict)
                 and ("requests" in v or "limits" in v or (p[-1] == "resources" and not v))
                 and "storage" not in (v.get("requests") or {})]
        if not found:
            problems.append("no resources are set anywhere in the values")
        for path, resources in found:
            missing = _missing_requests(resources)
            if missing:
                problems.append(f"{dotted(path)} lacks {', '.join(missing)}")
    if problems:
        report(f"Chart {chart}: {'; '.join(problems)}. Pods without requests are scheduled blind and evicted first; "
               "without a memory limit one leak can take the node.")


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _check_grafana(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = _chart(args.props)
    for path, value in walk(_values(args)):
        if not path:
            continue
        key = str(path[-1])
        if key == "auth.anonymous" and isinstance(value, dict) and _truthy(value.get("enabled")):
            report(f"Chart {chart} sets {dotted(path)}.enabled: anyone who reaches Grafana browses its dashboards "
                   f"(as role {value.get('org_role', 'Viewer')}) without logging in.")
        elif key == "GF_AUTH_ANONYMOUS_ENABLED" and _truthy(value):
            report(f"Chart {chart} sets {dotted(path)}: Grafana allows anonymous access.")


def _check_ui_ingress(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = _chart(args.props)
    components = [str(c) for c in settings["internalComponents"]]
    for path, value in walk(_values(args)):
        if len(path) < 2 or path[-1] != "ingress" or not isinstance(value, dict) or not _truthy(value.get("enabled")):
            continue
        owner = str(path[-2])
        if "*" in components or owner in components or chart in components:
            report(f"Chart {chart} sets {dotted(path)}.enabled: the {owner} UI/API (no authentication of its own) "
                   "gets an Ingress. Reach it with kubectl port-forward or through an authenticating proxy.")


def _check_snippets(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if args.resource_type == INGRESS:
        annotations = known_plain(get(args.props, "metadata", "annotations", default={})) or {}
        found = sorted(k for k in annotations if _SNIPPET.match(str(k)))
        if found:
            report(f"Ingress sets {', '.join(found)}: snippet annotations inject raw nginx configuration, which lets "
                   "anyone who can edit an Ingress read the controller's credentials (CVE-2021-25742).")
        return
    chart = _chart(args.props)
    for path, value in walk(_values(args)):
        if path and path[-1] == "allowSnippetAnnotations" and _truthy(value):
            report(f"Chart {chart} sets {dotted(path)}=true: Ingress snippet annotations are honoured.")
        elif path and str(path[-1]).endswith("-snippet") and path[-2:-1] == ("config",) and value:
            report(f"Chart {chart} sets the global {dotted(path)}: raw nginx configuration in the controller.")


POLICIES: list[Policy] = [
    resource_policy(
        "helm-values-pod-security",
        description="Helm release values never run chart pods privileged, as root, with privilege escalation, "
                    "dangerous capabilities or host namespaces.",
        resource_types=[HELM_RELEASE],
        check=_check_security_context,
        severity=Severity.HIGH,
        remediation="Set the chart's (pod)SecurityContext values: runAsNonRoot: true, a non-zero runAsUser, "
                    "allowPrivilegeEscalation: false, capabilities.drop [ALL], no privileged/host* settings.",
        refs=[pss("restricted/privilege-escalation"), pss("restricted/running-as-non-root"),
              pss("baseline/privileged-containers"), pss("baseline/capabilities"), pss("baseline/host-namespaces"),
              cis_eks("4.2.5", "Minimize the admission of containers with allowPrivilegeEscalation"),
              cis_eks("4.2.6", "Minimize the admission of root containers"),
              checkov("CKV_K8S_20"), checkov("CKV_K8S_23")],
    ),
    resource_policy(
        "helm-values-resources",
        description="Helm release values give chart pods CPU and memory requests and a memory limit.",
        resource_types=[HELM_RELEASE],
        check=_check_resources,
        severity=Severity.MEDIUM,
        remediation="Set <component>.resources.requests.cpu/memory and limits.memory for every component the chart "
                    "deploys (requiredPaths lists them for multi-component charts).",
        topic=("availability",),
        refs=[checkov("CKV_K8S_10"), checkov("CKV_K8S_12"), checkov("CKV_K8S_13")],
        config={"requiredPaths": {
            "type": "object",
            # Components of kube-prometheus-stack 79.x that run pods, by values key (the chart's values.yaml and
            # those of its grafana, kube-state-metrics and prometheus-node-exporter subcharts).
            "default": {"kube-prometheus-stack": ["prometheusOperator", "prometheus.prometheusSpec",
                                                  "alertmanager.alertmanagerSpec", "grafana", "kube-state-metrics",
                                                  "prometheus-node-exporter"]},
            "description": "Per chart, the values paths whose .resources must be set (other charts: every "
                           "resources block present, and at least one)."}},
    ),
    resource_policy(
        "grafana-no-anonymous-access",
        description="Grafana, wherever a chart deploys it, does not allow anonymous access.",
        resource_types=[HELM_RELEASE],
        check=_check_grafana,
        severity=Severity.HIGH,
        remediation="Set grafana.ini auth.anonymous.enabled: false (the default) and log in with the admin "
                    "credentials from admin.existingSecret.",
        refs=[soc2("CC6.1")],
    ),
    resource_policy(
        "helm-no-internal-ui-ingress",
        description="Charts do not create Ingresses for internal UIs and APIs without their own authentication "
                    "(Alertmanager, Prometheus, Grafana).",
        resource_types=[HELM_RELEASE],
        check=_check_ui_ingress,
        severity=Severity.HIGH,
        remediation="Set <component>.ingress.enabled: false; use kubectl port-forward, or an authenticating proxy "
                    "in front of the UI.",
        refs=[soc2("CC6.6")],
        config={"internalComponents": {
            "type": "array", "items": {"type": "string"},
            "default": ["alertmanager", "prometheus", "grafana", "thanosRuler", "kube-state-metrics",
                        "prometheus-node-exporter", "prometheusOperator"],
            "description": "Values keys (or chart names, or \"*\") whose ingress must stay disabled."}},
    ),
    resource_policy(
        "ingress-no-snippet-annotations",
        description="No Ingress uses nginx snippet annotations, and no ingress-nginx release allows them.",
        resource_types=[INGRESS, HELM_RELEASE],
        check=_check_snippets,
        severity=Severity.HIGH,
        remediation="Remove *-snippet annotations (use the controller's dedicated annotations instead) and keep "
                    "controller.allowSnippetAnnotations: false.",
        refs=[checkov("CKV_K8S_153", "Prevent All NGINX Ingress annotation snippets. See CVE-2021-25742")],
    ),
]
