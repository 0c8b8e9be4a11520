"""Kubernetes workload policies: what a reviewer checks in every pod the stacks run.

Pod specs are read from Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and Pods.
Objects rendered by Helm charts are not in the plan and are not checked here; chart values are
reviewed with the chart version they pin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from agent_contract.kubernetes import CLUSTER_SCOPED_KINDS, CREDENTIAL_VALUE_PATTERN
from agent_contract.kubernetes import SENSITIVE_NAME_PATTERN as DEFAULT_SENSITIVE_PATTERN
from agent_contract.tags import KUBERNETES_API_ANNOTATION
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from ._common import Report, Settings, as_list, cis_eks, get, known, plain, resource_policy, soc2, stack_policy

_POD_TEMPLATE = ("spec", "template", "spec")
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": _POD_TEMPLATE,
    "kubernetes:apps/v1:StatefulSet": _POD_TEMPLATE,
    "kubernetes:apps/v1:DaemonSet": _POD_TEMPLATE,
    "kubernetes:apps/v1:ReplicaSet": _POD_TEMPLATE,
    "kubernetes:batch/v1:Job": _POD_TEMPLATE,
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
POD_METADATA_PATHS: dict[str, tuple[str, ...]] = {
    **{t: (*p[:-1], "metadata") for t, p in POD_SPEC_PATHS.items()},
    "kubernetes:core/v1:Pod": ("metadata",),
}
WORKLOAD_TYPES = tuple(POD_SPEC_PATHS)
LONG_RUNNING_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet",
                      "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:ReplicaSet")
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
PSA_WARN = "pod-security.kubernetes.io/warn"
RUNTIME_SOCKETS = ("docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NOT_OBJECTS = re.compile(r"^kubernetes:(helm\.sh/|yaml/|kustomize/)")
# Names that hold credentials; names of references (*_DIR, *_PATH, *_FILE, *_ARN, *_NAME, *_ID) only say where
# a secret is kept.


# --- reading pod specs --------------------------------------------------------------------------------------


def pod_spec(args: ResourceValidationArgs) -> Any:
    path = POD_SPEC_PATHS.get(args.resource_type)
    return get(args.props, *path) if path else None


def containers(pod: Any) -> Iterator[tuple[str, Any]]:
    """``(label, container)`` for init, app and ephemeral containers; a sidecar is an init container."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        items = get(pod, field, default=[])
        for i in range(len(items)):
            item = get(items, i)
            name = known(lambda item=item: get(item, "name"))
            yield (f"{field}[{i}] {name}" if isinstance(name, str) else f"{field}[{i}]"), item


def each_container(pod: Any, check: Callable[[str, Any], None]) -> None:
    """Run ``check`` per container; a container with unknown values is skipped, the others still checked."""
    for label, item in containers(pod):
        known(lambda label=label, item=item: check(label, item))


def effective(pod: Any, item: Any, *path: str) -> Any:
    """A security setting as the kubelet applies it: the container's value, else the pod's."""
    value = get(item, "securityContext", *path)
    return get(pod, "securityContext", *path) if value is None else value


def _is_init_sidecar(item: Any) -> bool:
    return get(item, "restartPolicy") == "Always"


# --- checks --------------------------------------------------------------------------------------------------


def _check_privileged(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)

    def check(label: str, item: Any) -> None:
        if get(item, "securityContext", "privileged") is True:
            report(f"{label} runs privileged: it has every capability and the host's devices.")

    each_container(pod, check)


def _check_host_namespaces(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)
    for field, what in (("hostNetwork", "the node's network"), ("hostPID", "the node's processes"),
                        ("hostIPC", "the node's IPC namespace")):
        if known(lambda field=field: get(pod, field)) is True:
            report(f"spec {field} is true: the pod shares {what}.")


