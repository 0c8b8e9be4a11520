"""Kubernetes workload policies: each passes a hardened workload, catches a violating one, ignores unknowns."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.policies.support import UNKNOWN, found, res, run

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRON_JOB = "kubernetes:batch/v1:CronJob"
JOB = "kubernetes:batch/v1:Job"
POD = "kubernetes:core/v1:Pod"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
RELEASE = "kubernetes:helm.sh/v3:Release"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"111122223333.dkr.ecr.us-east-1.amazonaws.com/agent-platform-prod/api@{DIGEST}"

CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": IMAGE,
    "ports": [{"name": "http", "containerPort": 8000}],
    "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "LOG_LEVEL", "value": "info"}],
    "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "privileged": False,
                        "capabilities": {"drop": ["ALL"]}},
    "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
    "startupProbe": {"httpGet": {"path": "/health", "port": "http"}},
}
POD_SPEC: dict[str, Any] = {
    "serviceAccountName": "api",
    "automountServiceAccountToken": False,
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [CONTAINER],
    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                {"name": "secrets", "secret": {"secretName": "api-secrets"}}],
}
WORKLOAD_POLICIES = [
    "k8s-no-privileged-containers", "k8s-no-host-namespaces", "k8s-no-host-paths-or-ports",
    "k8s-no-privilege-escalation", "k8s-run-as-non-root", "k8s-drop-all-capabilities",
    "k8s-seccomp-runtime-default", "k8s-read-only-root-filesystem", "k8s-resources-defined", "k8s-health-probes",
    "k8s-image-pinned", "k8s-service-account-token-mount", "k8s-no-secret-literals",
]


def pod(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(POD_SPEC)
    spec.update(changes)
    return spec


def container(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(CONTAINER)
    spec.update(changes)
    return spec


def security(**changes: Any) -> dict[str, Any]:
    return {**CONTAINER["securityContext"], **changes}


def deployment(spec: dict[str, Any] | None = None, *, annotations: dict[str, str] | None = None,
               namespace: str | None = "agents", name: str = "api"):
    metadata: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/name": name}}
    if namespace is not None:
        metadata["namespace"] = namespace
    template: dict[str, Any] = {"metadata": {"labels": {"app.kubernetes.io/name": name}}, "spec": spec or pod()}
    if annotations:
        template["metadata"]["annotations"] = annotations
    return res(DEPLOYMENT, f"service-{name}-deployment", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}, "template": template},
    })


def with_container(**changes: Any):
    return deployment(pod(containers=[container(**changes)]))


def found_all(*resources):
    """Every Kubernetes policy's violations for the resources."""
    return [v for v in run(*resources).violations if v.policy.startswith("k8s-")]


@pytest.mark.parametrize("policy", WORKLOAD_POLICIES)
def test_hardened_service_deployment_passes(policy: str):
    assert found(policy, deployment()) == []


@pytest.mark.parametrize("policy", WORKLOAD_POLICIES)
def test_a_workload_whose_pod_spec_is_unknown_reports_nothing(policy: str):
    unknown = res(DEPLOYMENT, "service-api-deployment", {"metadata": {"name": "api", "namespace": "agents"},
                                                        "spec": {"template": {"spec": UNKNOWN}}})
    assert found(policy, unknown) == []


def test_seed_manifest_shape_fails_every_hardening_policy():
    # The seed guides' agent Deployment: root-capable, writable, no seccomp, the host Docker socket mounted.
    seed = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1001, "fsGroup": 1001},
        "containers": [{
            "name": "agent", "image": "your-registry/llm-agent:v1.0.0",
            "env": [{"name": "OPENROUTER_API_KEY", "value": "sk-or-live"}],
            "resources": {"requests": {"memory": "1Gi", "cpu": "500m"}, "limits": {"memory": "2Gi", "cpu": "1"}},
            "livenessProbe": {"httpGet": {"path": "/health", "port": 3000}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 3000}},
            "volumeMounts": [{"name": "docker-socket", "mountPath": "/var/run/docker.sock"}],
        }],
        "volumes": [{"name": "docker-socket", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}],
    }
    failing = {v.policy for v in found_all(deployment(seed))}
    assert {"k8s-no-host-paths-or-ports", "k8s-no-privilege-escalation", "k8s-run-as-non-root",
            "k8s-drop-all-capabilities", "k8s-seccomp-runtime-default", "k8s-read-only-root-filesystem",
            "k8s-image-pinned", "k8s-service-account-token-mount", "k8s-no-secret-literals"} <= failing


