"""Agent services on EKS: prod's api, context service and queue worker, each hardened, scaled and isolated."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.services.eks.addons import EXTERNAL_SECRETS_VERSION, KEDA_VERSION
from config.images import is_digest_pinned
from config.services import SENSITIVE_NAME
from planning.model import Plan, PlannedResource
from tests.conftest import STACKS
from tests.harness import eks_plan, plan, review, tags_of

SERVICES = ("api", "context", "worker")
NAMESPACE = "agents"
COMPONENT = "agent-platform:services:AgentService"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
TRIGGER_AUTH = "kubernetes:keda.sh/v1alpha1:TriggerAuthentication"
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"

# Every service gets these, whatever its kind (child name suffix -> type).
COMMON = {
    "repo": REPOSITORY, "repo-lifecycle": LIFECYCLE, "role": ROLE, "role-policy": ROLE_POLICY,
    "sa": SERVICE_ACCOUNT, "config": CONFIG_MAP, "secret-store": SECRET_STORE, "external-secret": EXTERNAL_SECRET,
    "deployment": DEPLOYMENT, "service": SERVICE, "pdb": PDB, "network-policy": NETWORK_POLICY,
}
API_ONLY = {"hpa": HPA}
WORKER_ONLY = {"scaled-object": SCALED_OBJECT, "trigger-auth": TRIGGER_AUTH}


def prod() -> Plan:
    return plan("prod")


def child(p: Plan, service: str, role: str) -> PlannedResource:
    return p.one(COMMON.get(role) or API_ONLY.get(role) or WORKER_ONLY[role], f"service-{service}-{role}")


def pod_spec(p: Plan, service: str) -> dict[str, Any]:
    return child(p, service, "deployment").props["spec"]["template"]["spec"]


def app_container(p: Plan, service: str) -> dict[str, Any]:
    (container,) = pod_spec(p, service)["containers"]
    return container


def service_config(stack: str, service: str) -> dict[str, Any]:
    from planning.engine import read_stack_config

    return read_stack_config(stack)["agent-platform:services"][service]


def roles_of(p: Plan, service: str) -> set[str]:
    """The role suffixes of every resource registered under a service's component."""
    component = p.one(COMPONENT, f"service-{service}")
    prefix = f"service-{service}-"
    found = set()
    for res in p:
        if res.custom and p.component_of(res) == component:
            found.add(res.name.removeprefix(prefix))
    return found


# --- what each service gets ---------------------------------------------------------------------------------------


def test_prod_plans_an_api_a_context_service_and_a_queue_worker():
    p = prod()
    assert sorted(r.name for r in p.of_type(COMPONENT)) == [f"service-{s}" for s in SERVICES]
    kinds = {s: child(p, s, "deployment").props["spec"]["template"]["metadata"]["labels"]
             ["app.kubernetes.io/component"] for s in SERVICES}
    assert kinds == {"api": "api", "context": "api", "worker": "worker"}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_gets_its_full_set_of_resources(service: str):
    expected = set(COMMON) | (set(WORKER_ONLY) if service == "worker" else set(API_ONLY))
    assert roles_of(prod(), service) == expected


def test_a_worker_scales_on_its_queue_and_an_api_on_cpu_and_memory():
    p = prod()
    assert not [r for r in p.of_type(HPA) if r.name.startswith("service-worker")]
    assert not [r for r in p.of_type(SCALED_OBJECT) if not r.name.startswith("service-worker")]
    hpa = child(p, "api", "hpa").props["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]}
    assert targets == {"cpu": 70, "memory": 80}


def test_autoscalers_scale_up_fast_and_down_slowly_as_the_seeds_do():
    p = prod()
    seeds = {
        "scaleDown": {"stabilizationWindowSeconds": 300,
                      "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]},
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                                 {"type": "Pods", "value": 4, "periodSeconds": 15}]},
    }
    assert child(p, "api", "hpa").props["spec"]["behavior"] == seeds
    keda = child(p, "worker", "scaled-object").props["spec"]["advanced"]["horizontalPodAutoscalerConfig"]
    assert keda["behavior"] == seeds


