"""Whole-stack policies: protection of stateful resources and what every Kubernetes workload must come with."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, Policy, PolicyResource, ReportViolation, Severity, StackValidationArgs

from ._common import (
    Settings,
    StackIndex,
    UnknownValueError,
    cis_eks,
    depends_on,
    fact,
    get,
    known,
    of_type,
    plain,
    soc2,
    stack_policy,
)

STATEFUL_TYPES = [
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:backup/vault:Vault",
    "aws:kms/key:Key",
    "aws:ebs/volume:Volume",
    "aws:secretsmanager/secret:Secret",
    "aws:efs/fileSystem:FileSystem",
    "aws:dynamodb/table:Table",
]

NAMESPACE = "kubernetes:core/v1:Namespace"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
WORKLOAD_KINDS = {DEPLOYMENT: "Deployment", STATEFUL_SET: "StatefulSet"}
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

_EXEMPT_NAMESPACES = {
    "exemptNamespaces": {"type": "array", "items": {"type": "string"}, "default": ["kube-system"],
                         "description": "Namespaces whose workloads are managed by AWS or add-on vendors."},
}


def _check_protected(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    if not settings["protectedEnvironment"]:
        return
    stateful = set(settings["statefulTypes"])
    for res in args.resources:
        if res.resource_type in stateful and not res.opts.protect:
            report(f"{res.resource_type.rsplit(':', 1)[-1]} {res.name} holds state but is not protected; "
                   "deleting or replacing it would lose data.", res.urn)


# --- Kubernetes workloads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    resource: PolicyResource
    kind: str
    name: str | None
    namespace: str
    labels: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name or self.resource.name}"


def _namespace_names(resources: Sequence[PolicyResource]) -> dict[str, str]:
    """Namespace resource URN to name, so a namespace referenced by output and one named literally compare equal."""
    names = {}
    for ns in of_type(resources, NAMESPACE):
        name = known(lambda ns=ns: get(ns.props, "metadata", "name"))
        if isinstance(name, str):
            names[ns.urn] = name
    return names


def _namespace(res: PolicyResource, names: Mapping[str, str]) -> str:
    """The namespace a resource lives in; while its name is unknown, the Namespace resource it depends on."""
    return fact("namespace", res.urn, lambda: _read_namespace(res, names))


def _read_namespace(res: PolicyResource, names: Mapping[str, str]) -> str:
    try:
        value = get(res.props, "metadata", "namespace")
    except UnknownValueError:
        for dep in depends_on(res, "metadata"):
            if dep.resource_type == NAMESPACE:
                return names.get(dep.urn, dep.urn)
        raise
    if value is None and res.provider is not None:
        value = known(lambda: get(res.provider.props, "namespace"))
    return str(value or "default")


def _workloads(resources: Sequence[PolicyResource], names: Mapping[str, str], settings: Settings) -> list[Workload]:
    exempt = set(settings["exemptNamespaces"])
    found = []
    for res in resources:
        kind = WORKLOAD_KINDS.get(res.resource_type)
        if kind is None:
            continue

        def read(res: PolicyResource = res, kind: str = kind) -> Workload:
            name = known(lambda: get(res.props, "metadata", "name"))
            labels = plain_at(res, "spec", "template", "metadata", "labels")
            return Workload(res, kind, name if isinstance(name, str) else None, _namespace(res, names), labels)

        workload = known(read)
        if workload is not None and workload.namespace not in exempt:
            found.append(workload)
    return found


def plain_at(res: PolicyResource, *path: str) -> Any:
    """``plain(get(res.props, *path, default={}))``, derived once per resource (a shared fact: do not mutate)."""
    return fact("plain:" + ".".join(path), res.urn, lambda: plain(get(res.props, *path, default={})))


def _selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics; an empty selector selects every pod in the namespace."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


Key = tuple[str, Any]


def first_label(selector: Any) -> Key | None:
    """One ``(label, value)`` pair a label selector requires, to look up the pods it may select; None if none."""
    match = selector.get("matchLabels") if isinstance(selector, Mapping) else None
    if isinstance(match, Mapping):
        for key, value in match.items():
            if isinstance(value, str):
                return (key, value)
    return None


def label_keys(labels: Any) -> list[Key] | None:
    """The ``(label, value)`` pairs of pod labels; None (every candidate) when they are not a plain mapping."""
    return [(k, v) for k, v in labels.items() if isinstance(v, str)] if isinstance(labels, Mapping) else None


class Candidates:
    """Companions (autoscalers, budgets, policies, monitors) indexed by a key they require of what they match.

    ``key`` gives the one key a companion requires (the selector's first label, the target's name), or None when
    it may match anything (an empty or unknown selector). ``likely(keys)`` lists, in stack order, the companions
    that require one of ``keys`` plus those that require nothing: the only ones that can match. Callers that
    must stay exact whatever ``key`` says look at the likely ones first and at every companion only when none
    of those answers (``any_or_unknown``), so a compliant stack costs one lookup per workload, not one scan.
    """

    def __init__(self, companions: Sequence[PolicyResource], key: Callable[[PolicyResource], Key | None]) -> None:
        self.all = list(companions)
        self._position = {id(c): i for i, c in enumerate(self.all)}
        self._anything: list[PolicyResource] = []
        self._by_key: dict[Key, list[PolicyResource]] = {}
        for companion in self.all:
            found = known(lambda c=companion: key(c))
            if found is None:
                self._anything.append(companion)
            else:
                self._by_key.setdefault(found, []).append(companion)

    def likely(self, keys: Sequence[Key] | None) -> list[PolicyResource]:
        if keys is None:
            return self.all
        found = {id(c): c for k in keys for c in self._by_key.get(k, ())}
        found.update((id(c), c) for c in self._anything)
        return sorted(found.values(), key=lambda c: self._position[id(c)])

    def any_or_unknown(self, keys: Sequence[Key] | None, verdict: Callable[[PolicyResource], bool | None]) -> bool:
        """Whether some companion's verdict is true or unknown (None): likely companions first, then all."""
        likely = self.likely(keys)
        if any(_true_or_unknown(verdict(c)) for c in likely):
            return True
        return likely is not self.all and any(_true_or_unknown(verdict(c)) for c in self.all)


