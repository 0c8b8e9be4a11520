"""Production reliability: nothing deletes data in one step, nothing is a single point of failure.

Protected tiers (staging, prod) may not force-destroy buckets or repositories, delete secrets without a
recovery window, drop a cluster or the database's automated backups with it, funnel every AZ through one NAT
gateway, or run single-replica workloads; and a PodDisruptionBudget must never make node drains impossible.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import Policy, PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._common import (
    Report,
    Settings,
    get,
    known,
    of_type,
    resource_policy,
    soc2,
    stack_policy,
)
from .stack import (
    HPA,
    SCALED_OBJECT,
    WORKLOAD_KINDS,
    Candidates,
    _namespace,
    _namespace_names,
    _scaler_matches,
    _workloads,
    scaler_target,
    workload_name,
)

PDB = "kubernetes:policy/v1:PodDisruptionBudget"
_PROTECTED = {"protectedEnvironment": {"type": "boolean", "default": True,
                                       "description": "Whether this stack is a protected tier (staging, prod)."}}


def _check_force_destroy(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not settings["protectedEnvironment"]:
        return
    field = "forceDelete" if args.resource_type == "aws:ecr/repository:Repository" else "forceDestroy"
    if get(args.props, field) is True:
        report(f"{field} is true: deleting the resource (a rename, a refactor, `pulumi destroy`) first deletes "
               "every object or image in it, with no undo.")


def _check_recovery_window(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not settings["protectedEnvironment"]:
        return
    window = get(args.props, "recoveryWindowInDays")
    minimum = int(settings["minRecoveryWindowDays"])
    if window is not None and int(window) < minimum:
        report(f"recoveryWindowInDays is {int(window)}: a deleted secret is gone " +
               ("immediately" if int(window) == 0 else f"after {int(window)} days") +
               f"; keep at least {minimum} days (the default is 30).")


def _check_eks_deletion(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if settings["protectedEnvironment"] and get(args.props, "deletionProtection") is not True:
        report("deletionProtection is not true: one API call deletes the cluster and every workload on it.")


def _check_automated_backups(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    # deleteAutomatedBackups defaults to true in the RDS API and the provider.
    if settings["protectedEnvironment"] and get(args.props, "deleteAutomatedBackups", default=True) is not False:
        report("deleteAutomatedBackups is not false: deleting the instance also deletes its point-in-time backups.")


def _check_nat(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    if not settings["protectedEnvironment"]:
        return
    nats = list(of_type(args.resources, "aws:ec2/natGateway:NatGateway"))
    if not nats:
        return
    zones = set()
    for subnet in of_type(args.resources, "aws:ec2/subnet:Subnet"):
        zone = known(lambda s=subnet: get(s.props, "availabilityZone") or get(s.props, "availabilityZoneId"))
        if isinstance(zone, str):
            zones.add(zone)
    wanted = min(len(zones), int(settings["minNatGateways"])) if zones else int(settings["minNatGateways"])
    if len(nats) < wanted:
        report(f"{len(nats)} NAT gateway(s) serve subnets in {len(zones)} availability zones: losing the zone of "
               f"{'the' if len(nats) == 1 else 'a'} NAT gateway cuts every private subnet off the internet. Create one "
               "per zone (network.natGatewayPerAz).", nats[0].urn)


def _replicas(
    res: PolicyResource, scalers: Candidates, workload: Any, names: Mapping[str, str]
) -> int | None:
    # The first autoscaler (stack order) that targets the workload; only those with its name, or whose target's
    # name is unknown, can (``_scaler_matches``), so those are the ones asked.
    for scaler in scalers.likely(workload_name(workload)):
        if known(lambda s=scaler: _scaler_matches(s, workload, names)):
            field = "minReplicaCount" if scaler.resource_type == SCALED_OBJECT else "minReplicas"
            value = known(lambda s=scaler, f=field: get(s.props, "spec", f))
            if scaler.resource_type == SCALED_OBJECT and value is None:
                return 0  # KEDA's default minReplicaCount
            return int(value) if value is not None else 1
    value = known(lambda: get(res.props, "spec", "replicas", default=1))
    return int(value) if value is not None else None


def _check_replicas(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    if not settings["protectedEnvironment"]:
        return
    minimum = int(settings["minReplicas"])
    names = _namespace_names(args.resources)
    scalers = Candidates([r for r in args.resources if r.resource_type in (HPA, SCALED_OBJECT)], scaler_target)
    for workload in _workloads(args.resources, names, settings):
        if workload.resource.resource_type not in WORKLOAD_KINDS:
            continue
        count = _replicas(workload.resource, scalers, workload, names)
        if count is not None and count < minimum:
            report(f"{workload.label} runs at least {count} replica(s): a node drain, an eviction or one crash takes "
                   f"it down. Run at least {minimum} (spec.replicas or the autoscaler's minimum).",
                   workload.resource.urn)


_PERCENT = re.compile(r"^(\d+)%$")


def _check_pdb(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    spec = get(args.props, "spec", default={})
    max_unavailable = get(spec, "maxUnavailable")
    min_available = get(spec, "minAvailable")
    if max_unavailable is not None and str(max_unavailable) in ("0", "0%", "0.0"):
        report("maxUnavailable is 0: no pod may ever be evicted, so node drains (upgrades, scale-in) hang.")
    if min_available is not None:
        match = _PERCENT.match(str(min_available))
        if match and int(match[1]) >= 100:
            report(f"minAvailable is {min_available}: no pod may ever be evicted, so node drains hang.")


def _check_pdb_vs_replicas(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    names = _namespace_names(args.resources)
    workloads = _workloads(args.resources, names, {"exemptNamespaces": []})
    for pdb in of_type(args.resources, PDB):
        min_available = known(lambda p=pdb: get(p.props, "spec", "minAvailable"))
        if not isinstance(min_available, int | float):
            continue
        selector = known(lambda p=pdb: get(p.props, "spec", "selector", "matchLabels"))
        namespace = known(lambda p=pdb: _namespace(p, names))
        for workload in workloads:
            if workload.namespace != namespace or not selector:
                continue
            if any(workload.labels.get(k) != v for k, v in dict(selector).items()):
                continue
            replicas = known(lambda w=workload: get(w.resource.props, "spec", "replicas"))
            if isinstance(replicas, int | float) and min_available >= replicas:
                report(f"PodDisruptionBudget {pdb.name} keeps minAvailable={int(min_available)} of {workload.label}'s "
                       f"{int(replicas)} replicas: no pod may be evicted, so node drains hang.", pdb.urn)


POLICIES: list[Policy] = [
    resource_policy(
        "no-force-destroy-in-protected-tiers",
        description="In protected tiers, S3 buckets and ECR repositories do not set force-destroy/force-delete.",
        resource_types=["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "aws:ecr/repository:Repository"],
        check=_check_force_destroy,
        severity=Severity.HIGH,
        remediation="Set force_destroy / force_delete only in disposable stacks (dev); keep it false where data "
                    "matters.",
        topic=("availability",),
        refs=[soc2("A1.2")],
        config=_PROTECTED,
    ),
    resource_policy(
        "secret-recovery-window",
        description="In protected tiers, Secrets Manager secrets keep a recovery window after deletion.",
        resource_types=["aws:secretsmanager/secret:Secret"],
        check=_check_recovery_window,
        severity=Severity.MEDIUM,
        remediation="Leave recovery_window_in_days unset (30) or at least the minimum; 0 only in disposable stacks.",
        topic=("availability",),
        refs=[soc2("A1.2")],
        config={**_PROTECTED,
                "minRecoveryWindowDays": {"type": "integer", "minimum": 7, "maximum": 30, "default": 7,
                                          "description": "Shortest allowed recovery window."}},
    ),
    resource_policy(
        "eks-deletion-protection",
        description="In protected tiers, EKS clusters have deletion protection on.",
        resource_types=["aws:eks/cluster:Cluster"],
        check=_check_eks_deletion,
        severity=Severity.HIGH,
        remediation="Set deletion_protection=True on the aws.eks.Cluster.",
        topic=("availability",),
        refs=[soc2("A1.2")],
        config=_PROTECTED,
    ),
    resource_policy(
        "rds-keep-automated-backups",
        description="In protected tiers, deleting an RDS instance keeps its automated backups.",
        resource_types=["aws:rds/instance:Instance"],
        check=_check_automated_backups,
        severity=Severity.MEDIUM,
        remediation="Set delete_automated_backups=False on the aws.rds.Instance.",
        topic=("availability",),
        refs=[soc2("A1.2")],
        config=_PROTECTED,
    ),
    stack_policy(
        "nat-gateway-per-az",
        description="In protected tiers, private subnets egress through one NAT gateway per availability zone.",
        check=_check_nat,
        severity=Severity.MEDIUM,
        remediation="Set network.natGatewayPerAz: true so each zone's private route table uses its own NAT gateway.",
        topic=("availability",),
        refs=[soc2("A1.2")],
        config={**_PROTECTED,
                "minNatGateways": {"type": "integer", "minimum": 1, "maximum": 6, "default": 2,
                                   "description": "NAT gateways required (capped at the number of zones)."}},
    ),
    stack_policy(
        "k8s-workload-min-replicas",
        description="In protected tiers, Deployments and StatefulSets run at least two replicas (counting their "
                    "autoscaler's minimum).",
        check=_check_replicas,
        severity=Severity.MEDIUM,
        remediation="Set spec.replicas (or the HPA minReplicas / KEDA minReplicaCount) to at least the minimum.",
        topic=("availability",),
        refs=[soc2("A1.2")],
        config={**_PROTECTED,
                "minReplicas": {"type": "integer", "minimum": 1, "default": 2,
                                "description": "Fewest replicas a workload may run."},
                "exemptNamespaces": {"type": "array", "items": {"type": "string"}, "default": ["kube-system"],
                                     "description": "Namespaces whose workloads are managed elsewhere."}},
    ),
    resource_policy(
        "k8s-pdb-allows-eviction",
        description="PodDisruptionBudgets never forbid every eviction (maxUnavailable 0 or minAvailable 100%).",
        resource_types=[PDB],
        check=_check_pdb,
        severity=Severity.MEDIUM,
        remediation="Use maxUnavailable: 1 (or a minAvailable below the replica count).",
        topic=("availability",),
        refs=[soc2("A1.2")],
    ),
    stack_policy(
        "k8s-pdb-below-replicas",
        description="A PodDisruptionBudget's minAvailable stays below the replica count of the workload it selects.",
        check=_check_pdb_vs_replicas,
        severity=Severity.MEDIUM,
        remediation="Lower minAvailable below spec.replicas, or use maxUnavailable: 1.",
        topic=("availability",),
        refs=[soc2("A1.2")],
    ),
]