def _check_host_paths_and_ports(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)
    allowed = [str(p) for p in settings["allowedHostPaths"]]
    volumes = get(pod, "volumes", default=[])
    for i in range(len(volumes)):
        path = known(lambda i=i: get(volumes, i, "hostPath", "path"))
        if path is None or path in allowed:
            continue
        if str(path).endswith(RUNTIME_SOCKETS):
            report(f"volumes[{i}] mounts the container runtime socket {path}: whoever controls the pod controls "
                   "every container on the node. Run sandboxes as separate, unprivileged pods or a remote builder.")
        else:
            report(f"volumes[{i}] mounts the host path {path}; use an emptyDir, a projected volume or a PVC.")

    def check(label: str, item: Any) -> None:
        ports = get(item, "ports", default=[])
        for j in range(len(ports)):
            host_port = known(lambda j=j: get(ports, j, "hostPort"))
            if host_port:
                report(f"{label} binds hostPort {int(host_port)}; expose it through a Service instead.")

    each_container(pod, check)


def _check_privilege_escalation(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)

    def check(label: str, item: Any) -> None:
        if get(item, "securityContext", "allowPrivilegeEscalation") is not False:
            report(f"{label} does not set securityContext.allowPrivilegeEscalation=false (setuid binaries could "
                   "gain privileges).")

    each_container(pod, check)


def _check_non_root(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)
    min_uid = int(settings["minRunAsUser"])

    def check(label: str, item: Any) -> None:
        if effective(pod, item, "runAsNonRoot") is not True:
            report(f"{label} may run as root: set runAsNonRoot=true on the pod or container securityContext.")
        uid = effective(pod, item, "runAsUser")
        if uid is None:
            if settings["requireRunAsUser"]:
                report(f"{label} takes its user from the image; set runAsUser to a UID >= {min_uid}.")
        elif int(uid) < min_uid:
            report(f"{label} runs as UID {int(uid)}; use a UID >= {min_uid}, outside the node's user range.")

    each_container(pod, check)


def _check_capabilities(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)
    allowed = {str(c).upper() for c in settings["allowedCapabilities"]}

    def check(label: str, item: Any) -> None:
        caps = get(item, "securityContext", "capabilities", default={})
        dropped = {str(c).upper() for c in as_list(get(caps, "drop"))}
        if "ALL" not in dropped:
            report(f"{label} does not drop ALL capabilities (it keeps the runtime's defaults, NET_RAW included).")
        added = [str(c).upper().removeprefix("CAP_") for c in as_list(get(caps, "add"))]
        if "NET_RAW" in added:
            report(f"{label} adds NET_RAW, which allows packet spoofing and sniffing on the node network.")
        extra = sorted(c for c in added if c not in allowed and c != "NET_RAW")
        if extra:
            report(f"{label} adds capabilities {', '.join(extra)} (allowed: {', '.join(sorted(allowed)) or 'none'}).")

    each_container(pod, check)


def _check_seccomp(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)

    def check(label: str, item: Any) -> None:
        profile = effective(pod, item, "seccompProfile", "type")
        if profile not in ("RuntimeDefault", "Localhost"):
            report(f"{label} runs with seccomp profile {profile or 'Unconfined (unset)'}; set "
                   "seccompProfile.type=RuntimeDefault on the pod securityContext.")

    each_container(pod, check)


def _check_read_only_root(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)

    def check(label: str, item: Any) -> None:
        if get(item, "securityContext", "readOnlyRootFilesystem") is not True:
            report(f"{label} has a writable root filesystem; set readOnlyRootFilesystem=true and mount an "
                   "emptyDir where it must write (e.g. /tmp).")

    each_container(pod, check)


def _check_resources(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)

    def check(label: str, item: Any) -> None:
        if label.startswith("ephemeralContainers"):
            return  # ephemeral (debug) containers cannot declare resources
        resources = get(item, "resources", default={})
        missing = [f"requests.{r}" for r in ("cpu", "memory") if get(resources, "requests", r) is None]
        missing += [f"limits.{r}" for r in ("memory", *(("cpu",) if settings["requireCpuLimit"] else ()))
                    if get(resources, "limits", r) is None]
        if missing:
            report(f"{label} does not set resources {', '.join(missing)}.")

    each_container(pod, check)


