"""ObservabilityStack: every service scraped and charted, thresholds from the stack file, alerts that reach
someone, credentials that never appear in chart values, and a lighter dev from the tier preset alone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.observability.charts import (
    FLUENT_BIT,
    KUBE_PROMETHEUS_STACK,
    POSTGRES_EXPORTER,
    alertmanager_config,
)
from components.observability.rules import num
from config.observability import ObservabilityConfig, estimated_max_connections
from planning.engine import read_stack_config
from planning.mock_outputs import resource_outputs
from planning.model import Plan, PlannedResource
from planning.review import load_policy_config
from tests.harness import ADDED_SERVICES, STACKS, config_error, eks_plan, plan, review

RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def ours(p: Plan, type_: str) -> list[PlannedResource]:
    return [r for r in p.of_type(type_) if "ObservabilityStack" in r.urn]


def release(p: Plan, name: str) -> PlannedResource:
    return p.one(RELEASE, f"observability-{name}")


def kps_values(p: Plan) -> dict[str, Any]:
    return release(p, "kube-prometheus-stack").props["values"]


def rules(p: Plan) -> dict[str, dict[str, Any]]:
    groups = p.one(PROMETHEUS_RULE).props["spec"]["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def dashboard(p: Plan, key: str) -> dict[str, Any]:
    cm = p.one(CONFIG_MAP, f"observability-dashboard-{key}")
    return json.loads(cm.props["data"][f"{key}.json"])


def alarms(p: Plan) -> dict[str, PlannedResource]:
    return {r.props["name"].split("-", 3)[-1]: r for r in ours(p, ALARM)}


def arn_of(res: PlannedResource) -> str:
    """The ARN the (mock) provider gives the resource: outputs are not part of the recorded inputs."""
    return resource_outputs(res.type, res.name, res.inputs, "us-east-1")["arn"]


def topic_arn(p: Plan) -> str:
    return arn_of(p.one("aws:sns/topic:Topic", "alerts-topic"))


# --- the stack passes review ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_observability_has_no_mandatory_policy_violation(stack: str):
    result = review(plan(stack), load_policy_config(stack))
    ours_ = [v for v in result.mandatory if "observability" in (v.urn or "")]
    assert ours_ == [], "\n".join(f"{v.policy}: {v.message}" for v in ours_)


def test_prod_plans_with_zero_mandatory_violations():
    result = review(plan("prod"), load_policy_config("prod"))
    assert result.mandatory == [], "\n".join(f"{v.policy} {v.urn}: {v.message}" for v in result.mandatory)
    assert ours(plan("prod"), RELEASE), "the stack is in the prod plan"


# --- dev is lighter from config alone ------------------------------------------------------------------------------


def test_dev_is_lighter_than_prod_from_the_tier_preset_alone():
    own = read_stack_config("dev").get("agent-platform:observability", {})
    assert set(own) <= {"budgetScope"}, "dev sizes nothing itself (it only scopes its budget to its stack)"
    dev, prod = kps_values(eks_plan("dev")), kps_values(plan("prod"))

    def prometheus(values: dict[str, Any]) -> tuple[int, int, int]:
        spec = values["prometheus"]["prometheusSpec"]
        size = spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
        return int(spec["retention"].rstrip("d")), int(size.rstrip("Gi")), spec["replicas"]

    (dev_days, dev_gib, dev_replicas), (prod_days, prod_gib, prod_replicas) = prometheus(dev), prometheus(prod)
    assert (dev_days, dev_gib, dev_replicas) == (3, 20, 1)
    assert dev_days < prod_days and dev_gib < prod_gib and dev_replicas < prod_replicas
    assert dev["alertmanager"]["alertmanagerSpec"]["replicas"] < prod["alertmanager"]["alertmanagerSpec"]["replicas"]
    assert [v["prometheus"]["podDisruptionBudget"]["enabled"] for v in (dev, prod)] == [False, True]
    dev_logs = {r.props["retentionInDays"] for r in ours(eks_plan("dev"), LOG_GROUP)}
    prod_logs = {r.props["retentionInDays"] for r in ours(plan("prod"), LOG_GROUP)}
    assert dev_logs == {14} and prod_logs == {365}


def test_retention_size_keeps_headroom_on_the_volume():
    spec = kps_values(plan("prod"))["prometheus"]["prometheusSpec"]
    assert spec["retentionSize"] == "170GB"  # 85% of 200 GiB: old blocks go before the disk fills


# --- every service is scraped and charted --------------------------------------------------------------------------


def test_every_configured_service_gets_a_service_monitor():
    p = plan("prod")
    services = set(read_stack_config("prod")["agent-platform:services"])
    monitors = {r.props["metadata"]["name"]: r for r in p.of_type(SERVICE_MONITOR)
                if r.props["metadata"]["namespace"] == "agents"}
    assert set(monitors) == services
    for name, monitor in monitors.items():
        spec = monitor.props["spec"]
        assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": name}}
        assert spec["jobLabel"] == "app.kubernetes.io/name"
        assert [e["port"] for e in spec["endpoints"]] == ["http"]
        assert spec["endpoints"][0]["path"] == "/metrics"


def test_an_added_service_is_scraped_and_appears_on_the_llm_dashboard():
    p = plan("prod", ADDED_SERVICES)  # extra, scraped on /internal/metrics
    monitor = p.one(SERVICE_MONITOR, "observability-servicemonitor-extra")
    assert monitor.props["spec"]["endpoints"][0]["path"] == "/internal/metrics", "metricsPath is honoured"
    service_var = next(v for v in dashboard(p, "llm-agents")["templating"]["list"] if v["name"] == "service")
    assert "extra" in [o["value"] for o in service_var["options"]]
    assert "extra" in service_var["query"].split(",")
    groups = {g["name"]: g["rules"] for g in p.one(PROMETHEUS_RULE).props["spec"]["groups"]}
    assert any('job="extra"' in rule["expr"] for rule in groups["scrape-coverage"])
    result = review(p, load_policy_config("prod"))
    assert [v for v in result.violations if v.policy == "agent-services-scraped"] == []


def test_the_llm_dashboard_has_the_seed_panels_in_one_row_per_service():
    board = dashboard(plan("prod"), "llm-agents")
    repeated = [p for p in board["panels"] if p["type"] == "row" and p.get("repeat") == "service"]
    assert len(repeated) == 1, "one row, repeated for each configured service"
    titles = " | ".join(p["title"] for p in board["panels"]).lower()
    for panel in ("request rate", "latency p50 / p95", "error rate", "tool execution success rate",
                  "llm latency p95 by provider and model", "token usage", "llm cost per user", "active sessions",
                  "memory"):
        assert panel in titles, panel
    queries = json.dumps(board)
    for metric in ("http_requests_total", "http_request_duration_seconds_bucket", "agent_tool_executions_total",
                   "llm_request_duration_seconds_bucket", "llm_tokens_total", "llm_cost_dollars_total",
                   "agent_active_sessions", "container_memory_working_set_bytes"):
        assert metric in queries, metric


def test_panels_do_not_overlap():
    for key in ("llm-agents", "data-tier", "edge"):
        cells: set[tuple[int, int]] = set()
        for panel in dashboard(plan("prod"), key)["panels"]:
            pos = panel["gridPos"]
            area = {(pos["x"] + dx, pos["y"] + dy) for dx in range(pos["w"]) for dy in range(pos["h"])}
            assert not cells & area, f"{key}: {panel['title']} overlaps"
            assert pos["x"] + pos["w"] <= 24
            cells |= area


def test_dashboards_are_config_maps_grafana_picks_up():
    grafana = kps_values(plan("prod"))["grafana"]
    values = grafana["sidecar"]["dashboards"]
    # The dashboards live in `monitoring`, the release's namespace: the sidecar watches only it (no
    # searchNamespace, which would make the chart grant a ClusterRole) and only ConfigMaps.
    assert values["enabled"] is True and "searchNamespace" not in values and values["resource"] == "configmap"
    assert {r.props["metadata"]["namespace"] for r in ours(plan("prod"), CONFIG_MAP)
            if r.props["metadata"]["labels"].get("grafana_dashboard")} == {"monitoring"}
    assert (values["label"], values["labelValue"]) == ("grafana_dashboard", "1")
    boards = [r for r in ours(plan("prod"), CONFIG_MAP) if r.props["metadata"]["labels"].get("grafana_dashboard")]
    assert sorted(r.props["metadata"]["name"] for r in boards) == [
        "dashboard-data-tier", "dashboard-edge", "dashboard-llm-agents"]


def test_data_and_edge_dashboards_chart_the_real_instances():
    p = plan("prod")
    data = json.dumps(dashboard(p, "data-tier"))
    assert '"DBInstanceIdentifier": "agent-platform-prod-postgres"' in data
    assert "pg_stat_database_numbackends" in data and "redis_evicted_keys_total" in data
    edge = json.dumps(dashboard(p, "edge"))
    assert '"LoadBalancer": "app/' in edge and "TargetResponseTime" in edge
    # Per routed service from its own target group and the WAF's verdicts, all CloudWatch (no nginx metrics).
    assert "nginx_ingress_controller" not in edge
    assert edge.count('"TargetGroup": "targetgroup/') >= 2 * 5, "five per-service panels for api and context"
    assert '"p99"' in edge and '"BlockedRequests"' in edge and '"namespace": "AWS/WAFV2"' in edge


# --- thresholds from the stack file reach the rules ----------------------------------------------------------------


def test_seed_thresholds_are_the_defaults():
    found = rules(plan("staging"))
    assert found["AgentHighErrorRate"]["expr"].endswith("> 0.05") and found["AgentHighErrorRate"]["for"] == "5m"
    assert found["AgentHighLatencyP95"]["expr"].endswith("> 0.5")
    assert found["LlmHighLatencyP95"]["expr"].endswith("> 10")
    assert found["DatabaseConnectionPoolHigh"]["expr"].endswith("> 0.8")
    assert found["ContainerMemoryNearLimit"]["expr"].endswith("> 0.9")
    assert found["LlmDailyCostApproachingBudget"]["expr"].endswith("> 40")  # 80% of staging's $50
    for alert in ("PodCrashLooping", "HpaAtMaxReplicas", "PersistentVolumeAlmostFull", "RedisEvictingKeys"):
        assert alert in found


def test_the_stack_files_llm_budget_reaches_the_cost_rules():
    assert read_stack_config("prod")["agent-platform:observability"]["alerts"]["llmDailyBudgetUsd"] == 250
    found = rules(plan("prod"))
    assert found["LlmDailyBudgetExceeded"]["expr"].endswith("> 250")
    assert found["LlmDailyCostApproachingBudget"]["expr"].endswith("> 200")


# Every alert threshold prod leaves at its default changed at once, and a Slack webhook: the settings are independent,
# so one plan serves each test of a setting's effect (each asserts only its own).
TUNED_ALERTING: dict[str, Any] = {
    "observability.alerts": {"errorRatePercent": 2.5, "latencyP95Ms": 800, "forMinutes": 10,
                             "llmLatencyP95Seconds": 20, "dbConnectionPoolPercent": 70, "memoryPercent": 85,
                             "pvcUsagePercent": 75, "redisEvictions": 100},
    "observability.awsAlarms": {"rdsCpuPercent": 65, "albTargetP95Ms": 2000, "rdsMaxConnections": 1000,
                                "albTargetP99Ms": 60000, "wafBlockedPercent": 5},
    "alertSlackWebhookUrl": {"secure": "v1:set-with-pulumi-config-set-secret"},
    "observability.alertEmails": ["new@example.com", "oncall@example.com"],  # a new address listed first
}


def test_overridden_thresholds_reach_the_rendered_rules():
    found = rules(plan("prod", TUNED_ALERTING))
    assert found["AgentHighErrorRate"]["expr"].endswith("> 0.025") and found["AgentHighErrorRate"]["for"] == "10m"
    assert found["AgentHighLatencyP95"]["expr"].endswith("> 0.8")
    assert found["LlmHighLatencyP95"]["expr"].endswith("> 20")
    assert found["DatabaseConnectionPoolHigh"]["expr"].endswith("> 0.7")
    assert found["ContainerMemoryNearLimit"]["expr"].endswith("> 0.85")
    assert found["PersistentVolumeAlmostFull"]["expr"].endswith("> 0.75")
    assert found["RedisEvictingKeys"]["expr"].endswith("> 100")


def test_overridden_aws_alarm_thresholds_reach_the_alarms():
    found = alarms(plan("prod", TUNED_ALERTING))
    assert found["rds-cpu"].props["threshold"] == 65
    assert found["alb-target-p95"].props["threshold"] == 2.0
    assert found["rds-connections"].props["threshold"] == 800


def test_superseded_chart_rules_are_disabled_so_each_condition_pages_once():
    disabled = kps_values(plan("prod"))["defaultRules"]["disabled"]
    assert disabled == {"KubePodCrashLooping": True, "KubeHpaMaxedOut": True, "KubePersistentVolumeFillingUp": True}


# --- alert routing -------------------------------------------------------------------------------------------------


def test_alertmanager_sends_to_the_platform_topic_with_its_own_least_privilege_role():
    p = plan("prod")
    am = kps_values(p)["alertmanager"]
    topic = topic_arn(p)
    (sns,) = next(r for r in am["config"]["receivers"] if r["name"] == "sns")["sns_configs"]
    assert sns["topic_arn"] == topic and sns["send_resolved"] is True
    assert am["config"]["route"]["routes"][-1] == {"receiver": "sns", "matchers": ['severity =~ "warning|critical"']}
    role = p.one("aws:iam/role:Role", "observability-alertmanager-role")
    assert am["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == arn_of(role)
    trust = json.loads(role.props["assumeRolePolicy"])["Statement"][0]
    assert "system:serviceaccount:monitoring:alertmanager" in trust["Condition"]["StringEquals"].values()
    policy = json.loads(p.one("aws:iam/rolePolicy:RolePolicy", "observability-alertmanager-role-policy")
                        .props["policy"])
    actions = {a: s["Resource"] for s in policy["Statement"] for a in s["Action"]}
    assert actions["sns:Publish"] == [topic]
    assert set(actions) == {"sns:Publish", "kms:GenerateDataKey*", "kms:Decrypt"}
    assert actions["kms:Decrypt"] == [arn_of(p.one("aws:kms/key:Key", "alerts-key"))]


def test_slack_is_a_second_receiver_whose_webhook_never_appears_in_plain_text():
    assert "slack" not in json.dumps(kps_values(plan("prod"))["alertmanager"]["config"])
    p = plan("prod", TUNED_ALERTING)
    config = kps_values(p)["alertmanager"]["config"]
    slack = next(r for r in config["receivers"] if r["name"] == "slack")["slack_configs"][0]
    assert slack["api_url_file"] == "/etc/alertmanager/secrets/alertmanager-slack/webhook-url"
    assert kps_values(p)["alertmanager"]["alertmanagerSpec"]["secrets"] == ["alertmanager-slack"]
    assert p.one("kubernetes:external-secrets.io/v1:ExternalSecret", "observability-slack-webhook-sync")
    leaked = [r.name for r in p if "mock-secret-value-of-alertSlackWebhookUrl" in json.dumps(r.masked_inputs)]
    assert leaked == []
    stored = p.one("aws:secretsmanager/secretVersion:SecretVersion", "observability-alert-slack-webhook-value")
    assert stored.props["secretString"] == "mock-secret-value-of-alertSlackWebhookUrl"


def test_every_alarm_notifies_the_topic_on_alarm_and_on_recovery():
    p = plan("prod")
    topic = topic_arn(p)
    found = alarms(p)
    per_service = {f"edge-{svc}-{kind}" for svc in ("api", "context") for kind in ("5xx-rate", "p99",
                                                                                   "unhealthy-hosts")}
    assert set(found) == {"rds-cpu", "rds-free-storage", "rds-connections", "cache-cpu", "cache-memory",
                          "cache-evictions", "alb-5xx-rate", "alb-target-p95", "edge-waf-blocked", *per_service}
    for alarm in found.values():
        assert alarm.props["alarmActions"] == [topic] and alarm.props["okActions"] == [topic]
        assert alarm.props["actionsEnabled"] is True


def test_cache_alarms_watch_every_node_of_the_replication_group():
    p = plan("prod")
    queries = alarms(p)["cache-cpu"].props["metricQueries"]
    nodes = [q["metric"]["dimensions"]["CacheClusterId"] for q in queries if "metric" in q]
    assert len(nodes) == 3 and [n[-4:] for n in nodes] == ["-001", "-002", "-003"]
    assert queries[-1]["expression"] == "MAX([n0, n1, n2])"


def test_free_storage_alarm_is_a_share_of_the_allocated_storage():
    threshold = alarms(plan("prod"))["rds-free-storage"].props["threshold"]
    assert threshold == 100 * 2**30 * 0.10


def test_the_alb_error_alarm_is_a_rate_not_a_count():
    queries = alarms(plan("prod"))["alb-5xx-rate"].props["metricQueries"]
    expression = next(q["expression"] for q in queries if q.get("returnData"))
    assert "/ requests" in expression and "100 *" in expression


def test_each_routed_service_alarms_on_its_own_target_group():
    p = plan("prod")
    found = alarms(p)
    groups = {svc: p.one("aws:lb/targetGroup:TargetGroup", f"edge-{svc}-targets") for svc in ("api", "context")}
    for svc, group in groups.items():
        p99 = found[f"edge-{svc}-p99"].props
        assert p99["extendedStatistic"] == "p99" and p99["metricName"] == "TargetResponseTime"
        assert p99["threshold"] == 30.0, "aws_alarms.albTargetP99Ms default, in seconds"
        assert p99["dimensions"]["TargetGroup"].startswith("targetgroup/")
        assert group.urn in found[f"edge-{svc}-p99"].dependencies
        queries = found[f"edge-{svc}-5xx-rate"].props["metricQueries"]
        assert {q["metric"]["metricName"] for q in queries if "metric" in q} == {
            "HTTPCode_Target_5XX_Count", "RequestCount"}
        assert all("TargetGroup" in q["metric"]["dimensions"] for q in queries if "metric" in q)
        assert group.urn in found[f"edge-{svc}-unhealthy-hosts"].dependencies
    assert "alb-unhealthy-hosts" not in found, "replaced by the per-service alarms"
    changed = alarms(plan("prod", TUNED_ALERTING))
    assert changed["edge-api-p99"].props["threshold"] == 60.0
    assert changed["edge-waf-blocked"].props["threshold"] == 5


def test_waf_alarm_is_the_share_of_requests_the_web_acl_blocks():
    p = plan("prod")
    alarm = alarms(p)["edge-waf-blocked"]
    queries = alarm.props["metricQueries"]
    metrics = {q["metric"]["metricName"]: q["metric"] for q in queries if "metric" in q}
    assert set(metrics) == {"BlockedRequests", "AllowedRequests"}
    dims = metrics["BlockedRequests"]["dimensions"]
    assert metrics["BlockedRequests"]["namespace"] == "AWS/WAFV2"
    assert (dims["Region"], dims["Rule"]) == ("us-east-1", "ALL")
    assert p.one("aws:wafv2/webAcl:WebAcl").urn in alarm.dependencies
    assert "edge-waf-blocked" not in alarms(plan("dev")), "the VM runtime's alarms are unchanged"


def test_monthly_budget_alerts_on_forecast_at_80_and_100_percent():
    p = plan("prod")
    budget = p.one("aws:budgets/budget:Budget").props
    assert (budget["budgetType"], budget["timeUnit"], budget["limitAmount"]) == ("COST", "MONTHLY", "6000.00")
    forecast = sorted(n["threshold"] for n in budget["notifications"] if n["notificationType"] == "FORECASTED")
    assert forecast == [80, 100]
    assert all(n["subscriberSnsTopicArns"] == [topic_arn(p)] for n in budget["notifications"])


# --- Grafana and credentials ---------------------------------------------------------------------------------------


def test_grafana_is_cluster_internal_and_its_admin_login_comes_from_secrets_manager():
    p = plan("prod")
    grafana = kps_values(p)["grafana"]
    assert grafana["service"]["type"] == "ClusterIP" and grafana["ingress"]["enabled"] is False
    assert grafana["admin"] == {"existingSecret": "grafana-admin", "userKey": "admin-user",
                                "passwordKey": "admin-password"}
    assert "adminPassword" not in grafana
    sync = p.one("kubernetes:external-secrets.io/v1:ExternalSecret", "observability-grafana-admin-sync").props
    assert sync["spec"]["target"]["name"] == "grafana-admin"
    assert {d["remoteRef"]["property"] for d in sync["spec"]["data"]} == {"username", "password"}
    secret = p.one("aws:secretsmanager/secret:Secret", "observability-grafana-admin")
    assert secret.protect and secret.props["kmsKeyId"]
    assert p.one("random:index/randomPassword:RandomPassword", "observability-grafana-password")
    version = p.one("aws:secretsmanager/secretVersion:SecretVersion", "observability-grafana-admin-value")
    assert "m0ckm0ck" in version.props["secretString"], "the mock password is stored, as a secret"
    leaked = [r.name for r in p if "m0ckm0ck" in json.dumps(r.masked_inputs)]
    assert leaked == [], "generated passwords only ever appear as Pulumi secrets"


def test_the_secret_store_reads_only_the_observability_secrets():
    p = plan("prod")
    policy = json.loads(p.one("aws:iam/rolePolicy:RolePolicy", "observability-secrets-reader-role-policy")
                        .props["policy"])
    read = next(s for s in policy["Statement"] if s["Sid"] == "ReadObservabilitySecrets")
    assert len(read["Resource"]) == 3 and "*" not in read["Resource"]  # grafana, app db, redis auth
    decrypt = next(s for s in policy["Statement"] if s["Sid"] == "DecryptThroughSecretsManager")
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}


def test_exporters_read_credentials_from_synced_secrets_not_values():
    p = plan("prod")
    values = release(p, "postgres-exporter").props["values"]
    pg = values["config"]["datasource"]
    # Files of the mounted Secret, not env vars: a restart after a rotation reads the new value.
    assert (pg["userFile"], pg["passwordFile"]) == ("/etc/postgres-exporter/login/username",
                                                    "/etc/postgres-exporter/login/password")
    assert not {"password", "passwordSecret", "userSecret"} & set(pg) and pg["sslmode"] == "require"
    assert values["extraVolumes"] == [{"name": "login", "secret": {"secretName": "postgres-exporter",
                                                                   "defaultMode": 0o440}}]
    assert values["extraVolumeMounts"][0]["mountPath"] == "/etc/postgres-exporter/login"
    probe = values["livenessProbe"]
    assert probe["httpGet"] is None and "pg_up 1" in probe["exec"]["command"][-1]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 15 * 60
    env = {e["name"]: e for e in redis_exporter_pod(p)["containers"][0]["env"]}
    assert env["REDIS_PASSWORD"] == {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {
        "name": "redis-exporter", "key": "password"}}}
    assert env["REDIS_ADDR"]["value"].startswith("rediss://") and "@" not in env["REDIS_ADDR"]["value"]
    assert set(env) == {"REDIS_ADDR", "REDIS_PASSWORD"}


def redis_exporter_pod(p: Plan) -> dict[str, Any]:
    return p.one("kubernetes:apps/v1:Deployment", "observability-redis-exporter-deployment").props["spec"][
        "template"]["spec"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_redis_exporter_runs_as_hardened_as_its_chart_did(stack):
    """Deployed without its chart (its templates cannot carry a digest); the pod keeps the chart values' hardening."""
    p = eks_plan(stack)
    assert [r for r in p.of_type(RELEASE) if r.props["chart"] == "prometheus-redis-exporter"] == []
    pod = redis_exporter_pod(p)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"] == {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}
    assert container["livenessProbe"]["httpGet"]["port"] == container["readinessProbe"]["httpGet"]["port"]


