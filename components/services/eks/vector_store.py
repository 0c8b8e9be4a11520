"""A dedicated vector store (Qdrant or Weaviate) on EKS, from the vendor's Helm chart at a pinned version.

The store runs as the chart's StatefulSet in its own PSA-restricted namespace:
- volumes from a StorageClass of its own: gp3, encrypted with the cluster's volume CMK, and tagged so the
  stack's AWS Backup selection (backup-plan=default, project, stack) takes every volume the CSI driver creates;
- the API key comes from Secrets Manager through External Secrets (a SecretStore acting as a reader role that may
  read that one secret), never through the chart's values; Weaviate's anonymous access is off;
- NetworkPolicies: default deny, then the agent services' pods (and the snapshot Job) on the store's ports only;
- a CronJob writes snapshots to a prefix of the data bucket (Qdrant: the snapshot API streamed to S3 by the Job's
  own IRSA role; Weaviate: its backup-s3 module, Weaviate's own IRSA role), both limited to that prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from agent_contract.tags import (
    SNAPSHOT_GIB_ANNOTATION,
    SNAPSHOT_NONCURRENT_ANNOTATION,
    SNAPSHOT_RECENT_RETENTION_ANNOTATION,
    SNAPSHOT_RETENTION_ANNOTATION,
)

from components.core import iam
from components.core.context import StackContext
from components.core.irsa import OidcIssuer, service_account_role
from components.core.namespace import RUN_AS, kubernetes_provider, restricted_namespace
from components.core.registry import chart_images
from components.core.tags import BACKUP_PLAN_TAG
from components.data.vector import VectorStoreRefs, snapshot_script
from components.services.contract import VectorStorePeer
from config.charts import QDRANT, WEAVIATE, Chart
from config.image_pins import QDRANT_IMAGE
from config.services import MONITORING_NAMESPACE

NAMESPACE = "vector-store"
STORAGE_CLASS = "vector-store-gp3"
# Qdrant's snapshot volume holds a snapshot only until the Job has streamed it to S3: not backed up.
SNAPSHOT_STORAGE_CLASS = "vector-store-scratch-gp3"
API_KEY_SECRET = "vector-store-api-key"
# The key inside that Secret each chart reads: Qdrant from our env entry, Weaviate's envSecrets take the
# Secret's key named after the variable (templates/weaviateStatefulset.yaml: key: {{ $key }}).
API_KEY_PROPERTY = {"qdrant": "api-key", "weaviate": "AUTHENTICATION_APIKEY_ALLOWED_KEYS"}
CHARTS: dict[str, Chart] = {"qdrant": QDRANT, "weaviate": WEAVIATE}
# Pod labels the charts put on the store's pods (qdrant _helpers.tpl qdrant.selectorLabels with release "qdrant";
# weaviate templates/weaviateStatefulset.yaml template labels).
POD_LABELS = {"qdrant": {"app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": "qdrant"},
              "weaviate": {"app.kubernetes.io/name": "weaviate"}}
# Ports the replicas use among themselves: Qdrant p2p (values service.ports p2p 6335); Weaviate gossip and data
# (values env CLUSTER_GOSSIP_BIND_PORT 7000, CLUSTER_DATA_BIND_PORT 7001) and Raft (8300, 8301).
PEER_PORTS = {"qdrant": (6335,), "weaviate": (7000, 7001, 8300, 8301)}
SNAPSHOT_JOB = "vector-store-snapshot"
SNAPSHOT_READER = "vector-store-secrets-reader"
SECRETS_API = "external-secrets.io/v1"
LABELS = {"app.kubernetes.io/part-of": "agent-platform", "app.kubernetes.io/managed-by": "pulumi"}
IRSA_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
BACKUP_TIMEOUT_SECONDS = 3 * 3600

_HARDENED = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
             "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
# qdrant chart 1.19.0 values.yaml readinessProbe defaults, kept for the probe the sidecar carries (qdrant_values).
QDRANT_READINESS = {"initialDelaySeconds": 5, "periodSeconds": 5, "timeoutSeconds": 1, "failureThreshold": 6,
                    "successThreshold": 1}


@dataclass(frozen=True)
class VectorStoreArgs:
    """The store as the data tier defined it, and what it needs of the cluster (its provider comes in opts)."""

    store: VectorStoreRefs
    context: StackContext
    oidc: OidcIssuer
    ready: Sequence[pulumi.Resource]
    volume_key_arn: pulumi.Input[str]
    # ESO must run before a SecretStore or ExternalSecret is applied.
    external_secrets: Sequence[pulumi.Resource]
    # Where the agent services run: only their pods reach the store.
    agents_namespace: str
    job_image: str


def storage_class_parameters(context: StackContext, key_arn: pulumi.Input[str], *,
                             backed_up: bool) -> dict[str, pulumi.Input[str]]:
    """EBS CSI StorageClass parameters: gp3 under the cluster's CMK; ``tagSpecification_<n>: key=value`` tags every
    volume the driver creates (aws-ebs-csi-driver docs/tagging.md), which is how AWS Backup's tag selection finds
    them."""
    tags = context.tags("vector-store", backup_plan="default" if backed_up else None)
    wanted = {k: tags[k] for k in ("project", "stack", "environment", "component", BACKUP_PLAN_TAG) if k in tags}
    return {"type": "gp3", "encrypted": "true", "kmsKeyId": key_arn, "csi.storage.k8s.io/fstype": "ext4",
            **{f"tagSpecification_{i}": f"{k}={v}" for i, (k, v) in enumerate(sorted(wanted.items()), start=1)}}


class VectorStore(pulumi.ComponentResource):
    """Qdrant or Weaviate as a StatefulSet: private, authenticated, encrypted, snapshotted and backed up."""

    host: str
    peer: VectorStorePeer

    def __init__(self, name: str, args: VectorStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:data:VectorStore", name, None, opts)
        store, context = args.store, args.context
        kind = store.kind
        self._name, self._args = name, args
        self._provider = provider = kubernetes_provider(self)
        ready = list(args.ready)

        namespace = restricted_namespace(f"{name}-namespace", NAMESPACE, provider=provider, parent=self,
                                         depends_on=ready, labels={"agent-platform/workloads": "vector-store"})
        self._k8s = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[namespace])
        self._network_policies(kind)
        classes = [self._storage_class(f"{name}-storage-class", STORAGE_CLASS, backed_up=True)]
        if kind == "qdrant":
            classes.append(self._storage_class(f"{name}-scratch-storage-class", SNAPSHOT_STORAGE_CLASS,
                                               backed_up=False))
        api_key = self._api_key(namespace)
        store_account = self._store_account(namespace) if kind == "weaviate" else None
        chart = CHARTS[kind]
        values = qdrant_values(store) if kind == "qdrant" else weaviate_values(store, context.region)
        release = k8s.helm.v3.Release(
            f"{name}-{kind}",
            name=kind,
            chart=chart.name,
            version=chart.version,
            repository_opts={"repo": chart.repo},
            namespace=NAMESPACE,
            create_namespace=False,
            atomic=True,
            cleanup_on_fail=True,
            max_history=5,
            timeout=900,
            values=values,
            opts=pulumi.ResourceOptions.merge(self._k8s, pulumi.ResourceOptions(
                depends_on=[namespace, api_key, *classes, *([store_account] if store_account else []), *ready],
                # The volumes outlive the release; a deleted StatefulSet would leave them orphaned, not gone.
                protect=context.protect)),
        )
        self._snapshot_job(kind, release, api_key)

        self.host = f"{kind}.{NAMESPACE}.svc.cluster.local"
        self.peer = VectorStorePeer(namespace=NAMESPACE, pod_labels=POD_LABELS[kind])
        self.release = release
        self.register_outputs({"host": self.host})

    # -- storage --------------------------------------------------------------------------------------

    def _storage_class(self, resource_name: str, class_name: str, *, backed_up: bool) -> k8s.storage.v1.StorageClass:
        return k8s.storage.v1.StorageClass(
            resource_name,
            metadata={"name": class_name, "labels": LABELS},
            provisioner="ebs.csi.aws.com",
            parameters=storage_class_parameters(self._args.context, self._args.volume_key_arn, backed_up=backed_up),
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            # A deleted claim keeps its volume (and its recovery points) wherever the stack is protected.
            reclaim_policy="Retain" if self._args.context.protect else "Delete",
            opts=pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=list(self._args.ready)))

    # -- secrets --------------------------------------------------------------------------------------

    def _api_key(self, namespace: pulumi.Resource) -> pulumi.Resource:
        """The API key as a Kubernetes Secret written by ESO, read as a role that may read only that secret."""
        args, name = self._args, self._name
        store = args.store
        via_secrets_manager = {"StringEquals": {
            "kms:ViaService": f"secretsmanager.{args.context.region}.amazonaws.com"}}
        role = service_account_role(
            f"{name}-secrets-reader-role", args.oidc, namespace=NAMESPACE, service_account=SNAPSHOT_READER,
            tags=args.context.tags("vector-store"), parent=self,
            inline_policy=iam.document(
                iam.statement(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                              [store.api_key_secret_arn], sid="ReadVectorStoreApiKey"),
                iam.statement(["kms:Decrypt"], [store.secrets_kms_key_arn], sid="DecryptThroughSecretsManager",
                              condition=via_secrets_manager)))
        # ESO requests tokens for this account; no pod runs as it.
        account = k8s.core.v1.ServiceAccount(
            f"{name}-secrets-reader",
            metadata={"name": SNAPSHOT_READER, "namespace": NAMESPACE, "labels": LABELS,
                      "annotations": {"eks.amazonaws.com/role-arn": role.arn,
                                      "eks.amazonaws.com/sts-regional-endpoints": "true"}},
            automount_service_account_token=False, opts=self._k8s)
        secret_store = k8s.apiextensions.CustomResource(
            f"{name}-secret-store", api_version=SECRETS_API, kind="SecretStore",
            metadata={"name": "aws-secrets-manager", "namespace": NAMESPACE, "labels": LABELS},
            spec={"provider": {"aws": {"service": "SecretsManager", "region": args.context.region,
                                       "auth": {"jwt": {"serviceAccountRef": {"name": SNAPSHOT_READER}}}}}},
            opts=pulumi.ResourceOptions.merge(self._k8s, pulumi.ResourceOptions(
                depends_on=[namespace, account, *args.external_secrets])))
        return k8s.apiextensions.CustomResource(
            f"{name}-api-key-sync", api_version=SECRETS_API, kind="ExternalSecret",
            metadata={"name": API_KEY_SECRET, "namespace": NAMESPACE, "labels": LABELS},
            spec={"refreshInterval": "1h",
                  "secretStoreRef": {"kind": "SecretStore", "name": "aws-secrets-manager"},
                  "target": {"name": API_KEY_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                  "data": [{"secretKey": API_KEY_PROPERTY[store.kind],
                            "remoteRef": {"key": store.api_key_secret_arn}}]},
            opts=pulumi.ResourceOptions.merge(self._k8s, pulumi.ResourceOptions(
                depends_on=[secret_store, store.api_key_version])))

    # -- identities for snapshots ---------------------------------------------------------------------------

    def _snapshot_policy(self, *, read: bool) -> pulumi.Output[str]:
        """Writes (and, for Weaviate's restore, reads) objects under the store's prefix of the data bucket only."""
        store = self._args.store
        prefix = store.snapshot_prefix
        objects = pulumi.Output.concat(store.bucket_arn, "/", prefix, "*")
        actions = ["s3:PutObject", "s3:AbortMultipartUpload", *(["s3:GetObject"] if read else [])]
        statements = [
            iam.statement(actions, [objects], sid="WriteSnapshots"),
            iam.statement(["s3:ListBucket"], [store.bucket_arn], sid="ListSnapshotPrefix",
                          condition={"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}}),
            iam.statement(["kms:GenerateDataKey", "kms:Decrypt"], [store.data_kms_key_arn], sid="EncryptThroughS3",
                          condition={"StringEquals": {
                              "kms:ViaService": f"s3.{self._args.context.region}.amazonaws.com"}}),
        ]
        return iam.document(*statements)

    def _store_account(self, namespace: pulumi.Resource) -> k8s.core.v1.ServiceAccount:
        """Weaviate's own identity: its backup-s3 module writes snapshots with it (values serviceAccountName)."""
        role = service_account_role(
            f"{self._name}-store-role", self._args.oidc, namespace=NAMESPACE, service_account="weaviate",
            tags=self._args.context.tags("vector-store"), parent=self, inline_policy=self._snapshot_policy(read=True))
        return k8s.core.v1.ServiceAccount(
            f"{self._name}-store-account",
            metadata={"name": "weaviate", "namespace": NAMESPACE, "labels": LABELS,
                      "annotations": {"eks.amazonaws.com/role-arn": role.arn,
                                      "eks.amazonaws.com/sts-regional-endpoints": "true"}},
            automount_service_account_token=False, opts=self._k8s)

    # -- snapshots ------------------------------------------------------------------------------------

    def _snapshot_job(self, kind: str, release: pulumi.Resource, api_key: pulumi.Resource) -> None:
        args, name, store = self._args, self._name, self._args.store
        labels = {**LABELS, "app.kubernetes.io/name": SNAPSHOT_JOB}
        role = None
        if kind == "qdrant":
            role = service_account_role(
                f"{name}-snapshot-role", args.oidc, namespace=NAMESPACE, service_account=SNAPSHOT_JOB,
                tags=args.context.tags("vector-store"), parent=self, inline_policy=self._snapshot_policy(read=False))
        account = k8s.core.v1.ServiceAccount(
            f"{name}-snapshot-account", metadata={"name": SNAPSHOT_JOB, "namespace": NAMESPACE, "labels": labels},
            automount_service_account_token=False, opts=self._k8s)
        script = k8s.core.v1.ConfigMap(
            f"{name}-snapshot-script", metadata={"name": SNAPSHOT_JOB, "namespace": NAMESPACE, "labels": labels},
            data={"snapshot.sh": snapshot_script(kind)}, opts=self._k8s)
        env: list[dict[str, Any]] = [
            {"name": "API_KEY_FILE", "value": f"/api-key/{API_KEY_PROPERTY[kind]}"},
            {"name": "HOME", "value": "/tmp"},
        ]
        if kind == "qdrant":
            # Every pod through the headless Service (chart: serviceName <fullname>-headless).
            hosts = " ".join(f"qdrant-{i}.qdrant-headless" for i in range(store.sizing.replicas))
            env += [{"name": "HOSTS", "value": hosts}, {"name": "PORT", "value": str(store.port)},
                    {"name": "BUCKET", "value": store.bucket_name}, {"name": "PREFIX", "value": store.snapshot_prefix},
                    {"name": "KMS_KEY_ARN", "value": store.data_kms_key_arn},
                    {"name": "AWS_REGION", "value": args.context.region},
                    {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
                    {"name": "AWS_ROLE_ARN", "value": role.arn if role else ""},
                    {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{IRSA_TOKEN_DIR}/token"}]
        else:
            env += [{"name": "STORE_URL", "value": f"http://weaviate.{NAMESPACE}.svc.cluster.local:{store.port}"},
                    {"name": "TIMEOUT_SECONDS", "value": str(BACKUP_TIMEOUT_SECONDS)}]
        mounts = [{"name": "script", "mountPath": "/scripts", "readOnly": True},
                  {"name": "api-key", "mountPath": "/api-key", "readOnly": True},
                  {"name": "tmp", "mountPath": "/tmp"}]
        volumes: list[dict[str, Any]] = [
            {"name": "script", "configMap": {"name": SNAPSHOT_JOB, "defaultMode": 0o555}},
            {"name": "api-key", "secret": {"secretName": API_KEY_SECRET, "defaultMode": 0o400}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        ]
        if role is not None:
            mounts.append({"name": "aws-iam-token", "mountPath": IRSA_TOKEN_DIR, "readOnly": True})
            volumes.append({"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
                "audience": "sts.amazonaws.com", "expirationSeconds": 3600, "path": "token"}}]}})
        k8s.batch.v1.CronJob(
            f"{name}-snapshot",
            metadata={"name": SNAPSHOT_JOB, "namespace": NAMESPACE, "labels": labels,
                      "annotations": snapshot_annotations(store)},
            spec={
                "schedule": store.sizing.snapshot_schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": BACKUP_TIMEOUT_SECONDS + 600,
                    "ttlSecondsAfterFinished": 86_400,
                    "template": {"metadata": {"labels": labels}, "spec": {
                        "serviceAccountName": SNAPSHOT_JOB,
                        "automountServiceAccountToken": False,
                        "restartPolicy": "Never",
                        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS,
                                            "fsGroup": RUN_AS, "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [{
                            "name": "snapshot",
                            "image": args.job_image,
                            "command": ["/bin/sh", "/scripts/snapshot.sh"],
                            "env": env,
                            "volumeMounts": mounts,
                            "securityContext": _HARDENED,
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                          "limits": {"cpu": "1", "memory": "512Mi"}},
                        }],
                        "volumes": volumes,
                    }},
                }},
            },
            opts=pulumi.ResourceOptions.merge(self._k8s, pulumi.ResourceOptions(
                depends_on=[account, script, api_key, release])))

    # -- network --------------------------------------------------------------------------------------

    def _network_policies(self, kind: str) -> None:
        store, args = self._args.store, self._args
        pods = POD_LABELS[kind]
        tcp = lambda *ports: [{"protocol": "TCP", "port": p} for p in ports]  # noqa: E731
        dns = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                       "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
               "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
        peers = {"podSelector": {"matchLabels": pods}}
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-default-deny", metadata={"name": "default-deny-all", "namespace": NAMESPACE},
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, opts=self._k8s)
        store_egress: list[dict[str, Any]] = [dns, {"to": [peers], "ports": tcp(*PEER_PORTS[kind])}]
        if kind == "weaviate":
            # The backup-s3 module writes to S3 and STS (IRSA) over TLS.
            store_egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp(443)})
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-store", metadata={"name": kind, "namespace": NAMESPACE, "labels": LABELS},
            spec={
                "podSelector": {"matchLabels": pods},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    # The agent services only (their pods carry part-of=agent-platform in the agents namespace).
                    {"from": [{"namespaceSelector": {"matchLabels": {
                                  "kubernetes.io/metadata.name": args.agents_namespace}},
                               "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "agent-platform"}}}],
                     "ports": tcp(store.port, store.grpc_port)},
                    {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": SNAPSHOT_JOB}}}],
                     "ports": tcp(store.port)},
                    {"from": [peers], "ports": tcp(*PEER_PORTS[kind])},
                    # Prometheus scrapes /metrics on the REST port.
                    {"from": [{"namespaceSelector": {"matchLabels": {
                        "kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}], "ports": tcp(store.port)},
                ],
                "egress": store_egress,
            },
            opts=self._k8s)
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-snapshot-egress",
            metadata={"name": SNAPSHOT_JOB, "namespace": NAMESPACE, "labels": LABELS},
            spec={
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": SNAPSHOT_JOB}},
                "policyTypes": ["Ingress", "Egress"],
                "egress": [dns, {"to": [peers], "ports": tcp(store.port)},
                           # S3 and STS (IRSA) over TLS, through the VPC endpoints or NAT.
                           {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp(443)}],
            },
            opts=self._k8s)


def snapshot_annotations(store: VectorStoreRefs) -> dict[str, str]:
    """What one snapshot run writes to S3 at most (every replica's volume in full) and how long S3 keeps each
    retention class (components/data/vector.py snapshot_expiry): the estimate prices every run of the schedule."""
    sizing = store.sizing
    return {SNAPSHOT_GIB_ANNOTATION: str(sizing.volume_size_gib * sizing.replicas),
            SNAPSHOT_RETENTION_ANNOTATION: str(sizing.snapshot_retention_days),
            SNAPSHOT_RECENT_RETENTION_ANNOTATION: str(sizing.recent_snapshot_retention_days),
            SNAPSHOT_NONCURRENT_ANNOTATION: str(store.noncurrent_days)}


def _resources(store: VectorStoreRefs) -> dict[str, Any]:
    sizing = store.sizing
    return {"requests": {"cpu": sizing.cpu_request, "memory": sizing.memory_request},
            "limits": {"memory": sizing.memory_limit}}


def _zone_spread(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": labels}}]


def qdrant_values(store: VectorStoreRefs) -> dict[str, Any]:
    """qdrant chart 1.19.0 values (every key read in charts/qdrant/values.yaml at tag qdrant-1.19.0).

    The API key reaches Qdrant as QDRANT__SERVICE__API_KEY from the ESO Secret (``env`` entries may carry
    ``valueFrom``, templates/statefulset.yaml); the chart's own ``apiKey`` would copy the key into a Secret the
    chart renders (``lookup`` at install time). ``updateVolumeFsOwnership`` off: its init container runs chown as
    the image's root user, which the restricted namespace refuses; ``fsGroup`` gives the volume to the pod's group.
    """
    sizing = store.sizing
    replicas = sizing.replicas
    labels = POD_LABELS["qdrant"]
    values: dict[str, Any] = {
        # The image by digest (config/image_pins.py QDRANT_IMAGE): "v1.19.0@sha256:..." in image.tag, which the
        # chart renders as "{{ image.repository }}:{{ image.tag }}{{ useUnprivilegedImage | ternary "-unprivileged"
        # "" }}" (templates/statefulset.yaml): the suffix would land after the digest, so it stays off.
        "image": {**chart_images(QDRANT.name)["image"], "useUnprivilegedImage": False},
        # templates/statefulset.yaml computes the readiness path with
        #   semverCompare ">=1.7.3" ($.Values.image.tag | default $.Chart.AppVersion)
        # inside {{- if and $values.readinessProbe.enabled .checksEnabled }}: a "<tag>@sha256:" tag is not a semantic
        # version and fails the render (qdrant-helm#388; digest keys proposed in PRs #389/#457/#480, none released).
        # So that probe is off and the sidecar below carries the same one (GET /readyz on the REST port).
        "readinessProbe": {"enabled": False},
        "sidecarContainers": [qdrant_readiness_sidecar(store)],
        "replicaCount": replicas,
        "service": {"type": "ClusterIP"},
        "ingress": {"enabled": False},
        "env": [{"name": "QDRANT__SERVICE__API_KEY",
                 "valueFrom": {"secretKeyRef": {"name": API_KEY_SECRET, "key": API_KEY_PROPERTY["qdrant"]}}}],
        "resources": _resources(store),
        "containerSecurityContext": {**_HARDENED, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "privileged": False},
        "podSecurityContext": {"runAsNonRoot": True, "fsGroup": RUN_AS, "fsGroupChangePolicy": "OnRootMismatch",
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "updateVolumeFsOwnership": False,
        "persistence": {"accessModes": ["ReadWriteOnce"], "size": f"{sizing.volume_size_gib}Gi",
                        "storageClassName": STORAGE_CLASS},
        # Snapshots are written here and streamed to S3 by the Job; the chart recommends a volume of the data's size.
        "snapshotPersistence": {"enabled": True, "accessModes": ["ReadWriteOnce"],
                                "size": f"{sizing.volume_size_gib}Gi", "storageClassName": SNAPSHOT_STORAGE_CLASS},
        "podLabels": {"app.kubernetes.io/part-of": "agent-platform"},
        "podDisruptionBudget": {"enabled": replicas > 1, "maxUnavailable": 1},
        "metrics": {"serviceMonitor": {"enabled": False}},
    }
    if replicas > 1:
        values["topologySpreadConstraints"] = _zone_spread(labels)
    return values


def qdrant_readiness_sidecar(store: VectorStoreRefs) -> dict[str, Any]:
    """A container that only carries Qdrant's readiness probe (the chart's own cannot render with a digest).

    An httpGet probe goes to the pod's IP, which every container of the pod shares, and a pod is Ready only when
    all its containers are: the pod is Ready exactly when Qdrant's /readyz answers 200 ("all shards are ready",
    api.qdrant.tech service/readyz), as with the chart's probe. It runs Qdrant's own image by the same digest (on
    the node already, no other image to pin) and idles in bash (the chart's command is /bin/bash -c), exiting on
    SIGTERM so a rollout does not wait out the grace period.
    """
    return {
        "name": "readyz",
        "image": QDRANT_IMAGE.reference,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/bash", "-c", "trap 'exit 0' TERM; sleep infinity & wait"],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": store.port}, **QDRANT_READINESS},
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}},
        "securityContext": {**_HARDENED, "runAsUser": RUN_AS, "runAsGroup": RUN_AS},
    }


def weaviate_values(store: VectorStoreRefs, region: str) -> dict[str, Any]:
    """weaviate chart 17.8.3 values (every key read in weaviate/values.yaml at tag v17.8.3).

    API-key authentication through env (AUTHENTICATION_APIKEY_*, values.yaml's documented way to keep keys in a
    Secret: ``envSecrets``), anonymous access off. Both Services are ClusterIP (the chart's default is
    LoadBalancer). The sysctl init container is off: it runs privileged as root (refused in a restricted
    namespace); Weaviate then runs with the node's vm.max_map_count.
    """
    sizing = store.sizing
    labels = POD_LABELS["weaviate"]
    values: dict[str, Any] = {
        # The image by the digest cr.weaviate.io serves for 1.38.2 when the program runs (config/image_pins.py
        # WEAVIATE_IMAGE): "1.38.2@sha256:..." in image.tag, rendered "{{ image.registry }}/{{ image.repo }}:
        # {{ image.tag }}" (templates/weaviateStatefulset.yaml).
        **chart_images(WEAVIATE.name),
        "replicas": sizing.replicas,
        "service": {"type": "ClusterIP", "ports": [{"name": "http", "protocol": "TCP", "port": store.port}]},
        "grpcService": {"enabled": True, "type": "ClusterIP"},
        "initContainers": {"sysctlInitContainer": {"enabled": False},
                           "ensureFileOwnershipContainer": {"enabled": False}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS,
                            "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": _HARDENED,
        "resources": _resources(store),
        "storage": {"size": f"{sizing.volume_size_gib}Gi", "storageClassName": STORAGE_CLASS},
        "serviceAccountName": "weaviate",
        "authentication": {"anonymous_access": {"enabled": False}},
        "env": {"AUTHENTICATION_APIKEY_ENABLED": "true", "AUTHENTICATION_APIKEY_USERS": "agent-platform",
                "DISABLE_TELEMETRY": "true"},
        "envSecrets": {"AUTHENTICATION_APIKEY_ALLOWED_KEYS": API_KEY_SECRET},
        "backups": {"s3": {"enabled": True, "envconfig": {
            "BACKUP_S3_BUCKET": store.bucket_name, "BACKUP_S3_PATH": store.snapshot_prefix.rstrip("/"),
            "AWS_REGION": region}}},
        "serviceMonitor": {"enabled": False},
        # A writable /tmp under the read-only root filesystem.
        "extraVolumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
        "extraVolumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if sizing.replicas > 1:
        # The chart has no topologySpreadConstraints key: prefer one replica per zone through its affinity.
        values["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"topologyKey": "topology.kubernetes.io/zone",
                                                "labelSelector": {"matchLabels": labels}}}]}}
    return values