def test_worker_scales_on_redis_list_length_with_credentials_from_the_synced_secret():
    p = prod()
    scaled = child(p, "worker", "scaled-object").props
    assert scaled["apiVersion"] == "keda.sh/v1alpha1" and scaled["metadata"]["namespace"] == NAMESPACE
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == "worker"
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 5)
    (trigger,) = spec["triggers"]
    redis = p.one("aws:elasticache/replicationGroup:ReplicationGroup")
    host = p.outputs["redisHost"]
    assert trigger["type"] == "redis" and redis.props["transitEncryptionEnabled"] is True
    assert trigger["metadata"] == {"address": f"{host}:6379", "listName": "agent:jobs", "listLength": "100",
                                   "databaseIndex": "0", "enableTLS": "true"}
    auth = child(p, "worker", "trigger-auth")
    assert trigger["authenticationRef"]["name"] == auth.props["metadata"]["name"]
    assert auth.props["spec"] == {"secretTargetRef": [{"parameter": "password", "name": "worker-secrets",
                                                       "key": "redis"}]}
    synced = child(p, "worker", "external-secret").props["spec"]
    assert synced["target"]["name"] == "worker-secrets"
    assert "redis" in [d["secretKey"] for d in synced["data"]]


def test_services_are_reachable_by_their_config_name_and_port():
    p = prod()
    for service in SERVICES:
        svc = child(p, service, "service").props
        port = service_config("prod", service).get("port", 8000)
        assert svc["metadata"]["name"] == service and svc["metadata"]["namespace"] == NAMESPACE
        assert svc["spec"]["type"] == "ClusterIP"
        assert svc["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP",
                                         "appProtocol": "http"}]
        assert svc["spec"]["selector"] == {"app.kubernetes.io/name": service}
        assert svc["metadata"]["labels"]["app.kubernetes.io/name"] == service
        assert p.outputs["serviceInternalUrls"][service] == f"http://{service}.{NAMESPACE}.svc.cluster.local:{port}"


@pytest.mark.parametrize("service", SERVICES)
def test_disruption_budget_keeps_all_but_one_pod(service: str):
    pdb = child(prod(), service, "pdb").props["spec"]
    assert pdb == {"maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": service}},
                   "unhealthyPodEvictionPolicy": "AlwaysAllow"}


