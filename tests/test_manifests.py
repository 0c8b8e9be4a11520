"""The plan's Kubernetes objects as YAML manifests: one file each, valid against the cluster version's schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from packaging.version import Version

from planning import cli
from planning.manifests import api_version_and_kind, is_manifest, manifests, write_manifests
from tests.harness import STACKS, eks_plan, plan

# Kinds whose schemas come with a chart's CRDs, not with Kubernetes: checked for shape only.
CRD_GROUPS = frozenset({"external-secrets.io", "keda.sh", "monitoring.coreos.com", "elbv2.k8s.aws"})
# CRD schemas copied from the pinned charts (each file names its source); checked in full below.
CRD_SCHEMAS = Path(__file__).parent / "golden" / "crds"


def schema_version(cluster_version: str) -> str:
    """The newest schema set kubernetes-validate ships that is not newer than the cluster."""
    shipped = [v for v in kubernetes_validate.utils.all_versions() if Version(v) <= Version(cluster_version)]
    assert shipped, f"kubernetes-validate ships no schemas for {cluster_version} or older"
    return max(shipped, key=Version)


def group_of(obj: dict[str, Any]) -> str:
    api_version = str(obj["apiVersion"])
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_object_validates_against_the_cluster_schemas(stack: str):
    p = eks_plan(stack)
    cluster_version = p.one("aws:eks/cluster:Cluster").props["version"]
    version = schema_version(cluster_version)
    assert Version(version).release[:2] == Version(cluster_version).release[:2], "schemas for the cluster's minor"
    checked, custom = 0, 0
    for res, obj in manifests(p):
        if group_of(obj) in CRD_GROUPS:
            assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"] and obj["metadata"]["namespace"]
            assert "spec" in obj, f"{res.name}: a custom resource without spec"
            custom += 1
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']} ({res.name}): {exc.message} at "
                        f"{'.'.join(map(str, exc.path))}")
        checked += 1
    assert checked >= 30 and custom >= 8, (checked, custom)


def _unknown_fields(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields the structural schema does not declare (the API server would prune them silently)."""
    if not isinstance(obj, dict) or "properties" not in schema:
        return []
    found = []
    for key, value in obj.items():
        if key not in schema["properties"]:
            found.append(f"{path}{key}")
        else:
            found += _unknown_fields(value, schema["properties"][key], f"{path}{key}.")
    return found


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_target_group_bindings_validate_against_the_chart_crd(stack: str):
    import json

    import jsonschema

    crd = json.loads((CRD_SCHEMAS / "targetgroupbinding-v1beta1.json").read_text())["schema"]
    bindings = [obj for _, obj in manifests(eks_plan(stack)) if obj["kind"] == "TargetGroupBinding"]
    assert len(bindings) == 2
    for obj in bindings:
        assert obj["apiVersion"] == "elbv2.k8s.aws/v1beta1"
        jsonschema.Draft7Validator(crd).validate(obj)
        assert _unknown_fields(obj["spec"], crd["properties"]["spec"]) == []
    wrong = {**bindings[0], "spec": {**bindings[0]["spec"], "targetType": "pod"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(crd).validate(wrong)


def test_manifests_are_written_per_namespace_and_kind(tmp_path: Path):
    written = write_manifests(plan("prod"), tmp_path)
    relative = {str(path.relative_to(tmp_path)) for path in written}
    for service in ("api", "context", "worker"):
        for kind in ("deployment", "service", "serviceaccount", "poddisruptionbudget", "networkpolicy",
                     "secretstore", "externalsecret"):
            assert f"agents/{kind}-{service}.yaml" in relative
        assert f"agents/configmap-{service}-config.yaml" in relative
    assert {"agents/horizontalpodautoscaler-api.yaml", "agents/horizontalpodautoscaler-context.yaml",
            "agents/scaledobject-worker.yaml", "agents/triggerauthentication-worker-redis.yaml"} <= relative
    assert {"_cluster/namespace-agents.yaml", "agents/networkpolicy-default-deny-all.yaml"} <= relative
    deployment = yaml.safe_load((tmp_path / "agents" / "deployment-api.yaml").read_text())
    assert (deployment["apiVersion"], deployment["kind"]) == ("apps/v1", "Deployment")
    assert deployment["spec"]["replicas"] == 3 and isinstance(deployment["spec"]["replicas"], int)
    assert list(deployment)[:3] == ["apiVersion", "kind", "metadata"]


def test_charts_and_providers_are_not_written_and_secrets_never_are(tmp_path: Path):
    p = plan("prod")
    written = write_manifests(p, tmp_path)
    assert len(written) == sum(1 for r in p if is_manifest(r))
    assert not [r for r in p if is_manifest(r) and (r.type.startswith("kubernetes:helm.sh") or not r.custom)]
    assert not [w for w in written if "release" in w.name]
    for path in written:
        assert "mock-secret-value-of" not in path.read_text(), path


def test_type_tokens_map_to_api_versions():
    assert api_version_and_kind("kubernetes:apps/v1:Deployment") == ("apps/v1", "Deployment")
    assert api_version_and_kind("kubernetes:core/v1:ConfigMap") == ("v1", "ConfigMap")
    assert api_version_and_kind("kubernetes:networking.k8s.io/v1:NetworkPolicy") == (
        "networking.k8s.io/v1", "NetworkPolicy")
    assert api_version_and_kind("kubernetes:keda.sh/v1alpha1:ScaledObject") == ("keda.sh/v1alpha1", "ScaledObject")


def test_plan_command_writes_the_manifests(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    status = cli.main(["--stack", "dev", "--set", 'runtime="eks"', "--no-review", "--quiet", "--manifests",
                       str(tmp_path)])
    assert status == 0
    assert "Kubernetes manifests written to" in capsys.readouterr().out
    assert (tmp_path / "agents" / "deployment-worker.yaml").exists()


# Namespaces whose Pod Security level is `privileged` by design (docs/kubernetes.md#pod-security): node agents
# that need the host, and the add-ons EKS runs in kube-system. Everything else the program renders is restricted.
PRIVILEGED_BY_DESIGN = frozenset({"monitoring-agents", "kube-system"})
_POD_SPECS = {"Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
              "DaemonSet": ("spec", "template", "spec"), "Job": ("spec", "template", "spec"),
              "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"), "Pod": ("spec",)}


def restricted_problems(pod: dict[str, Any]) -> list[str]:
    """What Pod Security `restricted` rejects (kubernetes.io/docs/concepts/security/pod-security-standards)."""
    problems = [f"spec.{f}" for f in ("hostNetwork", "hostPID", "hostIPC") if pod.get(f)]
    problems += [f"volume {v['name']} is hostPath" for v in pod.get("volumes") or [] if "hostPath" in v]
    pod_ctx = pod.get("securityContext") or {}
    for c in [*(pod.get("initContainers") or []), *pod["containers"]]:
        ctx = c.get("securityContext") or {}
        effective = {**pod_ctx, **ctx}
        name = c["name"]
        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation not false")
        if effective.get("runAsNonRoot") is not True or effective.get("runAsUser") == 0:
            problems.append(f"{name}: may run as root")
        if (effective.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: no seccomp profile")
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []) or set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: capabilities not dropped")
        problems += [f"{name}: hostPort" for p in c.get("ports") or [] if p.get("hostPort")]
    return problems


@pytest.mark.parametrize("stack", STACKS)
def test_every_workload_the_program_renders_meets_pod_security_restricted(stack: str):
    checked = 0
    for res, obj in manifests(eks_plan(stack)):
        path = _POD_SPECS.get(obj["kind"])
        if path is None or obj["metadata"].get("namespace") in PRIVILEGED_BY_DESIGN:
            continue
        pod: Any = obj
        for key in path:
            pod = pod[key]
        assert not restricted_problems(pod), (res.name, restricted_problems(pod))
        checked += 1
    assert checked >= 4  # three agent services and the database bootstrap Job


def test_the_restricted_check_catches_what_the_profile_forbids():
    hardened = {"containers": [{"name": "app", "securityContext": {
        "allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}}}]}
    assert restricted_problems(hardened) == []
    host = {**hardened, "hostNetwork": True, "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]}
    assert len(restricted_problems(host)) == 2
    root = {"containers": [{"name": "app", "securityContext": {
        **hardened["containers"][0]["securityContext"], "runAsUser": 0}}]}
    assert restricted_problems(root) == ["app: may run as root"]