def test_prometheus_scrapes_the_redis_exporter_through_its_service():
    """Service -> pod port and ServiceMonitor -> Service port line up as the chart had them (9121, redis-exporter)."""
    p = plan("prod")
    deployment = p.one("kubernetes:apps/v1:Deployment", "observability-redis-exporter-deployment")
    service = p.one("kubernetes:core/v1:Service", "observability-redis-exporter-service")
    monitor = p.one(SERVICE_MONITOR, "observability-redis-exporter-servicemonitor")
    pod_labels = deployment.props["spec"]["template"]["metadata"]["labels"]
    (container_port,) = redis_exporter_pod(p)["containers"][0]["ports"]
    (port,) = service.props["spec"]["ports"]
    assert container_port["containerPort"] == 9121 and port["port"] == 9121
    assert port["targetPort"] == container_port["name"] and port["name"] == "redis-exporter"
    assert service.props["spec"]["selector"].items() <= pod_labels.items()
    spec = monitor.props["spec"]
    assert spec["selector"]["matchLabels"].items() <= service.props["metadata"]["labels"].items()
    assert spec["namespaceSelector"] == {"matchNames": ["monitoring"]}
    assert [e["port"] for e in spec["endpoints"]] == ["redis-exporter"]
    assert monitor.props["metadata"]["namespace"] == service.props["metadata"]["namespace"] == "monitoring"