# --- pods -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_pods_run_non_root_read_only_without_capabilities_under_seccomp(service: str):
    p = prod()
    pod = pod_spec(p, service)
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                      "fsGroup": 10001, "fsGroupChangePolicy": "OnRootMismatch",
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    ctx = app_container(p, service)["securityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] >= 10000
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["allowPrivilegeEscalation"] is False and ctx["privileged"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert not any("hostPath" in v for v in pod["volumes"])


@pytest.mark.parametrize("service", SERVICES)
def test_only_tmp_is_writable_and_secrets_are_read_only_files(service: str):
    p = prod()
    pod = pod_spec(p, service)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
    assert volumes["secrets"]["secret"]["secretName"] == f"{service}-secrets"
    mounts = {m["mountPath"]: m for m in app_container(p, service)["volumeMounts"]}
    assert set(mounts) == {"/tmp", "/var/run/secrets/agent-platform"}
    assert mounts["/var/run/secrets/agent-platform"]["readOnly"] is True


@pytest.mark.parametrize("service", SERVICES)
def test_probes_resources_and_image_come_from_config(service: str):
    p = prod()
    cfg = service_config("prod", service)
    container = app_container(p, service)
    assert container["image"] == cfg["image"] and is_digest_pinned(container["image"])
    assert container["ports"] == [{"name": "http", "containerPort": cfg["port"], "protocol": "TCP"}]
    probes = {k: container[k]["httpGet"]["path"] for k in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes == {"startupProbe": "/health", "livenessProbe": "/health", "readinessProbe": "/ready"}
    assert {container[k]["httpGet"]["port"] for k in probes} == {"http"}
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 150
    res = cfg["resources"]
    assert container["resources"] == {
        "requests": {"cpu": res["cpuRequest"], "memory": res["memoryRequest"]},
        "limits": {"cpu": res["cpuLimit"], "memory": res["memoryLimit"]},
    }


@pytest.mark.parametrize("service", SERVICES)
def test_rollouts_never_reduce_capacity_and_pods_spread_over_zones_and_nodes(service: str):
    p = prod()
    spec = child(p, service, "deployment").props["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}}
    spread = {c["topologyKey"]: c for c in spec["template"]["spec"]["topologySpreadConstraints"]}
    assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "ScheduleAnyway"
    for constraint in spread.values():
        assert constraint["labelSelector"] == {"matchLabels": {"app.kubernetes.io/name": service}}
        assert constraint["maxSkew"] == 1 and constraint["matchLabelKeys"] == ["pod-template-hash"]
    dev_spread = pod_spec(eks_plan("dev"), service)["topologySpreadConstraints"]
    assert {c["whenUnsatisfiable"] for c in dev_spread} == {"ScheduleAnyway"}, "dev's two nodes may share a zone"


@pytest.mark.parametrize("service", SERVICES)
def test_termination_drains_in_flight_llm_calls(service: str):
    p = prod()
    pod = pod_spec(p, service)
    container = app_container(p, service)
    grace = pod["terminationGracePeriodSeconds"]
    assert grace >= 120
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}
    config = child(p, service, "config").props["data"]
    assert int(config["SHUTDOWN_GRACE_SECONDS"]) == grace - 10 - 5
    assert pod_spec(p, "worker")["terminationGracePeriodSeconds"] == 300


@pytest.mark.parametrize("service", SERVICES)
def test_prometheus_scrapes_the_metrics_path_on_the_http_port(service: str):
    p = prod()
    template = child(p, service, "deployment").props["spec"]["template"]
    port = service_config("prod", service)["port"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port) and annotations["prometheus.io/path"] == "/metrics"
    assert len(annotations["agent-platform/config-checksum"]) == 64
    assert template["metadata"]["labels"]["app.kubernetes.io/name"] == service


# prod's services with independent settings changed at once (each test asserts its own): one plan.
TUNED_SERVICES = {"services.api.logLevel": "debug",
                  **{f"services.{name}.kubernetesApiAccess": True for name in SERVICES}}


def test_a_config_change_rolls_the_pods():
    before = child(prod(), "api", "deployment").props["spec"]["template"]["metadata"]["annotations"]
    after = child(plan("prod", TUNED_SERVICES), "api", "deployment").props  # api's logLevel debug
    assert after["spec"]["template"]["metadata"]["annotations"]["agent-platform/config-checksum"] != \
        before["agent-platform/config-checksum"]


# --- configuration and secrets ----------------------------------------------------------------------------------


def test_configmap_carries_settings_and_credential_free_endpoints():
    p = prod()
    data = child(p, "api", "config").props["data"]
    host = p.outputs["postgresHost"]
    assert data["POSTGRES_URL"] == f"postgresql://{host}:5432/agent_platform?sslmode=require"
    assert data["REDIS_URL"].startswith("rediss://") and "@" not in data["REDIS_URL"]
    assert data["CONTEXT_URL"] == "http://context.agents.svc.cluster.local:8001"
    assert (data["LOG_LEVEL"], data["LOG_FORMAT"], data["PORT"]) == ("info", "json", "8000")
    assert (data["RATE_LIMIT_REQUESTS"], data["RATE_LIMIT_WINDOW_SECONDS"]) == ("100", "60")
    assert data["DEFAULT_MODEL"] == "claude-sonnet-5-5" and data["MAX_CONVERSATION_MESSAGES"] == "100"
    assert data["S3_PREFIX"] == "api/" and data["SECRETS_DIR"] == "/var/run/secrets/agent-platform"
    assert child(p, "worker", "config").props["data"]["QUEUE_NAME"] == "agent:jobs"
    container = app_container(p, "api")
    assert container["envFrom"] == [{"configMapRef": {"name": "api-config"}}]


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_reaches_any_kubernetes_object(stack: str):
    p = eks_plan(stack)
    for res in p:
        if res.type.startswith("kubernetes:"):
            assert "mock-secret-value-of" not in json.dumps(res.props), f"{res.name} carries a secret value"
    assert not [r for r in p.of_type("kubernetes:core/v1:Secret") if r.name.startswith("service-")]
    for service in SERVICES:
        for env in app_container(p, service)["env"]:
            assert "value" not in env and "valueFrom" in env, env
        data = child(p, service, "config").props["data"]
        assert not [key for key in data if SENSITIVE_NAME.search(key)]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_syncs_exactly_the_secrets_it_lists_with_its_own_identity(service: str):
    p = prod()
    listed = service_config("prod", service)["secrets"]
    store = child(p, service, "secret-store").props
    assert store["spec"]["provider"]["aws"] == {
        "service": "SecretsManager", "region": "us-east-1",
        "auth": {"jwt": {"serviceAccountRef": {"name": service}}}}
    external = child(p, service, "external-secret").props["spec"]
    assert external["secretStoreRef"] == {"kind": "SecretStore", "name": store["metadata"]["name"]}
    assert [d["secretKey"] for d in external["data"]] == listed
    assert all(d["remoteRef"]["key"].startswith("arn:aws:secretsmanager:") for d in external["data"])
    release = p.one(RELEASE, "services-external-secrets")
    for kind in ("secret-store", "external-secret"):
        assert release.urn in child(p, service, kind).dependencies, "CRDs come with the chart"


def test_secret_arns_map_to_the_data_tier_secrets():
    p = prod()
    arns = {d["secretKey"]: d["remoteRef"]["key"] for d in child(p, "api", "external-secret").props["spec"]["data"]}
    assert arns["database"] == p.outputs["appDbSecretArn"]
    assert arns["redis"] == p.outputs["redisAuthSecretArn"]
    assert arns["jwt"] == p.outputs["jwtSecretArn"]
    assert arns["encryption-key"] == p.outputs["encryptionKeySecretArn"]
    assert arns["openai"] == p.outputs["llmKeySecretArns"]["openai"]


# --- identity ---------------------------------------------------------------------------------------------------------


def statements(p: Plan, service: str) -> dict[str, dict[str, Any]]:
    document = json.loads(child(p, service, "role-policy").props["policy"])
    return {s["Sid"]: s for s in document["Statement"]}


@pytest.mark.parametrize("service", SERVICES)
def test_iam_role_reads_only_its_own_secrets_and_s3_prefix(service: str):
    p = prod()
    found = statements(p, service)
    assert set(found) == {"ReadOwnSecrets", "DecryptOwnSecrets", "ListOwnPrefix", "ReadWriteOwnPrefix",
                          "UseDataKeyThroughS3"}
    for statement in found.values():
        assert statement["Effect"] == "Allow" and "*" not in json.dumps(statement["Action"])
    own = sorted(d["remoteRef"]["key"] for d in child(p, service, "external-secret").props["spec"]["data"])
    assert sorted(found["ReadOwnSecrets"]["Resource"]) == own
    assert found["ReadOwnSecrets"]["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert sorted(found["DecryptOwnSecrets"]["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"]) == own
    bucket = f"arn:aws:s3:::{p.outputs['dataBucketName']}"
    assert found["ListOwnPrefix"]["Resource"] == [bucket]
    assert found["ListOwnPrefix"]["Condition"] == {"StringLike": {"s3:prefix": [f"{service}/", f"{service}/*"]}}
    assert found["ReadWriteOwnPrefix"]["Resource"] == [f"{bucket}/{service}/*"]
    via_s3 = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert found["UseDataKeyThroughS3"]["Condition"] == via_s3


def test_a_service_cannot_read_another_services_secrets():
    p = prod()
    api = set(statements(p, "api")["ReadOwnSecrets"]["Resource"])
    context = set(statements(p, "context")["ReadOwnSecrets"]["Resource"])
    assert p.outputs["jwtSecretArn"] in api and p.outputs["jwtSecretArn"] not in context
    assert p.outputs["llmKeySecretArns"]["anthropic"] not in context


@pytest.mark.parametrize("service", SERVICES)
def test_role_is_assumable_only_by_the_services_own_account(service: str):
    p = prod()
    role = child(p, service, "role")
    (trust,) = json.loads(role.props["assumeRolePolicy"])["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = trust["Condition"]["StringEquals"]
    assert f"system:serviceaccount:{NAMESPACE}:{service}" in conditions.values()
    account = child(p, service, "sa").props
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == p.outputs["serviceRoleArns"][service]
    assert tags_of(role)["component"] == "services"


@pytest.mark.parametrize("service", SERVICES)
def test_no_kubernetes_api_token_is_mounted_unless_configured(service: str):
    p = prod()
    assert child(p, service, "sa").props["automountServiceAccountToken"] is False
    assert pod_spec(p, service)["automountServiceAccountToken"] is False
    opted = plan("prod", TUNED_SERVICES)  # every service opted in
    assert pod_spec(opted, service)["automountServiceAccountToken"] is True
    annotations = child(opted, service, "deployment").props["spec"]["template"]["metadata"]["annotations"]
    assert annotations["agent-platform/kubernetes-api-access"] == "true"
    assert child(opted, service, "sa").props["metadata"]["annotations"]["agent-platform/kubernetes-api-access"] == \
        "true"


# --- network isolation ----------------------------------------------------------------------------------------------


def namespace_from(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def test_namespace_is_restricted_and_denies_all_traffic_by_default():
    p = prod()
    (namespace,) = [r for r in p.of_type("kubernetes:core/v1:Namespace") if r.props["metadata"]["name"] == NAMESPACE]
    labels = namespace.props["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    deny = p.one(NETWORK_POLICY, "services-default-deny").props
    assert deny["metadata"]["namespace"] == NAMESPACE
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_apis_admit_the_edge_load_balancer_and_prometheus_only_on_their_port():
    p = prod()
    ingress = child(p, "api", "network-policy").props["spec"]["ingress"]
    # The ALB sends to pod IPs from its nodes in the public subnets (ip target groups), not from a namespace.
    public = sorted(r.props["cidrBlock"] for r in p.of_type("aws:ec2/subnet:Subnet") if "public" in r.name)
    assert len(public) == 3 and ingress[0] == {"from": [{"ipBlock": {"cidr": c}} for c in public],
                                               "ports": [{"protocol": "TCP", "port": 8000}]}
    assert ingress[1] == {"from": [namespace_from("monitoring")], "ports": [{"protocol": "TCP", "port": 8000}]}
    assert len(ingress) == 2


def test_callers_are_admitted_by_pod_and_the_worker_is_not_public():
    p = prod()
    context = child(p, "context", "network-policy").props["spec"]["ingress"]
    callers = {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}},
                        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "worker"}}}],
               "ports": [{"protocol": "TCP", "port": 8001}]}
    assert callers in context
    worker = child(p, "worker", "network-policy").props["spec"]["ingress"]
    assert worker == [{"from": [namespace_from("monitoring")], "ports": [{"protocol": "TCP", "port": 8080}]}]


@pytest.mark.parametrize("service", SERVICES)
def test_egress_is_dns_the_data_subnets_and_https_only(service: str):
    from config.network import NetworkConfig

    p = prod()
    spec = child(p, service, "network-policy").props["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": service}}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    dns, data, https, *calls = spec["egress"]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                          "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert dns["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    isolated = NetworkConfig(cidr="10.30.0.0/16", azCount=3).layout().isolated
    assert data["to"] == [{"ipBlock": {"cidr": c}} for c in isolated]
    assert data["ports"] == [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 6379}]
    assert https == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    expected_calls = [] if service == "context" else [
        {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "context"}}}],
         "ports": [{"protocol": "TCP", "port": 8001}]}]
    assert calls == expected_calls


