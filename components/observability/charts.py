"""Pinned Helm charts of the observability stack and the values each one is installed with.

Values never carry a secret: credentials reach the pods as Kubernetes Secrets that External Secrets
Operator writes from Secrets Manager, referenced here by name only.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.core.context import StackContext
from components.core.registry import chart_images
from components.observability.rules import SUPERSEDED_DEFAULT_RULES
from config.charts import FLUENT_BIT, KUBE_PROMETHEUS_STACK, POSTGRES_EXPORTER, Chart
from config.image_pins import merged
from config.observability import ObservabilityConfig

STORAGE_CLASS = "gp3-encrypted"  # the cluster's default, KMS-encrypted gp3 StorageClass

# Kubernetes names the rest of the stack (and the docs) refer to.
GRAFANA_SERVICE = "grafana"
GRAFANA_SERVICE_ACCOUNT = "grafana"
GRAFANA_ADMIN_SECRET = "grafana-admin"
ALERTMANAGER_SERVICE_ACCOUNT = "alertmanager"
SLACK_SECRET = "alertmanager-slack"
SLACK_SECRET_KEY = "webhook-url"
FLUENT_BIT_SERVICE_ACCOUNT = "fluent-bit"
POSTGRES_EXPORTER_SECRET = "postgres-exporter"
POSTGRES_EXPORTER_LOGIN_DIR = "/etc/postgres-exporter/login"
REDIS_EXPORTER_SECRET = "redis-exporter"
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_FOLDER_ANNOTATION = "grafana_folder"


__all__ = ["FLUENT_BIT", "KUBE_PROMETHEUS_STACK", "POSTGRES_EXPORTER", "Chart"]

NON_ROOT_POD = {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
                 "seccompProfile": {"type": "RuntimeDefault"}}
HARDENED_CONTAINER = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                       "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def resources(cpu: str, memory: str, memory_limit: str | None = None) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit or memory}}


def _volume(size_gib: int) -> dict[str, Any]:
    return {"volumeClaimTemplate": {"spec": {
        "storageClassName": STORAGE_CLASS, "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{size_gib}Gi"}}}}}


def _irsa(role_arn: pulumi.Input[str]) -> dict[str, Any]:
    return {"eks.amazonaws.com/role-arn": role_arn, "eks.amazonaws.com/sts-regional-endpoints": "true"}


def alertmanager_config(obs: ObservabilityConfig, *, topic_arn: pulumi.Input[str], region: str,
                        slack: bool) -> dict[str, Any]:
    """Route warning and critical alerts to the SNS topic (and Slack when a webhook is configured)."""
    am = obs.alertmanager
    paging = ['severity =~ "warning|critical"']
    routes: list[dict[str, Any]] = [
        # Watchdog proves the pipeline works by always firing; InfoInhibitor only mutes info alerts.
        {"receiver": "null", "matchers": ['alertname =~ "Watchdog|InfoInhibitor"']},
    ]
    receivers: list[dict[str, Any]] = [
        {"name": "null"},
        {"name": "sns", "sns_configs": [{
            "topic_arn": topic_arn,
            "sigv4": {"region": region},
            "subject": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})',
            "message": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n"
                       "labels: {{ range .Labels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}\n\n{{ end }}",
            "send_resolved": True,
        }]},
    ]
    if slack:
        routes.append({"receiver": "slack", "matchers": paging, "continue": True})
        receivers.append({"name": "slack", "slack_configs": [{
            "api_url_file": f"/etc/alertmanager/secrets/{SLACK_SECRET}/{SLACK_SECRET_KEY}",
            "send_resolved": True,
            "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
            "text": "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n{{ end }}",
        }]})
    routes.append({"receiver": "sns", "matchers": paging})
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "null",
            "group_by": ["alertname", "namespace", "severity"],
            "group_wait": f"{am.group_wait_seconds}s",
            "group_interval": f"{am.group_interval_minutes}m",
            "repeat_interval": f"{am.repeat_interval_hours}h",
            "routes": routes,
        },
        "receivers": receivers,
        "inhibit_rules": [{"source_matchers": ['severity = "critical"'], "target_matchers": ['severity = "warning"'],
                           "equal": ["alertname", "namespace"]}],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }


def kube_prometheus_stack_values(
    obs: ObservabilityConfig, stack: StackContext, *, node_agents_namespace: str, topic_arn: pulumi.Input[str],
    alertmanager_role_arn: pulumi.Input[str], grafana_role_arn: pulumi.Input[str], slack: bool,
) -> dict[str, Any]:
    """The stack's values; every image whose digest is recorded runs by digest (config/image_pins.py)."""
    prom, am, grafana = obs.prometheus, obs.alertmanager, obs.grafana
    return merged(chart_images(KUBE_PROMETHEUS_STACK.name), {
        # CRDs install with the chart; Helm never upgrades them. The chart's upgrade Job stays off on purpose: it
        # pulls busybox:latest and a kubectl tag by name (mutable) and runs with cluster-wide CRD write rights.
        # A chart bump applies the new CRDs first, server-side, as docs/kubernetes.md#crd-upgrades describes.
        "crds": {"enabled": True, "upgradeJob": {"enabled": False}},
        # EKS runs the control plane: its etcd, scheduler, controller manager and kube-proxy metrics are not
        # reachable, so scraping (and alerting on) them would only page for targets that cannot exist.
        "kubeEtcd": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeControllerManager": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "defaultRules": {
            "create": True,
            "rules": {"etcd": False, "kubeSchedulerAlerting": False, "kubeSchedulerRecording": False,
                      "kubeControllerManager": False, "kubeProxy": False},
            "disabled": dict.fromkeys(SUPERSEDED_DEFAULT_RULES, True),
        },
        "prometheusOperator": {
            "resources": resources("100m", "128Mi", "256Mi"),
            # The reloader sidecar runs in every Prometheus and Alertmanager pod; the patch Job creates the
            # admission webhook's certificate at install and upgrade.
            "prometheusConfigReloader": {"resources": resources("10m", "32Mi", "64Mi")},
            "admissionWebhooks": {"patch": {"resources": resources("10m", "32Mi", "64Mi")}},
        },
        "prometheus": {
            "service": {"type": "ClusterIP"},
            "ingress": {"enabled": False},
            # Node drains keep one replica scraping (and, below, one Alertmanager notifying) when there are two.
            "podDisruptionBudget": {"enabled": prom.replicas > 1, "minAvailable": 1},
            "prometheusSpec": {
                "replicas": prom.replicas,
                "retention": f"{prom.retention_days}d",
                "retentionSize": prom.retention_size,
                "scrapeInterval": f"{prom.scrape_interval_seconds}s",
                "evaluationInterval": f"{prom.scrape_interval_seconds}s",
                "storageSpec": _volume(prom.volume_size_gib),
                "resources": resources(prom.cpu_request, prom.memory_request),
                "podAntiAffinity": "soft",
                # Select every ServiceMonitor, PodMonitor and rule in the cluster, not only this release's.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "externalLabels": {"cluster": stack.name, "environment": stack.environment},
            },
        },
        "alertmanager": {
            "service": {"type": "ClusterIP"},
            "ingress": {"enabled": False},
            "podDisruptionBudget": {"enabled": am.replicas > 1, "minAvailable": 1},
            "serviceAccount": {"create": True, "name": ALERTMANAGER_SERVICE_ACCOUNT,
                               "annotations": _irsa(alertmanager_role_arn)},
            "config": alertmanager_config(obs, topic_arn=topic_arn, region=stack.region, slack=slack),
            "alertmanagerSpec": {
                "replicas": am.replicas,
                "storage": _volume(am.volume_size_gib),
                "secrets": [SLACK_SECRET] if slack else [],
                "resources": resources("50m", "64Mi", "128Mi"),
                "podAntiAffinity": "soft",
            },
        },
        "grafana": {
            "enabled": True,
            # A Role in `monitoring` instead of a ClusterRole on every namespace's ConfigMaps and Secrets (grafana
            # chart 10.2.0 templates/role.yaml and clusterrole.yaml): the sidecars only read this namespace.
            "rbac": {"create": True, "namespaced": True},
            "fullnameOverride": GRAFANA_SERVICE,
            "replicas": grafana.replicas,
            "defaultDashboardsTimezone": "utc",
            # The admin credential lives in Secrets Manager; ESO writes it into this Secret.
            "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "service": {"type": "ClusterIP", "port": 80},
            "ingress": {"enabled": False},
            "serviceAccount": {"create": True, "name": GRAFANA_SERVICE_ACCOUNT,
                               "annotations": _irsa(grafana_role_arn)},
            "persistence": {"enabled": False},
            "initChownData": {"enabled": False},
            "resources": resources(grafana.cpu_request, grafana.memory_request, "512Mi"),
            "securityContext": {"runAsNonRoot": True, "runAsUser": 472, "runAsGroup": 472, "fsGroup": 472,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "grafana.ini": {
                "auth.anonymous": {"enabled": False},
                "auth.basic": {"enabled": True},
                "users": {"allow_sign_up": False, "allow_org_create": False},
                "security": {"disable_gravatar": True, "cookie_samesite": "strict"},
                "analytics": {"reporting_enabled": False, "check_for_updates": False},
            },
            # searchNamespace left unset: the sidecars watch the release's namespace (`monitoring`), and only
            # ConfigMaps (`resource`, default "both"), so no Secret is ever read for a dashboard or data source.
            "sidecar": {
                "resources": resources("10m", "64Mi", "128Mi"),
                # The chart's default (grafana 10.2.0 values.yaml sidecar.securityContext), stated so the pack sees it.
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": "1",
                    "resource": "configmap",
                    "folderAnnotation": DASHBOARD_FOLDER_ANNOTATION,
                    "provider": {"foldersFromFilesStructure": True, "allowUiUpdates": False},
                },
                "datasources": {"enabled": True, "resource": "configmap"},
            },
            "additionalDataSources": [{
                "name": "CloudWatch", "type": "cloudwatch", "uid": "cloudwatch", "access": "proxy",
                "editable": False, "jsonData": {"authType": "default", "defaultRegion": stack.region},
            }],
        },
        "kube-state-metrics": {
            # Lets dashboards and rules join pod metrics to the service that owns the pod.
            "metricLabelsAllowlist": ["pods=[app.kubernetes.io/name]", "deployments=[app.kubernetes.io/name]"],
            # The subchart (kube-state-metrics 6.4.1 at kube-prometheus-stack 79.7.1) defaults to resources: {}.
            "resources": resources("20m", "128Mi", "256Mi"),
        },
        # node-exporter needs the host's network and PID namespaces: it runs in the node agents' namespace,
        # the only one whose Pod Security level allows that.
        # The chart's pod securityContext (prometheus-node-exporter 4.49.1 values.yaml) has no seccomp profile.
        "prometheus-node-exporter": {
            "namespaceOverride": node_agents_namespace,
            "resources": resources("20m", "32Mi", "64Mi"),
            "securityContext": {**NON_ROOT_POD},
            "containerSecurityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                         "capabilities": {"drop": ["ALL"]}},
        },
    })