def _check_probes(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)
    wanted = ["livenessProbe", "readinessProbe", *(["startupProbe"] if settings["requireStartupProbe"] else [])]

    def check(label: str, item: Any) -> None:
        if label.startswith("ephemeralContainers") or (label.startswith("initContainers")
                                                        and not _is_init_sidecar(item)):
            return  # run-to-completion containers are not probed
        missing = [p for p in wanted if get(item, p) is None]
        if missing:
            report(f"{label} has no {', '.join(missing)}.")

    each_container(pod, check)


def _image_problem(image: str, require_digest: bool) -> str | None:
    if _DIGEST.search(image):
        return None
    if require_digest:
        return "is not pinned by digest (repository@sha256:<64 hex>), so what runs can change without a deploy"
    name = image.rsplit("/", 1)[-1]
    tag = name.split(":", 1)[1] if ":" in name else None
    if tag is None:
        return "has no tag or digest (it means :latest)"
    if tag == "latest":
        return "uses the mutable :latest tag"
    return None


def _check_images(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    pod = pod_spec(args)

    def check(label: str, item: Any) -> None:
        image = get(item, "image")
        problem = _image_problem(str(image), bool(settings["requireDigest"])) if image is not None else None
        if image is None:
            report(f"{label} names no image.")
        elif problem:
            report(f"{label} image {image} {problem}.")

    each_container(pod, check)


def _opted_in(annotations: Any) -> bool:
    return get(annotations, KUBERNETES_API_ANNOTATION) == "true"


def _check_token_mount(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if args.resource_type == SERVICE_ACCOUNT:
        if _opted_in(get(args.props, "metadata", "annotations", default={})):
            return
        if get(args.props, "automountServiceAccountToken") is not False:
            report("The service account mounts its API token into every pod by default; set "
                   "automountServiceAccountToken=false (or annotate it with "
                   f"{KUBERNETES_API_ANNOTATION}: \"true\" when its pods call the Kubernetes API).")
        return
    pod = pod_spec(args)
    metadata = get(args.props, *POD_METADATA_PATHS[args.resource_type], default={})
    if _opted_in(get(metadata, "annotations", default={})):
        return
    if get(pod, "automountServiceAccountToken") is not False:
        report("The pod mounts a Kubernetes API token it does not declare a need for; set "
               "automountServiceAccountToken=false, or annotate the pod template with "
               f"{KUBERNETES_API_ANNOTATION}: \"true\". (IRSA keeps working: EKS projects its own STS token.)")


def _check_secret_literals(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    sensitive = re.compile(str(settings["sensitiveNamePattern"]), re.IGNORECASE)
    if args.resource_type == SECRET:
        # Only the keys are read: a value that is still unknown is a value all the same.
        present = set(args.props)
        filled = [f for f in ("data", "stringData") if f in present]
        if filled:
            report(f"The Secret carries values in {' and '.join(filled)}, so they are in the Pulumi state and "
                   "manifests; deliver them from Secrets Manager with an ExternalSecret instead.")
        return
    if args.resource_type == CONFIG_MAP:
        # Keys shaped like environment names become env vars (envFrom); other keys are mounted files.
        data = get(args.props, "data", default={})
        keys = sorted(k for k in data if _ENV_NAME.match(k) and sensitive.search(k))
        if keys:
            report(f"ConfigMap keys {', '.join(keys)} look like credentials; ConfigMaps are not secret.")
        shaped = re.compile(str(settings["credentialValuePattern"]))
        values = sorted(k for k in data if k not in keys and isinstance(known(lambda k=k: data[k]), str)
                        and shaped.search(data[k]))
        if values:
            report(f"ConfigMap values of {', '.join(values)} look like credentials (a known key prefix); "
                   "ConfigMaps are not secret.")
        return
    pod = pod_spec(args)

    def check(label: str, item: Any) -> None:
        env = get(item, "env", default=[])
        for i in range(len(env)):
            name = known(lambda i=i: get(env, i, "name"))
            has_literal = known(lambda i=i: get(env, i, "value") is not None, default=True)
            if isinstance(name, str) and has_literal and sensitive.search(name):
                report(f"{label} sets {name} as a literal env value; mount the secret as a file from an "
                       "ExternalSecret.")

    each_container(pod, check)


# --- stack-wide checks ------------------------------------------------------------------------------------------


def _kind_of(type_token: str) -> str:
    return type_token.rsplit(":", 1)[-1]


def _check_default_namespace(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    for res in args.resources:
        if not res.resource_type.startswith("kubernetes:") or _kind_of(res.resource_type) in CLUSTER_SCOPED_KINDS:
            continue
        if res.resource_type == HELM_RELEASE:
            where = known(lambda res=res: get(res.props, "namespace"), default="?")
        elif _NOT_OBJECTS.match(res.resource_type):
            continue
        else:
            where = known(lambda res=res: get(res.props, "metadata", "namespace"), default="?")
        if where is None and res.provider is not None:
            where = known(lambda res=res: get(res.provider.props, "namespace"), default="?")
        if where in (None, "", "default"):
            report(f"{_kind_of(res.resource_type)} {res.name} lands in the default namespace; give it a namespace "
                   "of its own (with Pod Security labels and NetworkPolicies).", res.urn)


def _check_namespace_psa(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    labels = plain(get(args.props, "metadata", "labels", default={}))
    allowed = [str(level) for level in settings["allowedLevels"]]
    enforce = labels.get(PSA_ENFORCE)
    if enforce not in allowed:
        report(f"Label {PSA_ENFORCE} is {enforce or 'unset'}; it must be one of {', '.join(allowed)}.")
    if labels.get(PSA_WARN) not in allowed:
        report(f"Label {PSA_WARN} is {labels.get(PSA_WARN) or 'unset'}; warn at the same level so kubectl shows "
               "violations before they are enforced.")


# --- the policies -------------------------------------------------------------------------------------------------

_WORKLOADS = list(WORKLOAD_TYPES)

POLICIES: list[Policy] = [
    resource_policy(
        "k8s-no-privileged-containers",
        description="No container runs privileged.",
        resource_types=_WORKLOADS,
        check=_check_privileged,
        severity=Severity.CRITICAL,
        remediation="Remove securityContext.privileged (or set it to false); grant a single capability if one is "
                    "truly needed.",
        refs=[cis_eks("4.2.1", "Minimize the admission of privileged containers"), soc2("CC6.8")],
    ),
    resource_policy(
        "k8s-no-host-namespaces",
        description="Pods do not share the node's network, process or IPC namespaces.",
        resource_types=_WORKLOADS,
        check=_check_host_namespaces,
        severity=Severity.CRITICAL,
        remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false).",
        refs=[cis_eks("4.2.4", "Minimize the admission of containers wishing to share the host network namespace"),
              cis_eks("4.2.2"), cis_eks("4.2.3")],
    ),
    resource_policy(
        "k8s-no-host-paths-or-ports",
        description="Pods mount no host paths (never the container runtime socket) and bind no host ports.",
        resource_types=_WORKLOADS,
        check=_check_host_paths_and_ports,
        severity=Severity.HIGH,
        remediation="Replace hostPath volumes with emptyDir, projected or persistent volumes; expose ports through "
                    "a Service rather than hostPort. Tool sandboxes run as separate unprivileged pods.",
        refs=[cis_eks("4.2.1"), soc2("CC6.8")],
        config={"allowedHostPaths": {"type": "array", "items": {"type": "string"}, "default": [],
                                     "description": "Host paths a reviewed workload may mount."}},
    ),
    resource_policy(
        "k8s-no-privilege-escalation",
        description="Every container sets allowPrivilegeEscalation=false.",
        resource_types=_WORKLOADS,
        check=_check_privilege_escalation,
        severity=Severity.HIGH,
        remediation="Set securityContext.allowPrivilegeEscalation=false on every container.",
        refs=[cis_eks("4.2.5", "Minimize the admission of containers with allowPrivilegeEscalation")],
    ),
    resource_policy(
        "k8s-run-as-non-root",
        description="Containers run as a non-root user with a high UID.",
        resource_types=_WORKLOADS,
        check=_check_non_root,
        severity=Severity.HIGH,
        remediation="Set runAsNonRoot=true and runAsUser/runAsGroup (e.g. 10001) on the pod securityContext, and "
                    "fsGroup so mounted files stay readable.",
        refs=[cis_eks("4.2.6", "Minimize the admission of root containers")],
        config={
            "minRunAsUser": {"type": "integer", "minimum": 1, "maximum": 2147483647, "default": 10000,
                             "description": "Lowest UID a container may run as."},
            "requireRunAsUser": {"type": "boolean", "default": True,
                                 "description": "Require an explicit runAsUser rather than the image's USER."},
        },
    ),
    resource_policy(
        "k8s-drop-all-capabilities",
        description="Containers drop ALL capabilities, never add NET_RAW, and add only allowed ones.",
        resource_types=_WORKLOADS,
        check=_check_capabilities,
        severity=Severity.HIGH,
        remediation="Set securityContext.capabilities={\"drop\": [\"ALL\"]}; add back only a reviewed capability "
                    "from allowedCapabilities (e.g. NET_BIND_SERVICE for ports below 1024).",
        refs=[cis_eks("4.2.7", "Minimize the admission of containers with the NET_RAW capability"),
              cis_eks("4.2.8"), cis_eks("4.2.9")],
        config={"allowedCapabilities": {"type": "array", "items": {"type": "string"}, "default": ["NET_BIND_SERVICE"],
                                        "description": "Capabilities a container may add after dropping ALL."}},
    ),
    resource_policy(
        "k8s-seccomp-runtime-default",
        description="Containers run under the RuntimeDefault (or a Localhost) seccomp profile.",
        resource_types=_WORKLOADS,
        check=_check_seccomp,
        severity=Severity.MEDIUM,
        remediation="Set securityContext.seccompProfile={\"type\": \"RuntimeDefault\"} on the pod.",
        refs=[cis_eks("4.6.2", "Apply Security Context to Your Pods and Containers")],
    ),
    resource_policy(
        "k8s-read-only-root-filesystem",
        description="Containers have a read-only root filesystem.",
        resource_types=_WORKLOADS,
        check=_check_read_only_root,
        severity=Severity.MEDIUM,
        remediation="Set securityContext.readOnlyRootFilesystem=true and mount an emptyDir (with a sizeLimit) at "
                    "each path the process writes, such as /tmp.",
        refs=[cis_eks("4.6.2", "Apply Security Context to Your Pods and Containers")],
    ),
    resource_policy(
        "k8s-resources-defined",
        description="Containers request CPU and memory and set a memory limit.",
        resource_types=_WORKLOADS,
        check=_check_resources,
        severity=Severity.MEDIUM,
        remediation="Set resources.requests.cpu, resources.requests.memory and resources.limits.memory (from the "
                    "service config) so pods are scheduled by what they use and cannot starve their node.",
        topic=("availability", "cost"),
        config={"requireCpuLimit": {"type": "boolean", "default": False,
                                    "description": "Also require resources.limits.cpu."}},
    ),
    resource_policy(
        "k8s-health-probes",
        description="Long-running containers have liveness and readiness probes.",
        resource_types=list(LONG_RUNNING_TYPES),
        check=_check_probes,
        severity=Severity.MEDIUM,
        remediation="Add livenessProbe and readinessProbe (and a startupProbe for slow starts), e.g. HTTP GET "
                    "/health and /ready on the service port.",
        topic=("availability",),
        config={"requireStartupProbe": {"type": "boolean", "default": False,
                                        "description": "Also require a startupProbe."}},
    ),
    resource_policy(
        "k8s-image-pinned",
        description="Container images are pinned by digest (every tier) and never float on :latest.",
        resource_types=_WORKLOADS,
        check=_check_images,
        severity=Severity.HIGH,
        remediation="Deploy repository@sha256:<digest> (CI records the digest it pushed), never a tag alone; "
                    "a service with no image yet gets no workload (docs/first-deploy.md).",
        refs=[soc2("CC8.1", "Changes are authorized, tested and approved before deployment")],
        config={"requireDigest": {"type": "boolean", "default": True,
                                  "description": "Require digest-pinned images (every committed stack does; false "
                                                 "tolerates version tags)."}},
    ),
    resource_policy(
        "k8s-service-account-token-mount",
        description="Kubernetes API tokens are mounted only into pods that declare they call the API.",
        resource_types=[*_WORKLOADS, SERVICE_ACCOUNT],
        check=_check_token_mount,
        severity=Severity.MEDIUM,
        remediation="Set automountServiceAccountToken=false on the ServiceAccount and the pod spec; where a "
                    f"workload needs the API, set it true and annotate it {KUBERNETES_API_ANNOTATION}: \"true\".",
        refs=[cis_eks("4.1.6", "Ensure that Service Account Tokens are only mounted where necessary")],
    ),
    resource_policy(
        "k8s-no-secret-literals",
        description="No secret value is written into a manifest: no credential env literals, ConfigMap keys or "
                    "Secret data.",
        resource_types=[*_WORKLOADS, CONFIG_MAP, SECRET],
        check=_check_secret_literals,
        severity=Severity.HIGH,
        remediation="Keep credentials in Secrets Manager; an ExternalSecret materialises them in the namespace "
                    "and the pod mounts them as files.",
        refs=[cis_eks("4.4.1", "Prefer using secrets as files over secrets as environment variables"),
              cis_eks("4.4.2", "Consider external secret storage"), soc2("CC6.1")],
        config={"sensitiveNamePattern": {"type": "string", "default": DEFAULT_SENSITIVE_PATTERN,
                                         "description": "Case-insensitive regex for names that hold credentials."},
                "credentialValuePattern": {"type": "string", "default": CREDENTIAL_VALUE_PATTERN,
                                           "description": "Regex for values shaped like credentials (known key "
                                                          "prefixes), whatever their key is called."}},
    ),
    resource_policy(
        "k8s-namespace-pod-security",
        description="Namespaces enforce and warn at the Pod Security Admission 'restricted' level.",
        resource_types=[NAMESPACE],
        check=_check_namespace_psa,
        severity=Severity.HIGH,
        remediation="Create namespaces with components.core.namespace.restricted_namespace (labels "
                    f"{PSA_ENFORCE}=restricted and {PSA_WARN}=restricted).",
        refs=[cis_eks("4.2.1"), cis_eks("4.6.1", "Create administrative boundaries between resources using "
                                                 "namespaces")],
        config={"allowedLevels": {"type": "array", "items": {"type": "string",
                                                             "enum": ["restricted", "baseline", "privileged"]},
                                  "default": ["restricted"],
                                  "description": "Pod Security levels a namespace may enforce."}},
    ),
    stack_policy(
        "k8s-no-default-namespace",
        description="No Kubernetes object or Helm release is placed in the default namespace.",
        check=_check_default_namespace,
        severity=Severity.MEDIUM,
        enforcement=EnforcementLevel.MANDATORY,
        remediation="Set metadata.namespace (namespace= for Helm releases) to a namespace created with Pod "
                    "Security labels.",
        topic=("security", "governance"),
        refs=[cis_eks("4.6.3", "The default namespace should not be used")],
    ),
]