# --- k8s-no-privileged-containers ------------------------------------------------------------------------------


def test_privileged_container_is_reported():
    (violation,) = found("k8s-no-privileged-containers", with_container(securityContext=security(privileged=True)))
    assert "privileged" in violation.message


def test_privileged_init_container_in_a_cron_job_is_reported():
    spec = pod(initContainers=[container(name="setup", securityContext=security(privileged=True))])
    cron = res(CRON_JOB, "cleanup", {"metadata": {"name": "cleanup", "namespace": "agents"},
                                     "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}})
    (violation,) = found("k8s-no-privileged-containers", cron)
    assert "initContainers[0] setup" in violation.message


def test_unknown_privileged_flag_reports_nothing():
    assert found("k8s-no-privileged-containers", with_container(securityContext=security(privileged=UNKNOWN))) == []


# --- k8s-no-host-namespaces ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["hostNetwork", "hostPID", "hostIPC"])
def test_host_namespaces_are_reported(field: str):
    (violation,) = found("k8s-no-host-namespaces", deployment(pod(**{field: True})))
    assert field in violation.message


def test_host_network_on_a_bare_pod_is_reported():
    bare = res(POD, "debug", {"metadata": {"name": "debug", "namespace": "agents"}, "spec": pod(hostNetwork=True)})
    assert len(found("k8s-no-host-namespaces", bare)) == 1


def test_unknown_host_network_reports_nothing():
    assert found("k8s-no-host-namespaces", deployment(pod(hostNetwork=UNKNOWN))) == []


# --- k8s-no-host-paths-or-ports ------------------------------------------------------------------------------------


def test_docker_socket_mount_is_reported_as_a_runtime_socket():
    volumes = [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}}]
    (violation,) = found("k8s-no-host-paths-or-ports", deployment(pod(volumes=volumes)))
    assert "container runtime socket" in violation.message


def test_host_path_and_host_port_are_reported():
    spec = pod(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}],
               containers=[container(ports=[{"containerPort": 8000, "hostPort": 8000}])])
    messages = [v.message for v in found("k8s-no-host-paths-or-ports", deployment(spec))]
    assert len(messages) == 2 and any("/var/log" in m for m in messages) and any("hostPort 8000" in m for m in messages)


def test_allowed_host_paths_come_from_config():
    spec = pod(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}])
    config = {"k8s-no-host-paths-or-ports": {"allowedHostPaths": ["/var/log"]}}
    assert found("k8s-no-host-paths-or-ports", deployment(spec), config=config) == []


def test_unknown_host_path_reports_nothing():
    spec = pod(volumes=[{"name": "x", "hostPath": {"path": UNKNOWN}}])
    assert found("k8s-no-host-paths-or-ports", deployment(spec)) == []


# --- k8s-no-privilege-escalation --------------------------------------------------------------------------------


def test_privilege_escalation_not_disabled_is_reported():
    sec = security()
    del sec["allowPrivilegeEscalation"]
    assert len(found("k8s-no-privilege-escalation", with_container(securityContext=sec))) == 1
    assert len(found("k8s-no-privilege-escalation",
                     with_container(securityContext=security(allowPrivilegeEscalation=True)))) == 1


def test_unknown_privilege_escalation_reports_nothing():
    sec = security(allowPrivilegeEscalation=UNKNOWN)
    assert found("k8s-no-privilege-escalation", with_container(securityContext=sec)) == []


# --- k8s-run-as-non-root --------------------------------------------------------------------------------------------


def test_root_capable_pod_is_reported():
    spec = pod(securityContext={"seccompProfile": {"type": "RuntimeDefault"}})
    messages = [v.message for v in found("k8s-run-as-non-root", deployment(spec))]
    assert any("may run as root" in m for m in messages) and any("runAsUser" in m for m in messages)


def test_low_uid_is_reported_and_the_container_value_wins():
    spec = pod(containers=[container(securityContext=security(runAsUser=1000))])
    (violation,) = found("k8s-run-as-non-root", deployment(spec))
    assert "UID 1000" in violation.message