def postgres_exporter_values(*, host: pulumi.Input[str], port: pulumi.Input[int], database: pulumi.Input[str],
                             scrape_interval_seconds: int, login_version: pulumi.Input[str]) -> dict[str, Any]:
    """The exporter logs in as its own pg_monitor role, read from files of the Secret ESO keeps current.

    postgres_exporter 0.18 reads DATA_SOURCE_{USER,PASS}_FILE once, at start: after a rotation its logins fail
    (pg_up 0), the mounted files already hold the new value (ESO refresh, then the kubelet's sync), and the
    liveness probe restarts it after 15 minutes of failed logins, longer than the PostgresUnreachable alert
    takes to fire on a real outage. A new value set by Pulumi (``login_version``) rolls the pod at once.
    Keys: prometheus-postgres-exporter 7.3.0 values.yaml (config.datasource.userFile, passwordFile, extraVolumes,
    extraVolumeMounts, annotations, livenessProbe, image). The image is pinned by digest (config/image_pins.py).
    """
    return merged(chart_images(POSTGRES_EXPORTER.name), {
        "config": {
            "datasource": {
                "host": host,
                "port": pulumi.Output.from_input(port).apply(str),
                "database": database,
                "sslmode": "require",
                "userFile": f"{POSTGRES_EXPORTER_LOGIN_DIR}/username",
                "passwordFile": f"{POSTGRES_EXPORTER_LOGIN_DIR}/password",
            },
        },
        "extraVolumes": [{"name": "login", "secret": {"secretName": POSTGRES_EXPORTER_SECRET, "defaultMode": 0o440}}],
        "extraVolumeMounts": [{"name": "login", "mountPath": POSTGRES_EXPORTER_LOGIN_DIR, "readOnly": True}],
        "annotations": {"agent-platform/login-version": login_version},
        "livenessProbe": {
            "httpGet": None,  # replaces the chart's default handler (a probe has exactly one)
            "exec": {"command": ["/bin/sh", "-c",
                                 "wget -q -O - http://127.0.0.1:9187/metrics | grep -q '^pg_up 1'"]},
            "periodSeconds": 60, "timeoutSeconds": 10, "failureThreshold": 15, "initialDelaySeconds": 60,
        },
        "serviceMonitor": {"enabled": True, "interval": f"{scrape_interval_seconds}s"},
        "rbac": {"create": True, "pspEnabled": False},
        "podSecurityContext": NON_ROOT_POD,
        "securityContext": HARDENED_CONTAINER,
        "resources": resources("50m", "64Mi", "128Mi"),
    })