# --- images -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_hardened_image_repository(service: str):
    p = prod()
    repo = child(p, service, "repo")
    assert repo.props["name"] == f"agent-platform-prod/{service}"
    assert repo.props["imageTagMutability"] == "IMMUTABLE"
    assert repo.props["imageScanningConfiguration"] == {"scanOnPush": True}
    (encryption,) = repo.props["encryptionConfigurations"]
    key = p.one("aws:kms/key:Key", "services-ecr-key")
    assert encryption["encryptionType"] == "KMS" and encryption["kmsKey"].startswith("arn:aws:kms:")
    assert key.urn in repo.dependencies and key.props["enableKeyRotation"] is True
    assert repo.protect and repo.props["forceDelete"] is False
    rules = json.loads(child(p, service, "repo-lifecycle").props["policy"])["rules"]
    assert rules == [{"rulePriority": 1, "description": "Keep the newest 30 images",
                      "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
                      "action": {"type": "expire"}}]
    assert tags_of(repo)["service"] == service


def test_dev_repositories_can_be_deleted_with_their_images():
    repo = child(plan("dev"), "api", "repo")
    assert repo.props["forceDelete"] is True and not repo.protect


# --- add-ons ----------------------------------------------------------------------------------------------------------


def test_external_secrets_and_keda_are_pinned_charts_in_restricted_namespaces():
    p = prod()
    eso, keda = p.one(RELEASE, "services-external-secrets").props, p.one(RELEASE, "services-keda").props
    assert (eso["chart"], eso["version"], eso["repositoryOpts"]) == (
        "external-secrets", EXTERNAL_SECRETS_VERSION, {"repo": "https://charts.external-secrets.io"})
    assert (keda["chart"], keda["version"], keda["repositoryOpts"]) == (
        "keda", KEDA_VERSION, {"repo": "https://kedacore.github.io/charts"})
    assert eso["values"]["installCRDs"] is True and keda["values"]["crds"]["install"] is True
    assert eso["values"]["replicaCount"] == 2 and keda["values"]["operator"]["replicaCount"] == 2
    namespaces = {r.props["metadata"]["name"]: r.props["metadata"]["labels"]
                  for r in p.of_type("kubernetes:core/v1:Namespace")}
    for ns in (eso["namespace"], keda["namespace"]):
        assert namespaces[ns]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert "mock-secret-value-of" not in json.dumps([eso["values"], keda["values"]])


