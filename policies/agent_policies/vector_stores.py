"""Dedicated vector stores (the qdrant and weaviate Helm charts): authenticated, private, encrypted, backed up.

The charts' defaults are the opposite of what a store of embeddings needs: Qdrant runs without an API key,
Weaviate with anonymous access on and both of its Services of type LoadBalancer. These read the release's values
the way the charts template them (qdrant 1.19.0, weaviate 17.8.3) and the StorageClass, NetworkPolicies and AWS
Backup selection around them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from agent_contract.schedules import runs_per_day
from agent_contract.tags import BACKUP_PLAN_TAG, SNAPSHOT_RUNS_PER_DAY_TAG, VECTOR_STORE_CHARTS
from pulumi_policy import Policy, PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._common import Report, Settings, cis_eks, get, known, known_plain, resource_policy, soc2, stack_policy

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
BACKUP_SELECTION = "aws:backup/selection:Selection"
EBS_PROVISIONER = "ebs.csi.aws.com"
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")
QDRANT_KEY_ENV = "QDRANT__SERVICE__API_KEY"
CRON_JOB = "kubernetes:batch/v1:CronJob"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
SNAPSHOT_JOB = "vector-store-snapshot"
# Where the stores' snapshots go in the data bucket, and the part holding a sub-daily schedule's frequent runs
# (components/data/vector.py: vector-store/qdrant/recent/, vector-store/weaviate/recent-<id>).
SNAPSHOT_PREFIX = "vector-store/"
RECENT_MARK = "/recent"


def _chart(props: Any) -> str:
    return str(get(props, "chart") or "").rstrip("/").rsplit("/", 1)[-1]


def _values(props: Any) -> dict[str, Any]:
    values = known_plain(get(props, "values", default={}))
    return values if isinstance(values, dict) else {}


def _secret_ref(value: Any) -> bool:
    ref = (value or {}).get("valueFrom", {}).get("secretKeyRef", {}) if isinstance(value, Mapping) else {}
    return bool(ref.get("name")) and bool(ref.get("key"))


def _qdrant_auth_problems(values: Mapping[str, Any]) -> list[str]:
    problems = []
    api_key = values.get("apiKey")
    env = [e for e in values.get("env") or [] if isinstance(e, Mapping) and e.get("name") == QDRANT_KEY_ENV]
    if isinstance(api_key, str) and api_key:
        problems.append("values.apiKey is a plaintext key (it is stored in the release and the Pulumi state)")
    for entry in env:
        if "value" in entry and entry.get("value") is not None:
            problems.append(f"values.env {QDRANT_KEY_ENV} is a plaintext value")
    from_secret = _secret_ref(api_key) or any(_secret_ref(e) for e in env)
    if not from_secret and not problems:
        problems.append(f"no API key: neither values.apiKey.valueFrom.secretKeyRef nor a {QDRANT_KEY_ENV} env "
                        "entry from a Secret is set, so every pod that reaches the store reads and writes all "
                        "collections")
    return problems


def _weaviate_auth_problems(values: Mapping[str, Any]) -> list[str]:
    problems = []
    anonymous = get(values, "authentication", "anonymous_access", "enabled", default=True)
    if anonymous is not False:
        problems.append("values.authentication.anonymous_access.enabled is not false (the chart's default is true: "
                        "anyone who reaches the store may use it without a key)")
    env = values.get("env") or {}
    env_secrets = values.get("envSecrets") or {}
    if env.get("AUTHENTICATION_APIKEY_ALLOWED_KEYS") or get(values, "authentication", "apikey", "allowed_keys"):
        problems.append("API keys are set in plaintext in the values (env.AUTHENTICATION_APIKEY_ALLOWED_KEYS or "
                        "authentication.apikey.allowed_keys)")
    enabled = str(env.get("AUTHENTICATION_APIKEY_ENABLED", "")).lower() == "true" or \
        get(values, "authentication", "apikey", "enabled") is True
    if not enabled or not env_secrets.get("AUTHENTICATION_APIKEY_ALLOWED_KEYS"):
        problems.append("API-key authentication is not on with its keys from a Secret (env "
                        "AUTHENTICATION_APIKEY_ENABLED 'true' and envSecrets.AUTHENTICATION_APIKEY_ALLOWED_KEYS)")
    return problems


def _check_auth(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = _chart(args.props)
    if chart not in VECTOR_STORE_CHARTS:
        return
    values = _values(args.props)
    problems = _qdrant_auth_problems(values) if chart == "qdrant" else _weaviate_auth_problems(values)
    if problems:
        report(f"Vector store chart {chart}: {'; '.join(problems)}.")


def _check_exposure(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = _chart(args.props)
    if chart not in VECTOR_STORE_CHARTS:
        return
    values = _values(args.props)
    # The charts' defaults where unset: qdrant's Service is ClusterIP, weaviate's two Services are LoadBalancer.
    default = "ClusterIP" if chart == "qdrant" else "LoadBalancer"
    services = ["service"] + (["grpcService"] if chart == "weaviate" else [])
    problems = []
    for key in services:
        kind = get(values, key, "type", default=default)
        if kind in EXPOSED_SERVICE_TYPES:
            default_note = " (the chart default)" if get(values, key, "type") is None else ""
            problems.append(f"values.{key}.type is {kind}{default_note}")
    if get(values, "ingress", "enabled") is True:
        problems.append("values.ingress.enabled is true")
    if problems:
        report(f"Vector store chart {chart} is reachable from outside the cluster: {'; '.join(problems)}. Only the "
               "agent services may reach it, through its ClusterIP Service.")


def _releases(resources: Iterable[PolicyResource]) -> list[tuple[PolicyResource, str, dict[str, Any]]]:
    found = []
    for res in resources:
        if res.resource_type != HELM_RELEASE:
            continue
        chart = known(lambda r=res: _chart(r.props))
        if chart in VECTOR_STORE_CHARTS:
            found.append((res, chart, known(lambda r=res: _values(r.props), {}) or {}))
    return found


def _data_storage_class(chart: str, values: Mapping[str, Any]) -> str | None:
    _, block, _ = VECTOR_STORE_CHARTS[chart]
    return get(values, block, "storageClassName")


def _storage_classes(resources: Iterable[PolicyResource]) -> dict[str, PolicyResource]:
    found = {}
    for res in resources:
        if res.resource_type == STORAGE_CLASS:
            name = known(lambda r=res: get(r.props, "metadata", "name"))
            if name:
                found[str(name)] = res
    return found


def _check_encrypted(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    classes = _storage_classes(args.resources)
    for res, chart, values in _releases(args.resources):
        name = _data_storage_class(chart, values)
        klass = classes.get(str(name)) if name else None
        if klass is None:
            report(f"Vector store chart {chart} puts its data on storage class {name or '(the cluster default)'}, "
                   "which this stack does not define, so nothing shows its volumes are encrypted with a CMK.", res.urn)
            continue
        params = known(lambda k=klass: known_plain(get(k.props, "parameters", default={})), None)
        if params is None:
            continue
        provisioner = known(lambda k=klass: get(k.props, "provisioner"))
        if provisioner != EBS_PROVISIONER or str(params.get("encrypted")).lower() != "true" or \
                "kmsKeyId" not in params:
            report(f"Storage class {name} of vector store chart {chart} does not provision EBS volumes encrypted "
                   "with a customer-managed key (provisioner ebs.csi.aws.com, encrypted 'true', kmsKeyId).", res.urn)


def _tagged_for_backup(params: Mapping[str, Any]) -> bool:
    tags = dict(str(v).split("=", 1) for k, v in params.items()
                if str(k).startswith("tagSpecification_") and "=" in str(v))
    return tags.get(BACKUP_PLAN_TAG) == "default"


def _selects_volumes(resources: Iterable[PolicyResource]) -> bool | None:
    """Whether an AWS Backup selection takes EBS volumes (None while a selection's resources are unknown)."""
    for res in resources:
        if res.resource_type != BACKUP_SELECTION:
            continue
        patterns = known(lambda r=res: known_plain(get(r.props, "resources", default=[])), None)
        if patterns is None or any(p is None for p in patterns):
            return None
        if any(":volume/" in str(p) for p in patterns):
            return True
    return False


def _check_backed_up(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    releases = _releases(args.resources)
    if not releases:
        return
    classes = _storage_classes(args.resources)
    selected = _selects_volumes(args.resources)
    for res, chart, values in releases:
        name = _data_storage_class(chart, values)
        klass = classes.get(str(name)) if name else None
        params = known(lambda k=klass: known_plain(get(k.props, "parameters", default={})), None) if klass else {}
        if params is not None and not _tagged_for_backup(params):
            report(f"Volumes of vector store chart {chart} (storage class {name}) are not tagged "
                   f"{BACKUP_PLAN_TAG}=default (a tagSpecification_<n> parameter), so AWS Backup never takes them.",
                   res.urn)
        if selected is False:
            report(f"Vector store chart {chart} keeps its data on EBS, but no AWS Backup selection takes EBS volumes "
                   "(arn:...:volume/*).", res.urn)


def _admits_any_pod(rule: Mapping[str, Any]) -> str | None:
    peers = rule.get("from")
    if not peers:
        return "an ingress rule without 'from' (every source)"
    for peer in peers:
        peer = peer or {}
        if "namespaceSelector" in peer and not (peer["namespaceSelector"] or {}).get("matchLabels") and \
                not (peer["namespaceSelector"] or {}).get("matchExpressions"):
            pods = peer.get("podSelector") or {}
            if not pods.get("matchLabels") and not pods.get("matchExpressions"):
                return "a peer namespaceSelector: {} (every pod of every namespace)"
        if "ipBlock" in peer:
            return f"a peer ipBlock {peer['ipBlock'].get('cidr')}"
    return None


def _check_isolated(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    releases = _releases(args.resources)
    if not releases:
        return
    by_namespace: dict[str, list[tuple[PolicyResource, dict[str, Any]]]] = {}
    for res in args.resources:
        if res.resource_type != NETWORK_POLICY:
            continue
        namespace = known(lambda r=res: get(r.props, "metadata", "namespace"))
        spec = known(lambda r=res: known_plain(get(r.props, "spec", default={})), None)
        if namespace and spec is not None:
            by_namespace.setdefault(str(namespace), []).append((res, spec))
    for res, chart, _ in releases:
        namespace = known(lambda r=res: get(r.props, "namespace"))
        if namespace is None:
            continue
        policies = by_namespace.get(str(namespace), [])
        deny = any(not (spec.get("podSelector") or {}).get("matchLabels")
                   and not (spec.get("podSelector") or {}).get("matchExpressions")
                   and "Ingress" in (spec.get("policyTypes") or ["Ingress"]) and not spec.get("ingress")
                   for _, spec in policies)
        if not deny:
            report(f"Namespace {namespace} of vector store chart {chart} has no default-deny ingress NetworkPolicy: "
                   "every pod of the cluster reaches the store.", res.urn)
        for policy, spec in policies:
            for i, rule in enumerate(spec.get("ingress") or []):
                why = _admits_any_pod(rule or {})
                if why:
                    report(f"NetworkPolicy {policy.name} in namespace {namespace} of vector store chart {chart} has "
                           f"{why} at ingress[{i}]: only the agent services (and the store's own pods) may reach it.",
                           policy.urn)


# --- the VM runtime: one instance, a standalone data volume, both tagged component=vector-store ---------------------

EBS_VOLUME = "aws:ebs/volume:Volume"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
VM_COMPONENT = "vector-store"


def _vm_store(props: Any) -> bool:
    return (known(lambda: get(props, "tags", default={}) or {}, {}) or {}).get("component") == VM_COMPONENT


def _check_vm_volume(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _vm_store(args.props):
        return
    problems = []
    if get(args.props, "encrypted") is not True or not get(args.props, "kmsKeyId"):
        problems.append("not encrypted with a customer-managed key (encrypted true and kmsKeyId)")
    if (get(args.props, "tags", default={}) or {}).get(BACKUP_PLAN_TAG) != "default":
        problems.append(f"not tagged {BACKUP_PLAN_TAG}=default, so AWS Backup never takes it")
    if problems:
        report(f"Vector store data volume: {'; '.join(problems)}.")


def _check_vm_auth(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _vm_store(args.props):
        return
    encoded = get(args.props, "userData")
    if not encoded:
        report("Vector store instance has no user data: nothing starts the store with authentication.")
        return
    try:
        text = base64.b64decode(str(encoded)).decode()
    except (ValueError, UnicodeDecodeError):
        return
    qdrant = "QDRANT__SERVICE__API_KEY" in text
    weaviate = "AUTHENTICATION_APIKEY_ENABLED=true" in text and "AUTHENTICATION_APIKEY_ALLOWED_KEYS" in text \
        and "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false" in text
    if not (qdrant or weaviate):
        report("Vector store instance starts the store without an API key (Qdrant QDRANT__SERVICE__API_KEY; Weaviate "
               "AUTHENTICATION_APIKEY_ENABLED=true with its keys and AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false).")
    if "secretsmanager get-secret-value" not in text:
        report("Vector store instance does not read its API key from Secrets Manager at start.")


def _prefix(rule: Any) -> str:
    return str(get(rule, "filter", "prefix", default="") or "")


def _check_snapshot_classes(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    """A sub-daily snapshot schedule writes a full snapshot per run: each bucket that keeps the store's snapshots
    (the data bucket, its DR replica: replication does not copy lifecycle rules) expires the recent ones soon."""
    limit = int(settings["maxRecentDays"])
    sub_daily = []
    for job in args.resources:
        if job.resource_type == EBS_VOLUME and _vm_store(job.props):
            # The VM runtime's snapshot timer: its runs a day are a tag of the data volume.
            runs_tag = str((known(lambda j=job: get(j.props, "tags"), {}) or {}).get(SNAPSHOT_RUNS_PER_DAY_TAG, 1))
            runs = int(runs_tag) if runs_tag.isdigit() else None
            if runs is None or runs > 1:
                sub_daily.append((job, "the snapshot timer", runs))
            continue
        if job.resource_type != CRON_JOB or known(lambda j=job: get(j.props, "metadata", "name")) != SNAPSHOT_JOB:
            continue
        schedule = known(lambda j=job: get(j.props, "spec", "schedule"))
        runs = runs_per_day(str(schedule)) if schedule is not None else 1
        if runs is None or runs > 1:
            sub_daily.append((job, f"'{schedule}'", runs))
    if not sub_daily:
        return
    for bucket in args.resources:
        if bucket.resource_type != BUCKET_LIFECYCLE:
            continue
        rules = known(lambda b=bucket: list(get(b.props, "rules", default=[]) or []), None)
        if rules is None or not any(_prefix(r).startswith(SNAPSHOT_PREFIX) for r in rules):
            continue
        recent = [r for r in rules if _prefix(r).startswith(SNAPSHOT_PREFIX) and RECENT_MARK in _prefix(r)
                  and str(get(r, "status", default="")) == "Enabled"]
        bounded = [r for r in recent
                   if known(lambda r=r: get(r, "expiration", "days"), None) is not None
                   and float(get(r, "expiration", "days")) <= limit
                   and known(lambda r=r: get(r, "noncurrentVersionExpiration", "noncurrentDays"), None) is not None]
        if not bounded:
            job, schedule, runs = sub_daily[0]
            report(f"The vector store snapshots on {schedule} ({runs or 'an unknown number of'} full snapshots a "
                   f"day), but the lifecycle of {bucket.name}, which keeps them, has no enabled rule on the "
                   f"recent prefix (vector-store/<store>/recent) expiring them within {limit} days and their "
                   "noncurrent versions: every run would be kept snapshotRetentionDays.", bucket.urn)


_REFS = [soc2("CC6.1"), soc2("CC6.6")]

POLICIES: list[Policy] = [
    resource_policy(
        "vector-store-auth-required",
        description="Qdrant and Weaviate releases require an API key held in a Kubernetes Secret (synced from "
                    "Secrets Manager), never in the values; Weaviate's anonymous access is off.",
        resource_types=[HELM_RELEASE],
        check=_check_auth,
        severity=Severity.CRITICAL,
        remediation="Qdrant: set env QDRANT__SERVICE__API_KEY with valueFrom.secretKeyRef (or apiKey.valueFrom). "
                    "Weaviate: authentication.anonymous_access.enabled false, env AUTHENTICATION_APIKEY_ENABLED "
                    "'true' and envSecrets.AUTHENTICATION_APIKEY_ALLOWED_KEYS naming the Secret.",
        refs=_REFS,
    ),
    resource_policy(
        "vector-store-not-exposed",
        description="Qdrant and Weaviate Services are ClusterIP (no LoadBalancer or NodePort) and no Ingress is "
                    "enabled.",
        resource_types=[HELM_RELEASE],
        check=_check_exposure,
        severity=Severity.CRITICAL,
        remediation="Set values service.type ClusterIP (Weaviate: grpcService.type too; its chart defaults to "
                    "LoadBalancer) and ingress.enabled false.",
        refs=_REFS,
    ),
    stack_policy(
        "vector-store-volumes-encrypted",
        description="Qdrant and Weaviate data volumes come from a StorageClass of this stack that provisions EBS "
                    "volumes encrypted with a customer-managed key.",
        check=_check_encrypted,
        severity=Severity.HIGH,
        remediation="Point the chart's storageClassName at a StorageClass with provisioner ebs.csi.aws.com and "
                    "parameters encrypted 'true' and kmsKeyId.",
        refs=[soc2("CC6.1"), cis_eks("5.3.1", "Encrypt Kubernetes Secrets and volumes with KMS CMKs")],
    ),
    stack_policy(
        "vector-store-backed-up",
        description="Qdrant and Weaviate data volumes are tagged for the stack's AWS Backup plan and a selection "
                    "takes EBS volumes.",
        check=_check_backed_up,
        severity=Severity.HIGH,
        topic=("availability",),
        remediation="Give the store's StorageClass a tagSpecification_<n> 'backup-plan=default' parameter (and the "
                    "project and stack tags) and include EBS in the backup selection.",
        refs=[soc2("A1.2")],
    ),
    resource_policy(
        "vector-store-vm-volume-protected",
        description="The VM runtime's vector store data volume is encrypted with a customer-managed key and tagged "
                    "for the stack's AWS Backup plan.",
        resource_types=[EBS_VOLUME],
        check=_check_vm_volume,
        severity=Severity.HIGH,
        topic=("security", "availability"),
        remediation="Create the volume with encrypted true, kmsKeyId the VM volume key and the backup-plan=default "
                    "tag.",
        refs=[soc2("CC6.1"), soc2("A1.2")],
    ),
    resource_policy(
        "vector-store-vm-auth-required",
        description="The VM runtime's vector store instance starts the store with API-key authentication, its key "
                    "read from Secrets Manager at start (never written into the user data).",
        resource_types=[LAUNCH_TEMPLATE],
        check=_check_vm_auth,
        severity=Severity.CRITICAL,
        remediation="Render the boot script from components/services/vm/templates/vector-store.sh.",
        refs=_REFS,
    ),
    stack_policy(
        "vector-store-snapshots-bounded",
        description="A vector store snapshotting more than once a day has every bucket that keeps its snapshots (the "
                    "data bucket and its DR replica) expire the frequent ones, current and noncurrent versions, "
                    "within a few days; only the daily one is kept snapshotRetentionDays.",
        check=_check_snapshot_classes,
        severity=Severity.MEDIUM,
        topic=("cost", "availability"),
        remediation="Keep dataTier.<store>.recentSnapshotRetentionDays at most 3: the data tier adds the lifecycle "
                    "rule on vector-store/<store>/recent to the data bucket and its replica "
                    "(components/data/vector.py snapshot_expiry).",
        config={"maxRecentDays": {"type": "integer", "minimum": 1, "default": 3,
                                  "description": "Most days a sub-daily schedule's frequent snapshots are kept."}},
    ),
    stack_policy(
        "vector-store-network-isolated",
        description="The namespace of a Qdrant or Weaviate release denies ingress by default and no NetworkPolicy "
                    "in it admits every pod, every namespace or an IP block.",
        check=_check_isolated,
        severity=Severity.HIGH,
        remediation="Add a default-deny NetworkPolicy (podSelector: {}, policyTypes [Ingress, Egress]) and admit "
                    "the agent services by namespaceSelector and podSelector on the store's ports only.",
        refs=[cis_eks("4.3.2"), soc2("CC6.6")],
    ),
]