def _opensearch_output(host: pulumi.Input[str] | None, region: str, index_prefix: str) -> dict[str, Any]:
    """The chart's opensearch output (aws-for-fluent-bit 0.2.0 values.yaml ``opensearch:``, rendered by
    templates/configmap.yaml as an [OUTPUT] Name opensearch): SigV4 with the pod's role, TLS on 443."""
    if host is None:
        return {"enabled": False}
    return {
        "enabled": True,
        "match": "*",
        "host": host,
        "port": "443",
        "tls": "On",
        "awsRegion": region,
        "awsAuth": "On",
        "logstashFormat": "On",
        "logstashPrefix": index_prefix,
        "suppressTypeName": "On",  # OpenSearch 2.x rejects mapping types
        "replaceDots": "On",  # Kubernetes labels with dots would clash with object fields
        "traceError": "On",
    }


def fluent_bit_values(obs: ObservabilityConfig, *, region: str, role_arn: pulumi.Input[str],
                      group_prefix: str, opensearch_host: pulumi.Input[str] | None = None,
                      index_prefix: str = "logs") -> dict[str, Any]:
    """Container logs to /<project>/<stack>/containers/<namespace>; unlisted namespaces to .../unlisted.

    Groups are created (encrypted, with retention) by Pulumi, never by Fluent Bit: autoCreateGroup is off.
    With a log search domain, every record also goes to OpenSearch (daily indices <index_prefix>-YYYY.MM.DD).
    """
    logs = obs.logs
    unlisted = f"{group_prefix}/unlisted"
    listed = "|".join(logs.namespaces)
    stream = "$kubernetes['pod_name'].$kubernetes['container_name']"
    # The image by the digest the registry serves for the chart's tag (config/image_pins.py UNPINNED).
    return merged(chart_images(FLUENT_BIT.name), {
        "serviceAccount": {"create": True, "name": FLUENT_BIT_SERVICE_ACCOUNT, "annotations": _irsa(role_arn)},
        "cloudWatch": {"enabled": False},
        "firehose": {"enabled": False},
        "kinesis": {"enabled": False},
        "elasticsearch": {"enabled": False},
        "opensearch": _opensearch_output(opensearch_host, region, index_prefix),
        "cloudWatchLogs": {
            "enabled": True,
            "match": "kube.*",
            "region": region,
            "logGroupName": unlisted,
            "logGroupTemplate": f"{group_prefix}/$kubernetes['namespace_name']",
            "logStreamPrefix": "fluentbit-",
            "logStreamTemplate": stream,
            "autoCreateGroup": False,
        },
        # Records of namespaces without their own group are re-tagged and shipped to the shared group.
        "additionalFilters": (
            "[FILTER]\n"
            "    Name          rewrite_tag\n"
            "    Match         kube.*\n"
            f"    Rule          $kubernetes['namespace_name'] ^(?!(?:{listed})$) unlisted.$TAG false\n"
            "    Emitter_Name  unlisted_namespaces\n"
        ),
        "additionalOutputs": (
            "[OUTPUT]\n"
            "    Name                cloudwatch_logs\n"
            "    Match               unlisted.*\n"
            f"    region              {region}\n"
            f"    log_group_name      {unlisted}\n"
            "    log_stream_prefix   fluentbit-\n"
            f"    log_stream_template $kubernetes['namespace_name'].{stream}\n"
            "    auto_create_group   false\n"
        ),
        "resources": resources("50m", "64Mi", logs.fluent_bit_memory_limit),
        # Root (UID 0) stays: the kubelet writes container logs root-owned and mode 0640 and the tail DB lives in the
        # host's /var/log; without capabilities root reads only what it owns. Everything else is taken away:
        # no capability, no privilege escalation, RuntimeDefault seccomp (chart 0.2.0: podSecurityContext and
        # containerSecurityContext, both empty by default).
        "podSecurityContext": {"runAsUser": 0, "runAsGroup": 0, "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {"allowPrivilegeEscalation": False, "privileged": False,
                                     "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
        "tolerations": [{"operator": "Exists"}],
        "priorityClassName": "system-node-critical",
        "serviceMonitor": {"enabled": True, "interval": f"{obs.prometheus.scrape_interval_seconds}s"},
    })