def test_the_operators_hold_no_aws_role():
    p = prod()
    for release in ("services-external-secrets", "services-keda"):
        assert "eks.amazonaws.com/role-arn" not in json.dumps(p.one(RELEASE, release).props["values"])
    service_roles = [r for r in p.of_type(ROLE) if r.name.startswith("services-")]
    assert service_roles == []


def test_kubernetes_objects_wait_for_the_cluster_and_use_its_provider():
    p = prod()
    provider = p.one("pulumi:providers:kubernetes", "cluster-k8s")
    for service in SERVICES:
        for role in ("deployment", "service", "sa", "config", "network-policy"):
            res = child(p, service, role)
            assert res.provider_urn == provider.urn
    node_groups = {r.urn for r in p.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert node_groups <= set(child(p, "api", "deployment").dependencies)


# --- policy review ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_services_pass_every_policy(stack: str):
    result = review(plan(stack))
    ours = [v for v in result.violations if v.component == "services" or v.component.startswith("service-")]
    assert ours == [], "\n".join(f"{v.policy}: {v.resource_name}: {v.message}" for v in ours)


def test_prod_review_has_no_mandatory_violations():
    result = review(prod())
    assert result.mandatory == [], "\n".join(f"{v.policy}: {v.resource_name}: {v.message}" for v in result.mandatory)


def test_the_autoscaler_owns_replicas_after_the_first_deploy():
    """`pulumi up` must not reset replicas the HPA or KEDA scaled to; config only sets the starting count."""
    for deployment in prod().of_type("kubernetes:apps/v1:Deployment"):
        if deployment.name == "observability-redis-exporter-deployment":
            continue  # no autoscaler: one replica, set by the program (policies/config exempt it)
        assert "spec.replicas" in deployment.ignore_changes, deployment.name