def test_minimum_uid_comes_from_config():
    spec = pod(containers=[container(securityContext=security(runAsUser=1000))])
    config = {"k8s-run-as-non-root": {"minRunAsUser": 1000}}
    assert found("k8s-run-as-non-root", deployment(spec), config=config) == []


def test_unknown_uid_reports_nothing():
    spec = pod(securityContext={**POD_SPEC["securityContext"], "runAsUser": UNKNOWN})
    assert found("k8s-run-as-non-root", deployment(spec)) == []


# --- k8s-drop-all-capabilities -------------------------------------------------------------------------------------


def test_capabilities_not_dropped_is_reported():
    sec = security(capabilities={})
    (violation,) = found("k8s-drop-all-capabilities", with_container(securityContext=sec))
    assert "ALL" in violation.message


def test_net_raw_is_reported_even_after_dropping_all():
    sec = security(capabilities={"drop": ["ALL"], "add": ["NET_RAW"]})
    (violation,) = found("k8s-drop-all-capabilities", with_container(securityContext=sec))
    assert "NET_RAW" in violation.message


def test_only_allowed_capabilities_may_be_added():
    bind = security(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})
    assert found("k8s-drop-all-capabilities", with_container(securityContext=bind)) == []
    admin = security(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]})
    (violation,) = found("k8s-drop-all-capabilities", with_container(securityContext=admin))
    assert "SYS_ADMIN" in violation.message


def test_unknown_capabilities_report_nothing():
    sec = security(capabilities={"drop": UNKNOWN})
    assert found("k8s-drop-all-capabilities", with_container(securityContext=sec)) == []


# --- k8s-seccomp-runtime-default -----------------------------------------------------------------------------------


def test_missing_or_unconfined_seccomp_is_reported():
    spec = pod(securityContext={"runAsNonRoot": True, "runAsUser": 10001})
    assert len(found("k8s-seccomp-runtime-default", deployment(spec))) == 1
    unconfined = security(seccompProfile={"type": "Unconfined"})
    assert len(found("k8s-seccomp-runtime-default", with_container(securityContext=unconfined))) == 1


def test_unknown_seccomp_reports_nothing():
    spec = pod(securityContext={"runAsNonRoot": True, "seccompProfile": {"type": UNKNOWN}})
    assert found("k8s-seccomp-runtime-default", deployment(spec)) == []


# --- k8s-read-only-root-filesystem ---------------------------------------------------------------------------------


def test_writable_root_filesystem_is_reported():
    sec = security(readOnlyRootFilesystem=False)
    (violation,) = found("k8s-read-only-root-filesystem", with_container(securityContext=sec))
    assert "emptyDir" in violation.message


def test_unknown_read_only_flag_reports_nothing():
    sec = security(readOnlyRootFilesystem=UNKNOWN)
    assert found("k8s-read-only-root-filesystem", with_container(securityContext=sec)) == []


# --- k8s-resources-defined ------------------------------------------------------------------------------------------


def test_missing_requests_and_memory_limit_are_reported():
    (violation,) = found("k8s-resources-defined", with_container(resources={"limits": {"cpu": "1"}}))
    assert "requests.cpu, requests.memory, limits.memory" in violation.message


def test_cpu_limit_is_required_only_when_configured():
    no_cpu_limit = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
    assert found("k8s-resources-defined", with_container(resources=no_cpu_limit)) == []
    config = {"k8s-resources-defined": {"requireCpuLimit": True}}
    assert len(found("k8s-resources-defined", with_container(resources=no_cpu_limit), config=config)) == 1


def test_unknown_resources_report_nothing():
    assert found("k8s-resources-defined", with_container(resources=UNKNOWN)) == []


# --- k8s-health-probes ----------------------------------------------------------------------------------------------


def test_missing_probes_are_reported():
    spec = pod(containers=[{k: v for k, v in CONTAINER.items() if k not in ("livenessProbe", "readinessProbe")}])
    (violation,) = found("k8s-health-probes", deployment(spec))
    assert "livenessProbe, readinessProbe" in violation.message