def _true_or_unknown(verdict: bool | None) -> bool:
    return verdict is None or bool(verdict)


def _covered(
    args: StackValidationArgs,
    settings: Settings,
    report: ReportViolation,
    companion_types: Sequence[str],
    matches: Callable[[PolicyResource, Workload, Mapping[str, str]], bool | None],
    missing: str,
    key: Callable[[PolicyResource], Key | None],
    keys: Callable[[Workload], list[Key] | None],
) -> None:
    names = _namespace_names(args.resources)
    # Every ``matches`` first requires the companion's namespace to be the workload's, so only companions in the
    # workload's namespace can cover it; one whose namespace is unknown until the update may cover any workload.
    in_namespace: dict[str, list[PolicyResource]] = {}
    namespace_unknown = False
    for companion in StackIndex(args.resources).of_type(*companion_types):
        namespace = known(lambda c=companion: _namespace(c, names))
        if namespace is None:
            namespace_unknown = True
        else:
            in_namespace.setdefault(namespace, []).append(companion)
    indexes = {namespace: Candidates(companions, key) for namespace, companions in in_namespace.items()}
    for workload in _workloads(args.resources, names, settings):
        if namespace_unknown:
            continue
        index = indexes.get(workload.namespace)
        # Covered, or a companion whose shape is unknown until the update.
        if index is not None and index.any_or_unknown(
                keys(workload), lambda c, w=workload: known(lambda: matches(c, w, names))):
            continue
        report(f"{workload.label} {missing}", workload.resource.urn)


def _pdb_matches(pdb: PolicyResource, workload: Workload, names: Mapping[str, str]) -> bool:
    if _namespace(pdb, names) != workload.namespace:
        return False
    return _selects(plain_at(pdb, "spec", "selector"), workload.labels)


def _scaler_matches(scaler: PolicyResource, workload: Workload, names: Mapping[str, str]) -> bool:
    if _namespace(scaler, names) != workload.namespace:
        return False
    ref = get(scaler.props, "spec", "scaleTargetRef", default={})
    default_kind = "Deployment" if scaler.resource_type == SCALED_OBJECT else None
    kind = get(ref, "kind", default=default_kind)
    if kind is not None and kind != workload.kind:
        return False
    try:
        target = get(ref, "name")
    except UnknownValueError:
        target = None
    if target is None or workload.name is None:
        # The name is an output (e.g. the workload is auto-named): the dependency graph says which workload it is.
        return any(d.urn == workload.resource.urn for d in depends_on(scaler, "spec"))
    return target == workload.name