def test_only_the_redis_exporter_is_exempt_from_the_replica_rules():
    """One replica, as the chart ran it: two would scrape the cache twice and double every series."""
    for stack in ("staging", "prod"):
        cfg = load_policy_config(stack)
        for policy in ("k8s-workload-min-replicas", "workload-has-pod-disruption-budget", "workload-has-autoscaler"):
            assert cfg[policy]["exemptResources"] == ["observability-redis-exporter-deployment"], (stack, policy)


# --- charts, storage, ordering -------------------------------------------------------------------------------------


def test_helm_charts_are_pinned():
    pinned = {r.props["chart"]: r.props["version"] for r in ours(plan("prod"), RELEASE)}
    assert pinned == {c.name: c.version for c in (KUBE_PROMETHEUS_STACK, POSTGRES_EXPORTER, FLUENT_BIT)}


def test_prometheus_keeps_its_data_on_the_encrypted_storage_class():
    spec = kps_values(plan("prod"))["prometheus"]["prometheusSpec"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3-encrypted" and claim["resources"]["requests"]["storage"] == "200Gi"
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["ruleSelectorNilUsesHelmValues"] is False


def test_the_chart_installs_after_the_cluster_is_ready_and_the_secrets_are_synced():
    p = plan("prod")
    deps = set(release(p, "kube-prometheus-stack").dependencies)
    assert p.one("aws:eks/nodeGroup:NodeGroup").urn in deps
    assert p.one("kubernetes:external-secrets.io/v1:ExternalSecret", "observability-grafana-admin-sync").urn in deps
    monitor = p.one(SERVICE_MONITOR, "observability-servicemonitor-api")
    assert release(p, "kube-prometheus-stack").urn in monitor.dependencies, "CRDs come with the chart"


def test_node_agents_run_outside_the_restricted_monitoring_namespace():
    p = plan("prod")
    namespaces = {r.props["metadata"]["name"]: r.props["metadata"]["labels"]
                  for r in ours(p, "kubernetes:core/v1:Namespace")}
    assert namespaces["monitoring"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespaces["monitoring-agents"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert kps_values(p)["prometheus-node-exporter"]["namespaceOverride"] == "monitoring-agents"
    assert release(p, "fluent-bit").props["namespace"] == "monitoring-agents"
    exemptions = load_policy_config("prod")["k8s-namespace-pod-security"]["exemptResources"]
    assert exemptions == ["observability-node-agents-namespace"], "the one recorded exception"


# --- logs ----------------------------------------------------------------------------------------------------------


def test_container_logs_go_to_precreated_encrypted_groups_per_namespace():
    p = plan("prod")
    groups = {r.props["name"]: r for r in ours(p, LOG_GROUP)}
    assert "/agent-platform/prod/containers/agents" in groups
    assert "/agent-platform/prod/containers/unlisted" in groups
    assert all(g.props["kmsKeyId"] and g.props["retentionInDays"] == 365 for g in groups.values())
    values = release(p, "fluent-bit").props["values"]
    logs = values["cloudWatchLogs"]
    assert logs["autoCreateGroup"] is False
    assert logs["logGroupTemplate"] == "/agent-platform/prod/containers/$kubernetes['namespace_name']"
    assert logs["logGroupName"] == "/agent-platform/prod/containers/unlisted"
    assert "^(?!(?:agents|monitoring|" in values["additionalFilters"]
    assert "auto_create_group   false" in values["additionalOutputs"]


def test_fluent_bit_may_only_write_streams_into_its_groups():
    p = plan("prod")
    policy = json.loads(p.one("aws:iam/rolePolicy:RolePolicy", "observability-fluent-bit-role-policy").props["policy"])
    (statement,) = policy["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    groups = [r.props["name"] for r in ours(p, LOG_GROUP)]
    assert len(statement["Resource"]) == 2 * len(groups)
    assert all(":log-group:/agent-platform/prod/containers/" in arn for arn in statement["Resource"])


# --- optional inputs -----------------------------------------------------------------------------------------------


def test_the_stack_constructs_without_services_or_an_edge():
    p = eks_plan("dev", {"services": {}, "edge": None})
    assert [m for m in p.of_type(SERVICE_MONITOR) if m.props["metadata"]["namespace"] == "agents"] == []
    assert "alb-5xx-rate" not in alarms(p) and "rds-cpu" in alarms(p)
    names = sorted(r.props["metadata"]["name"] for r in ours(p, CONFIG_MAP))
    assert names == ["dashboard-data-tier", "dashboard-llm-agents"]
    groups = [g["name"] for g in p.one(PROMETHEUS_RULE).props["spec"]["groups"]]
    assert "scrape-coverage" not in groups and "agent-services" in groups


# --- config --------------------------------------------------------------------------------------------------------


BAD = [
    ("prod", {"observability.alertEmails": []}, "observability.alertEmails", "at least one address"),
    ("dev", {"observability.alertEmails": ["not-an-address"]}, "observability.alertEmails[0]", "not an email"),
    ("dev", {"observability.alerts.errorRatePercent": 0}, "observability.alerts.errorRatePercent", "greater than 0"),
    ("dev", {"observability.prometheus.volumeSizeGib": 5}, "observability.prometheus.volumeSizeGib", "10"),
    ("dev", {"observability.logs.namespaces": ["agents", "agents"]}, "observability.logs.namespaces", "once"),
    ("dev", {"dataTier.postgres.instanceClass": "db.m6g.medium"}, "observability.awsAlarms.rdsMaxConnections",
     "cannot be estimated"),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "phrase"), BAD, ids=[p for _, _, p, _ in BAD])
def test_bad_observability_config_is_rejected_before_anything_is_registered(stack, overrides, path, phrase):
    err = config_error(stack, overrides)
    assert path in err.paths, str(err)
    assert phrase.lower() in dict(err.issues)[path].lower()


# --- builders ---------------------------------------------------------------------------------------------------


def test_thresholds_render_as_promql_numbers():
    assert [num(v) for v in (5 / 100, 0.1 + 0.2, 10.0, 250, 2.5 / 100)] == ["0.05", "0.3", "10", "250", "0.025"]


@pytest.mark.parametrize(("instance_class", "connections"), [
    ("db.t4g.micro", 90), ("db.t4g.medium", 360), ("db.r7g.large", 1441), ("db.m7i.xlarge", 1441),
    ("db.r7g.16xlarge", 5000), ("db.serverless", None), ("db.r7g.metal", None),
])
def test_max_connections_is_estimated_the_way_rds_sets_it(instance_class: str, connections: int | None):
    assert estimated_max_connections(instance_class) == connections


def test_slack_is_notified_before_the_topic_and_both_receive_paging_alerts():
    config = alertmanager_config(ObservabilityConfig(), topic_arn=TOPIC, region="us-east-1", slack=True)
    routes = config["route"]["routes"]
    assert [r["receiver"] for r in routes] == ["null", "slack", "sns"]
    assert routes[1]["continue"] is True and routes[1]["matchers"] == routes[2]["matchers"]


def test_a_new_first_alert_address_renames_no_subscription():
    subscription = "aws:sns/topicSubscription:TopicSubscription"
    before = {s.name: s.props["endpoint"] for s in plan("prod").of_type(subscription)}
    after = {s.name: s.props["endpoint"] for s in plan("prod", TUNED_ALERTING).of_type(subscription)}
    assert before.items() <= after.items()
    assert after["alerts-email-new@example.com"] == "new@example.com"
    renamed = plan("prod").one(subscription, "alerts-email-oncall@example.com")
    assert [a.name for a in renamed.aliases] == ["alerts-email-0"]