def test_jobs_and_plain_init_containers_need_no_probes():
    bare = {k: v for k, v in CONTAINER.items() if not k.endswith("Probe")}
    job = res(JOB, "migrate", {"metadata": {"name": "migrate", "namespace": "agents"},
                               "spec": {"template": {"spec": pod(containers=[bare])}}})
    assert found("k8s-health-probes", job) == []
    assert found("k8s-health-probes", deployment(pod(initContainers=[dict(bare, name="init")]))) == []


def test_startup_probe_is_required_only_when_configured():
    spec = pod(containers=[{k: v for k, v in CONTAINER.items() if k != "startupProbe"}])
    assert found("k8s-health-probes", deployment(spec)) == []
    config = {"k8s-health-probes": {"requireStartupProbe": True}}
    assert len(found("k8s-health-probes", deployment(spec), config=config)) == 1


def test_unknown_probe_reports_nothing():
    assert found("k8s-health-probes", with_container(livenessProbe=UNKNOWN)) == []


# --- k8s-image-pinned -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["ghcr.io/acme/api:1.4.2", "ghcr.io/acme/api:latest", "ghcr.io/acme/api"])
def test_images_without_digest_are_reported_where_digests_are_required(image: str):
    (violation,) = found("k8s-image-pinned", with_container(image=image))
    assert image in violation.message


def test_dev_allows_version_tags_but_never_latest_or_no_tag():
    config = {"k8s-image-pinned": {"requireDigest": False}}
    assert found("k8s-image-pinned", with_container(image="registry:5000/acme/api:1.4.2"), config=config) == []
    assert len(found("k8s-image-pinned", with_container(image="ghcr.io/acme/api:latest"), config=config)) == 1
    assert len(found("k8s-image-pinned", with_container(image="registry:5000/acme/api"), config=config)) == 1


def test_unknown_image_reports_nothing():
    assert found("k8s-image-pinned", with_container(image=UNKNOWN)) == []


# --- k8s-service-account-token-mount --------------------------------------------------------------------------------


def test_pod_mounting_an_undeclared_api_token_is_reported():
    assert len(found("k8s-service-account-token-mount", deployment(pod(automountServiceAccountToken=None)))) == 1
    assert len(found("k8s-service-account-token-mount", deployment(pod(automountServiceAccountToken=True)))) == 1


def test_declared_api_access_may_mount_the_token():
    opted = deployment(pod(automountServiceAccountToken=True),
                       annotations={"agent-platform/kubernetes-api-access": "true"})
    assert found("k8s-service-account-token-mount", opted) == []


def test_service_account_token_mount_is_checked_on_the_account():
    def account(**props: Any):
        return res(SERVICE_ACCOUNT, "service-api-sa", {"metadata": {"name": "api", "namespace": "agents"}, **props})

    assert found("k8s-service-account-token-mount", account(automountServiceAccountToken=False)) == []
    assert len(found("k8s-service-account-token-mount", account())) == 1


def test_unknown_token_mount_reports_nothing():
    assert found("k8s-service-account-token-mount", deployment(pod(automountServiceAccountToken=UNKNOWN))) == []


# --- k8s-no-secret-literals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "DB_PASSWORD", "JWT_SECRET", "GITHUB_TOKEN", "SENTRY_DSN"])
def test_credential_env_literals_are_reported(name: str):
    env = [*CONTAINER["env"], {"name": name, "value": "literal"}]
    (violation,) = found("k8s-no-secret-literals", with_container(env=env))
    assert name in violation.message


@pytest.mark.parametrize("name", ["MAX_TOKENS", "SECRETS_DIR", "KEYCLOAK_URL", "CREDENTIALS_FILE", "APP_SECRET_ARN",
                                  "DB_SECRET_NAME"])
def test_names_that_only_resemble_credentials_pass(name: str):
    env = [*CONTAINER["env"], {"name": name, "value": "x"}]
    assert found("k8s-no-secret-literals", with_container(env=env)) == []


def test_credential_configmap_keys_and_secret_data_are_reported():
    config_map = res(CONFIG_MAP, "api-config", {"metadata": {"name": "api-config", "namespace": "agents"},
                                                "data": {"LOG_LEVEL": "info", "ANTHROPIC_API_KEY": "sk-ant"}})
    (violation,) = found("k8s-no-secret-literals", config_map)
    assert "ANTHROPIC_API_KEY" in violation.message
    secret = res(SECRET, "api-secret", {"metadata": {"name": "api", "namespace": "agents"},
                                        "stringData": {"key": UNKNOWN}})
    assert len(found("k8s-no-secret-literals", secret)) == 1


