"""Dedicated vector stores (dataTier.vectorStore qdrant / weaviate): config, the EKS StatefulSet from the vendor's
chart, its secrets, network isolation, snapshots, backups and cost; the committed stacks keep pgvector."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from planning.cost_report import stack_report
from planning.engine import with_paths
from tests.harness import DEDICATED_VM, config_error, plan, review

GOLDEN = Path(__file__).parent / "golden" / "templates"
RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SELECTION = "aws:backup/selection:Selection"
CRONJOB = "kubernetes:batch/v1:CronJob"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
QDRANT = {"dataTier.vectorStore": "qdrant"}
WEAVIATE = {"dataTier.vectorStore": "weaviate"}
# Top-level keys of each chart's values.yaml at the pinned tag (qdrant-helm tag qdrant-1.19.0
# charts/qdrant/values.yaml, apiKey documented there as a comment; weaviate-helm tag v17.8.3 weaviate/values.yaml).
QDRANT_VALUES_KEYS = {
    "replicaCount", "image", "imagePullSecrets", "nameOverride", "fullnameOverride", "args", "env", "service",
    "ingress", "livenessProbe", "readinessProbe", "startupProbe", "additionalLabels", "additionalAnnotations",
    "podAnnotations", "podLabels", "resources", "containerSecurityContext", "podSecurityContext", "lifecycle",
    "updateVolumeFsOwnership", "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints", "persistence",
    "snapshotPersistence", "snapshotRestoration", "config", "sidecarContainers", "metrics", "serviceAccount",
    "priorityClassName", "shareProcessNamespace", "podManagementPolicy", "podDisruptionBudget", "apiKey",
    "readOnlyApiKey", "additionalVolumes", "additionalVolumeMounts", "chartTests"}
WEAVIATE_VALUES_KEYS = {
    "image", "command", "args", "initContainers", "replicas", "podManagementPolicy", "updateStrategy", "resources",
    "securityContext", "containerSecurityContext", "serviceAccountName", "clusterDomain", "storage", "service",
    "grpcService", "mcp", "serviceMonitor", "startupProbe", "livenessProbe", "readinessProbe",
    "terminationGracePeriodSeconds", "authentication", "authorization", "query_defaults", "debug", "namespaces",
    "env", "envSecrets", "offload", "usage", "backups", "collectionExport", "modules", "custom_config_map",
    "runtime_overrides", "annotations", "extraVolumeMounts", "extraVolumes", "nodeSelector", "tolerations",
    "hostAliases", "affinity", "podDisruptionBudgets"}


def _release(result, chart: str):
    found = [r for r in result.of_type(RELEASE) if r.props.get("chart") == chart]
    assert len(found) == 1, f"expected one {chart} release"
    return found[0]


# --- config ------------------------------------------------------------------------------------------------------


def test_the_committed_stacks_keep_pgvector():
    for stack in ("staging", "prod"):
        result = plan(stack)
        assert not [r for r in result.of_type(RELEASE) if r.props.get("chart") in ("qdrant", "weaviate")]
        assert not [r for r in result.resources if r.type == "agent-platform:data:VectorStore"]


def test_an_unknown_vector_store_is_one_config_error_naming_the_key():
    err = config_error("staging", {"dataTier.vectorStore": "milvus"})
    assert [path for path, _ in err.issues] == ["dataTier.vectorStore"]


def test_store_sizing_is_validated_with_the_key_path():
    err = config_error("staging", {"dataTier.vectorStore": "qdrant", "dataTier.qdrant.memoryLimit": "1Gi",
                                   "dataTier.weaviate.volumeSizeGib": 5})
    paths = {path for path, _ in err.issues}
    assert {"dataTier.qdrant.memoryLimit", "dataTier.weaviate.volumeSizeGib"} <= paths


def test_protected_tiers_keep_a_week_of_snapshots():
    err = config_error("prod", {"dataTier.vectorStore": "weaviate", "dataTier.weaviate.snapshotRetentionDays": 3})
    assert "dataTier.weaviate.snapshotRetentionDays" in {path for path, _ in err.issues}


def test_a_service_cannot_list_the_store_key_without_a_store():
    err = config_error("staging", {"services.api.secrets": ["database", "vector-store"]})
    assert "services.api.secrets" in {path for path, _ in err.issues}


# --- Qdrant on EKS ------------------------------------------------------------------------------------------------


def test_qdrant_is_the_pinned_chart_with_its_key_from_a_secret_and_no_exposure():
    release = _release(plan("staging", QDRANT), "qdrant")
    props = release.props
    assert (props["version"], props["repositoryOpts"]["repo"]) == ("1.19.0", "https://qdrant.github.io/qdrant-helm")
    values = props["values"]
    assert set(values) <= QDRANT_VALUES_KEYS
    assert values["env"] == [{"name": "QDRANT__SERVICE__API_KEY", "valueFrom": {"secretKeyRef": {
        "name": "vector-store-api-key", "key": "api-key"}}}]
    assert "apiKey" not in values and values["service"]["type"] == "ClusterIP" and not values["ingress"]["enabled"]
    assert values["containerSecurityContext"]["readOnlyRootFilesystem"] is True
    assert values["containerSecurityContext"]["runAsUser"] == 10001
    assert values["persistence"]["storageClassName"] == "vector-store-gp3"
    assert release.protect is True


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_qdrant_runs_by_digest_and_keeps_its_readyz_readiness_on_a_sidecar(stack):
    """qdrant chart 1.19.0 passes image.tag to semverCompare for its readiness path, which a "<tag>@sha256:" tag
    fails: the chart's probe is off, and a sidecar of the same image carries GET /readyz on the REST port, so the
    pod is still Ready only when all of Qdrant's shards are (the chart's probe, timings from its values.yaml)."""
    values = _release(plan(stack, QDRANT), "qdrant").props["values"]
    # Index digest of qdrant/qdrant:v1.19.0 (three public sources in config/image_pins.py).
    digest_ref = ("docker.io/qdrant/qdrant:v1.19.0"
                  "@sha256:057ee3a8da769fe7310dd3537b4dc7583bf87a95ce8ac43c0af5a46bc580d1fc")
    assert f"{values['image']['repository']}:{values['image']['tag']}" == digest_ref
    assert values["readinessProbe"] == {"enabled": False}
    [sidecar] = values["sidecarContainers"]
    assert sidecar["image"] == digest_ref
    assert sidecar["readinessProbe"] == {"httpGet": {"path": "/readyz", "port": 6333}, "initialDelaySeconds": 5,
                                         "periodSeconds": 5, "timeoutSeconds": 1, "failureThreshold": 6,
                                         "successThreshold": 1}
    # The restricted namespace admits it: non-root, no capabilities, no escalation, RuntimeDefault seccomp.
    context = sidecar["securityContext"]
    assert context["runAsNonRoot"] is True and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]} and context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sidecar["resources"]["limits"]["memory"] and sidecar["command"][0] == "/bin/bash"


def test_weaviate_runs_the_digest_its_registry_serves_for_the_chart_tag():
    """weaviate chart 17.8.3 renders "{{ image.registry }}/{{ image.repo }}:{{ image.tag }}": the tag carries the
    digest cr.weaviate.io serves for 1.38.2 (under the planner, its stand-in for that lookup)."""
    from planning.mock_outputs import mock_registry_digest

    values = _release(plan("prod", WEAVIATE), "weaviate").props["values"]
    reference = "cr.weaviate.io/semitechnologies/weaviate:1.38.2"
    assert values["image"] == {"registry": "cr.weaviate.io", "repo": "semitechnologies/weaviate",
                               "tag": "1.38.2@" + mock_registry_digest(reference)}


def test_the_api_key_is_generated_into_secrets_manager_and_synced_by_eso():
    result = plan("staging", QDRANT)
    secret = result.one("aws:secretsmanager/secret:Secret", "data-qdrant-api-key-secret")
    assert secret.props["kmsKeyId"]
    sync = result.one(EXTERNAL_SECRET, "vector-store-api-key-sync")
    assert sync.props["metadata"]["namespace"] == "vector-store"
    assert sync.props["spec"]["data"][0]["secretKey"] == "api-key"
    assert sync.props["spec"]["target"]["name"] == "vector-store-api-key"


def test_volumes_are_encrypted_gp3_tagged_for_the_backup_plan_and_ebs_is_selected():
    result = plan("staging", QDRANT)
    klass = result.one(STORAGE_CLASS, "vector-store-storage-class")
    params = klass.props["parameters"]
    assert (klass.props["provisioner"], params["type"], params["encrypted"]) == ("ebs.csi.aws.com", "gp3", "true")
    assert params["kmsKeyId"]
    tags = dict(v.split("=", 1) for k, v in params.items() if k.startswith("tagSpecification_"))
    assert tags["backup-plan"] == "default" and tags["stack"] == "staging" and tags["project"] == "agent-platform"
    patterns = result.one(SELECTION).props["resources"]
    assert any(":volume/*" in p for p in patterns)
    assert not any(":volume/*" in p for p in plan("staging").one(SELECTION).props["resources"])


def test_only_the_agent_services_reach_the_store():
    result = plan("staging", QDRANT)
    store = result.one(NETPOL, "vector-store-store").props["spec"]
    agents = store["ingress"][0]
    assert agents["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "agents"}},
                               "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "agent-platform"}}}]
    assert {p["port"] for p in agents["ports"]} == {6333, 6334}
    deny = result.one(NETPOL, "vector-store-default-deny").props["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # The services' own policies open egress to the store's pods.
    api = result.one(NETPOL, "service-api-network-policy").props["spec"]["egress"]
    assert {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "vector-store"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "qdrant",
                                                    "app.kubernetes.io/instance": "qdrant"}}}],
            "ports": [{"protocol": "TCP", "port": 6333}, {"protocol": "TCP", "port": 6334}]} in api


def test_services_get_the_store_address_under_the_seed_names():
    result = plan("staging", QDRANT)
    data = next(r for r in result.of_type(CONFIG_MAP) if r.name.startswith("service-api")).props["data"]
    assert data["QDRANT_URL"] == "http://qdrant.vector-store.svc.cluster.local:6333"
    assert (data["QDRANT_HOST"], data["QDRANT_PORT"], data["VECTOR_STORE"]) == (
        "qdrant.vector-store.svc.cluster.local", "6333", "qdrant")
    baseline = next(r for r in plan("staging").of_type(CONFIG_MAP) if r.name.startswith("service-api")).props["data"]
    assert not {k for k in baseline if k.startswith(("QDRANT", "WEAVIATE", "VECTOR"))}


def test_snapshots_go_to_a_prefix_of_the_data_bucket_only():
    result = plan("staging", QDRANT)
    job = result.one(CRONJOB, "vector-store-snapshot").props
    assert job["spec"]["schedule"] == "15 3 * * *" and job["spec"]["concurrencyPolicy"] == "Forbid"
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PREFIX"] == "vector-store/qdrant/" and env["HOSTS"] == "qdrant-0.qdrant-headless"
    policy = json.loads(result.one(ROLE_POLICY, "vector-store-snapshot-role-policy").props["policy"])
    write = next(s for s in policy["Statement"] if s["Sid"] == "WriteSnapshots")
    assert all(r.endswith("/vector-store/qdrant/*") for r in write["Resource"])
    assert "s3:DeleteObject" not in write["Action"]
    lifecycle = result.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                           "data-data-lifecycle").props["rules"]
    expire = next(r for r in lifecycle if r["filter"]["prefix"] == "vector-store/qdrant/")
    assert expire["expiration"]["days"] == 7


def test_the_store_is_priced_never_free():
    result = plan("staging", QDRANT)
    report = stack_report(result, with_paths("staging", dict(QDRANT)))
    lines = [line for line in report.lines if line.component == "vector-store"]
    keys = {line.price_key for line in lines}
    assert {"ebs.gp3.storage", "s3.standard.storage", "backup.warm"} <= keys
    ebs = sum(line.quantity for line in lines if line.price_key == "ebs.gp3.storage")
    assert ebs == 2 * 20  # the data volume and Qdrant's snapshot scratch volume, 20 GiB each (staging preset)
    assert not [u for u in report.unpriced if u.component == "vector-store"]


def test_qdrant_in_prod_has_three_zone_spread_replicas_and_passes_review():
    result = plan("prod", QDRANT)
    values = _release(result, "qdrant").props["values"]
    assert values["replicaCount"] == 3 and values["podDisruptionBudget"]["enabled"] is True
    assert values["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    job = result.one(CRONJOB, "vector-store-snapshot").props["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    hosts = next(e["value"] for e in job["containers"][0]["env"] if e["name"] == "HOSTS")
    assert hosts.split() == ["qdrant-0.qdrant-headless", "qdrant-1.qdrant-headless", "qdrant-2.qdrant-headless"]
    assert not review(result).mandatory


@pytest.mark.parametrize("overrides", [QDRANT, WEAVIATE], ids=["qdrant", "weaviate"])
def test_staging_with_a_store_passes_the_review(overrides):
    assert not review(plan("staging", overrides)).mandatory


# --- Weaviate on EKS ----------------------------------------------------------------------------------------------


def test_weaviate_requires_an_api_key_has_no_anonymous_access_and_no_load_balancer():
    result = plan("staging", WEAVIATE)
    release = _release(result, "weaviate")
    values = release.props["values"]
    assert (release.props["version"], release.props["repositoryOpts"]["repo"]) == (
        "17.8.3", "https://weaviate.github.io/weaviate-helm")
    assert set(values) <= WEAVIATE_VALUES_KEYS
    assert values["authentication"]["anonymous_access"]["enabled"] is False
    assert values["env"]["AUTHENTICATION_APIKEY_ENABLED"] == "true"
    assert values["envSecrets"] == {"AUTHENTICATION_APIKEY_ALLOWED_KEYS": "vector-store-api-key"}
    assert values["service"]["type"] == values["grpcService"]["type"] == "ClusterIP"
    assert values["initContainers"]["sysctlInitContainer"]["enabled"] is False
    assert values["backups"]["s3"]["enabled"] is True
    assert values["backups"]["s3"]["envconfig"]["BACKUP_S3_PATH"] == "vector-store/weaviate"
    assert values["serviceAccountName"] == "weaviate"
    policy = json.loads(result.one(ROLE_POLICY, "vector-store-store-role-policy").props["policy"])
    write = next(s for s in policy["Statement"] if s["Sid"] == "WriteSnapshots")
    assert all(r.endswith("/vector-store/weaviate/*") for r in write["Resource"])
    data = next(r for r in result.of_type(CONFIG_MAP) if r.name.startswith("service-api")).props["data"]
    assert data["WEAVIATE_URL"] == data["VECTOR_DB_URL"] == "http://weaviate.vector-store.svc.cluster.local:8080"


# --- the VM runtime (dev) -------------------------------------------------------------------------------------------


VOLUME = "aws:ebs/volume:Volume"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def _user_data(result, name: str) -> str:
    return base64.b64decode(result.one(TEMPLATE, name).props["userData"]).decode()


def test_on_vms_the_store_has_its_own_hardened_instance_and_a_volume_that_outlives_it():
    result = plan("dev", QDRANT)
    volume = result.one(VOLUME, "vector-store-data").props
    assert (volume["type"], volume["encrypted"], volume["size"]) == ("gp3", True, 10)
    assert volume["kmsKeyId"] and volume["tags"]["backup-plan"] == "default"
    group = result.one(ASG, "vector-store-asg").props
    assert (group["minSize"], group["maxSize"], group["desiredCapacity"]) == (1, 1, 1)
    assert len(group["vpcZoneIdentifiers"]) == 1  # the volume's zone
    assert group["instanceRefresh"]["preferences"]["minHealthyPercentage"] == 0  # never two owners of the volume
    template = result.one(TEMPLATE, "vector-store-template").props
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["networkInterfaces"][0]["associatePublicIpAddress"] == "false" and "keyName" not in template
    root = template["blockDeviceMappings"][0]["ebs"]
    assert root["encrypted"] == "true" and root["kmsKeyId"]
    text = _user_data(result, "vector-store-template")
    assert "aws ec2 attach-volume" in text and "aws ec2 attach-network-interface" in text
    assert "secretsmanager get-secret-value" in text and "QDRANT__SERVICE__API_KEY" in text
    assert "qdrant/qdrant:v1.19.0@sha256:057ee3a8da769fe7310dd3537b4dc7583bf87a95ce8ac43c0af5a46bc580d1fc" in text
    assert "OnCalendar=*-*-* 03:15:00 UTC" in text and "--read-only" in text and "--cap-drop ALL" in text
    assert "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol" in text


@pytest.mark.parametrize(("placement", "group", "template"), [
    ("dedicated", "service-api", "service-api-template"), ("shared", "shared-host", "shared-host-template")])
def test_on_vms_only_the_agent_services_reach_the_store(placement, group, template):
    result = plan("dev", {**QDRANT, **DEDICATED_VM} if placement == "dedicated" else QDRANT)
    ingress = [r.props for r in result.of_type(INGRESS) if r.name.startswith("vector-store-from-")]
    assert sorted(r["fromPort"] for r in ingress) == [6333, 6334]
    assert all(r.get("referencedSecurityGroupId") and not r.get("cidrIpv4") for r in ingress)
    to_store = [r.props for r in result.of_type(EGRESS) if r.name.startswith(f"{group}-to-vector-store")]
    assert sorted(r["fromPort"] for r in to_store) == [6333, 6334]
    text = _user_data(result, template)
    assert "QDRANT_URL=http://10." in text and "VECTOR_STORE=qdrant" in text


def test_on_vms_the_store_is_priced_and_backed_up():
    result = plan("dev", WEAVIATE)
    report = stack_report(result, with_paths("dev", dict(WEAVIATE)))
    keys = {line.price_key for line in report.lines if line.component == "vector-store"}
    assert {"ebs.gp3.storage", "backup.warm", "s3.standard.storage"} <= keys
    assert any(k.startswith("ec2.") for k in keys), keys
    assert not [u for u in report.unpriced if u.component == "vector-store"]
    assert any(":volume/*" in p for p in result.one(SELECTION).props["resources"])
    text = _user_data(result, "vector-store-template")
    assert "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false" in text and "ENABLE_MODULES=backup-s3" in text


@pytest.mark.parametrize("overrides", [QDRANT, WEAVIATE], ids=["qdrant", "weaviate"])
def test_dev_on_vms_with_a_store_passes_the_review(overrides):
    assert not review(plan("dev", overrides)).mandatory


def test_a_service_listing_the_store_key_gets_it_as_a_file_and_may_read_only_that_secret():
    overrides = {**QDRANT, "services.api.secrets": ["database", "vector-store"]}
    result = plan("staging", overrides)
    sync = next(r for r in result.of_type(EXTERNAL_SECRET) if r.name.startswith("service-api"))
    keys = [entry["secretKey"] for entry in sync.props["spec"]["data"]]
    assert keys == ["database", "vector-store"]
    assert "data-qdrant-api-key-secret" in str(sync.props["spec"]["data"][1]["remoteRef"]["key"])
    role_policy = next(json.loads(r.props["policy"]) for r in result.of_type(ROLE_POLICY)
                       if r.name.startswith("service-api") and "secretsmanager" in r.props["policy"])
    readable = [arn for s in role_policy["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]
                for arn in s["Resource"]]
    assert any("data-qdrant-api-key-secret" in arn for arn in readable)
    assert not review(result).mandatory


def _fixed_store(kind: str):
    from components.data.vector import VectorStoreRefs
    from tests.config_support import validated

    sizing = getattr(validated("dev").data_tier, kind)
    return VectorStoreRefs(kind=kind, sizing=sizing, api_key_secret_arn=None, api_key_version=None,  # type: ignore[arg-type]
                           secrets_kms_key_arn="", bucket_name="", bucket_arn="", data_kms_key_arn="")


@pytest.mark.parametrize("kind", ["qdrant", "weaviate"])
def test_the_vm_store_boot_script_renders_as_the_golden_file(kind):
    """Reviewed once by reading it (attach, mount by label, key into /run, hardened docker run, snapshot timer)."""
    from components.services.vm.vector_store import render_user_data
    from config.image_pins import VM_VECTOR_STORE_IMAGES
    from planning.mock_outputs import mock_registry_digest

    image = VM_VECTOR_STORE_IMAGES[kind]
    resolved = image.reference if image.digest else f"{image.tag_reference}@{mock_registry_digest(image.tag_reference)}"
    text = render_user_data(
        _fixed_store(kind), image=resolved, region="us-east-1", volume_id="vol-0123456789abcdef0",
        eni_id="eni-0123456789abcdef0",
        api_key_secret_arn="arn:aws:secretsmanager:us-east-1:111122223333:secret:dev/data/key-AbCdEf",
        bucket="agent-platform-dev-data", kms_key_arn="arn:aws:kms:us-east-1:111122223333:key/k")
    assert "@@{" not in text
    assert text == (GOLDEN / f"vm-vector-store-{kind}.sh").read_text()