def scaler_target(scaler: PolicyResource) -> Key | None:
    """The workload name an autoscaler targets; None while unknown (then it may target any workload)."""
    target = get(scaler.props, "spec", "scaleTargetRef", "name")
    return ("name", target) if isinstance(target, str) else None


def workload_name(workload: Workload) -> list[Key] | None:
    """An auto-named workload (name unknown) may be the target of any autoscaler, through the dependency graph."""
    return None if workload.name is None else [("name", workload.name)]


def _netpol_matches(policy: PolicyResource, workload: Workload, names: Mapping[str, str]) -> bool:
    if _namespace(policy, names) != workload.namespace:
        return False
    return _selects(plain_at(policy, "spec", "podSelector"), workload.labels)


def _check_pdb(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    _covered(args, settings, report, [PDB], _pdb_matches,
             "has no PodDisruptionBudget selecting its pods, so node drains may take all replicas down at once.",
             lambda pdb: first_label(plain_at(pdb, "spec", "selector")), lambda w: label_keys(w.labels))


def _check_scaler(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    _covered(args, settings, report, [HPA, SCALED_OBJECT], _scaler_matches,
             "has no HorizontalPodAutoscaler or KEDA ScaledObject targeting it.", scaler_target, workload_name)


def _check_netpol(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    _covered(args, settings, report, [NETWORK_POLICY], _netpol_matches,
             "is selected by no NetworkPolicy in its namespace, so any pod in the cluster can reach it.",
             lambda policy: first_label(plain_at(policy, "spec", "podSelector")), lambda w: label_keys(w.labels))


POLICIES: list[Policy] = [
    stack_policy(
        "stateful-resources-protected",
        description="In protected environments, every stateful resource has Pulumi's protect option set.",
        check=_check_protected,
        severity=Severity.HIGH,
        remediation="Pass opts=pulumi.ResourceOptions(protect=True) for stateful resources when the environment is "
                    "protected (staging, prod); keep the service's own deletion protection on as well.",
        topic=("availability",),
        refs=[soc2("A1.2")],
        config={
            "protectedEnvironment": {"type": "boolean", "default": True,
                                     "description": "Whether this stack's stateful resources must be protected "
                                                    "(false only for disposable environments)."},
            "statefulTypes": {"type": "array", "items": {"type": "string"}, "default": list(STATEFUL_TYPES),
                              "description": "Resource types that hold data."},
        },
    ),
    stack_policy(
        "workload-has-pod-disruption-budget",
        description="Every Deployment and StatefulSet has a PodDisruptionBudget selecting its pods.",
        check=_check_pdb,
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.ADVISORY,
        remediation="Add a policy/v1 PodDisruptionBudget in the workload's namespace whose selector matches the pod "
                    "template labels (maxUnavailable: 1 is a good default).",
        topic=("availability",),
        config=_EXEMPT_NAMESPACES,
    ),
    stack_policy(
        "workload-has-autoscaler",
        description="Every Deployment and StatefulSet is scaled by a HorizontalPodAutoscaler or KEDA ScaledObject.",
        check=_check_scaler,
        severity=Severity.LOW,
        enforcement=EnforcementLevel.ADVISORY,
        remediation="Add an autoscaling/v2 HorizontalPodAutoscaler (or a KEDA ScaledObject for queue-driven "
                    "workers) whose scaleTargetRef names the workload.",
        topic=("availability", "cost"),
        config=_EXEMPT_NAMESPACES,
    ),
    stack_policy(
        "workload-has-network-policy",
        description="Every Deployment and StatefulSet is selected by a NetworkPolicy in its namespace.",
        check=_check_netpol,
        severity=Severity.HIGH,
        remediation="Add a networking.k8s.io/v1 NetworkPolicy in the namespace (a default-deny with an empty "
                    "podSelector, plus allows for the traffic the workload needs).",
        refs=[cis_eks("4.3.2", "Ensure that all Namespaces have Network Policies defined"), soc2("CC6.6")],
        config=_EXEMPT_NAMESPACES,
    ),
]