def test_credential_shaped_configmap_values_are_reported_whatever_the_key():
    data = {"LOG_LEVEL": "info", "UPSTREAM_HINT": "sk-proj-4f9Qm2ZkT8yXc1Vb", "MODEL": "claude-sonnet-4-5",
            "LATER": UNKNOWN}
    config_map = res(CONFIG_MAP, "api-config", {"metadata": {"name": "api-config", "namespace": "agents"},
                                                "data": data})
    (violation,) = found("k8s-no-secret-literals", config_map)
    assert "UPSTREAM_HINT" in violation.message and "MODEL" not in violation.message


def test_mounted_file_keys_in_a_configmap_are_not_env_names():
    scripts = res(CONFIG_MAP, "scripts", {"metadata": {"name": "scripts", "namespace": "jobs"},
                                          "data": {"fetch-credentials.sh": "#!/bin/sh"}})
    assert found("k8s-no-secret-literals", scripts) == []


def test_env_with_unknown_value_from_output_reports_nothing():
    env = [{"name": "SERVICE_TOKEN", "valueFrom": UNKNOWN}]
    assert found("k8s-no-secret-literals", with_container(env=env)) == []


# --- k8s-namespace-pod-security -------------------------------------------------------------------------------------


def namespace(labels: dict[str, Any]):
    return res(NAMESPACE, "services-namespace", {"metadata": {"name": "agents", "labels": labels}})


def test_restricted_namespace_passes():
    labels = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}
    assert found("k8s-namespace-pod-security", namespace(labels)) == []


def test_namespace_without_restricted_enforcement_is_reported():
    violations = found("k8s-namespace-pod-security", namespace({"pod-security.kubernetes.io/enforce": "baseline"}))
    assert len(violations) == 2


def test_allowed_levels_come_from_config():
    labels = {"pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "privileged"}
    config = {"k8s-namespace-pod-security": {"allowedLevels": ["restricted", "privileged"]}}
    assert found("k8s-namespace-pod-security", namespace(labels), config=config) == []


def test_unknown_namespace_labels_report_nothing():
    assert found("k8s-namespace-pod-security", namespace(UNKNOWN)) == []


# --- k8s-no-default-namespace ---------------------------------------------------------------------------------------


def test_objects_in_the_default_namespace_are_reported():
    violations = found("k8s-no-default-namespace",
                       deployment(namespace=None),
                       deployment(namespace="default", name="worker"),
                       res(RELEASE, "tool", {"chart": "tool", "namespace": "default"}),
                       res(SCALED_OBJECT, "scaler", {"metadata": {"name": "worker"}, "spec": {}}))
    assert len(violations) == 4


def test_namespaced_and_cluster_scoped_objects_pass():
    assert found("k8s-no-default-namespace",
                 deployment(),
                 namespace({"pod-security.kubernetes.io/enforce": "restricted"}),
                 res(RELEASE, "keda", {"chart": "keda", "namespace": "keda"})) == []


def test_admission_policies_are_cluster_scoped():
    # The preview identity's dry-run guard (components/cluster/preview_access.py) has no namespace to give.
    admission = "kubernetes:admissionregistration.k8s.io/v1:"
    assert found("k8s-no-default-namespace",
                 res(admission + "ValidatingAdmissionPolicy", "guard", {"metadata": {"name": "guard"}, "spec": {}}),
                 res(admission + "ValidatingAdmissionPolicyBinding", "guard-binding",
                     {"metadata": {"name": "guard"}, "spec": {}})) == []


def test_provider_default_namespace_counts():
    provider = res("pulumi:providers:kubernetes", "k8s", {"namespace": "agents"})
    service = res(SERVICE, "api-service", {"metadata": {"name": "api"}}, provider=provider)
    assert found("k8s-no-default-namespace", provider, service) == []


def test_unknown_namespace_reports_nothing():
    assert found("k8s-no-default-namespace", deployment(namespace=UNKNOWN)) == []
