"""Agent services: one entry per API or worker, each deployed by AgentService.

Adding a service is a new entry under ``agent-platform:services`` in the stack file; everything it
gets (image repository, identity, pods, scaling, network rules) follows from these fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal, get_args

from agent_contract.kubernetes import SENSITIVE_NAME_PATTERN
from pydantic import AfterValidator, Field, field_validator, model_validator

from config.base import DnsName, Model, unique
from config.catalog import family_architecture, instance_type_problem
from config.credentials import credential_problem
from config.data import LlmProvider
from config.errors import Problems
from config.images import ImageRef, is_digest_pinned
from config.ingress import ServiceIngress

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Where every service of a stack runs, and the namespaces allowed to reach it.
SERVICES_NAMESPACE = "agents"
MONITORING_NAMESPACE = "monitoring"

# Secrets a service may list: the data tier's platform secrets plus one key per LLM provider.
# "vector-store": the API key of a dedicated vector store (dataTier.vectorStore qdrant or weaviate);
# "mongodb": the document store's least-privilege application user (dataTier.documentStore), never its master.
PLATFORM_SECRETS = ("database", "redis", "jwt", "encryption-key", "vector-store", "mongodb")
SECRET_NAMES = (*PLATFORM_SECRETS, *get_args(LlmProvider))

# Environment names that look like credentials (never in a ConfigMap): the expression the pack's
# k8s-no-secret-literals uses by default (agent_contract.kubernetes).
SENSITIVE_NAME = re.compile(SENSITIVE_NAME_PATTERN, re.IGNORECASE)
# ConfigMap keys the platform sets itself; settings may not shadow them.
RESERVED_SETTINGS = frozenset({
    "SERVICE_NAME", "SERVICE_KIND", "ENVIRONMENT", "AWS_REGION", "PORT", "METRICS_PATH", "LOG_LEVEL", "LOG_FORMAT",
    "RATE_LIMIT_REQUESTS", "RATE_LIMIT_WINDOW_SECONDS", "DEFAULT_MODEL", "POSTGRES_HOST", "POSTGRES_PORT",
    "POSTGRES_DB", "POSTGRES_SSLMODE", "POSTGRES_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_TLS", "REDIS_URL",
    "S3_BUCKET", "S3_PREFIX", "SECRETS_DIR", "QUEUE_NAME", "SHUTDOWN_GRACE_SECONDS",
    "MONGODB_HOST", "MONGODB_PORT", "MONGODB_DATABASE", "MONGODB_TLS", "MONGODB_URL",
})
RESERVED_SUFFIX = "_URL"  # <SERVICE>_URL keys are generated for every service listed in ``calls``

_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_CPU = re.compile(r"^(\d+m|\d+(\.\d{1,3})?)$")
_MEMORY = re.compile(r"^\d+(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_HTTP_PATH = re.compile(r"^/[A-Za-z0-9/_.~-]*$")


def cpu_millis(value: str) -> int:
    return int(value[:-1]) if value.endswith("m") else int(Decimal(value) * 1000)


def memory_bytes(value: str) -> int:
    number = re.match(r"^\d+", value)
    assert number is not None
    return int(number.group()) * _MEMORY_UNITS[value[number.end():]]


def _cpu(value: str) -> str:
    try:
        valid = bool(_CPU.match(value)) and cpu_millis(value) > 0
    except InvalidOperation:
        valid = False
    if not valid:
        raise ValueError(f"'{value}' is not a CPU quantity (e.g. '250m' or '1')")
    return value


def _memory(value: str) -> str:
    if not _MEMORY.match(value) or memory_bytes(value) == 0:
        raise ValueError(f"'{value}' is not a memory quantity (e.g. '512Mi' or '2Gi')")
    return value


def _http_path(value: str) -> str:
    if not _HTTP_PATH.match(value):
        raise ValueError(f"'{value}' is not an HTTP path (starts with '/', no query string; e.g. /health)")
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"'{value}' is not an environment variable name (UPPER_SNAKE_CASE, e.g. MAX_TOKENS)")
    return value


def _secret_name(value: str) -> str:
    if value not in SECRET_NAMES:
        raise ValueError(f"'{value}' is not a platform secret (one of {', '.join(SECRET_NAMES)})")
    return value


CpuQuantity = Annotated[str, AfterValidator(_cpu)]
MemoryQuantity = Annotated[str, AfterValidator(_memory)]
HttpPath = Annotated[str, AfterValidator(_http_path)]
EnvName = Annotated[str, AfterValidator(_env_name)]
SecretName = Annotated[str, AfterValidator(_secret_name)]


class ImageBuild(Model):
    """Build the image from source with Docker and push it to the service's ECR repository (dev only)."""

    context: str = Field(min_length=1, description="Build context directory, relative to the project root.",
                         examples=["services/api"])
    dockerfile: str | None = Field(default=None, description="Dockerfile path inside the context.")
    target: str | None = Field(default=None, description="Multi-stage build target.")
    platform: Literal["linux/amd64", "linux/arm64"] = Field(
        default="linux/amd64", description="Must match the node groups' CPU architecture.")
    args: dict[EnvName, str] = Field(default_factory=dict, description="Non-secret build arguments.")

    @property
    def context_dir(self) -> Path:
        return (PROJECT_ROOT / self.context).resolve()

    @property
    def dockerfile_path(self) -> Path:
        return self.context_dir / (self.dockerfile or "Dockerfile")

    @model_validator(mode="after")
    def _buildable(self) -> ImageBuild:
        bad = sorted(k for k, v in self.args.items() if SENSITIVE_NAME.search(k) or credential_problem(v))
        problems = []
        if bad:
            problems.append(("args", f"{', '.join(bad)} look like credentials; build args are stored in the image "
                                     "history, so secrets must never be passed this way (mount them as secrets)"))
        if not self.context_dir.is_dir():
            problems.append(("context", f"{self.context} is not a directory (e.g. services/api; relative paths start "
                                        "at the project root, where Pulumi.yaml is)"))
        elif not self.dockerfile_path.is_file():
            problems.append(("dockerfile", f"no Dockerfile at {self.dockerfile_path} in build context {self.context} "
                                           "(e.g. Dockerfile)"))
        if problems:
            raise Problems(problems)
        return self


class Resources(Model):
    """Per-pod requests and limits; the scheduler places pods by requests, the kernel enforces limits."""

    cpu_request: CpuQuantity = "250m"
    cpu_limit: CpuQuantity | None = Field(default="1", description="null leaves CPU unthrottled (requests still "
                                                                   "reserve capacity).")
    memory_request: MemoryQuantity = "512Mi"
    memory_limit: MemoryQuantity = "1Gi"

    @model_validator(mode="after")
    def _ordered(self) -> Resources:
        problems = []
        if self.cpu_limit is not None and cpu_millis(self.cpu_limit) < cpu_millis(self.cpu_request):
            problems.append(("cpuLimit", f"{self.cpu_limit} is below cpuRequest {self.cpu_request}; a limit is at "
                                         "least the request"))
        if memory_bytes(self.memory_limit) < memory_bytes(self.memory_request):
            problems.append(("memoryLimit", f"{self.memory_limit} is below memoryRequest {self.memory_request}; a "
                                            "limit is at least the request"))
        if problems:
            raise Problems(problems)
        return self


class Probes(Model):
    """HTTP health endpoints on the service port (the seeds serve /health and /ready)."""

    liveness_path: HttpPath = "/health"
    readiness_path: HttpPath = "/ready"
    startup_path: HttpPath = "/health"
    startup_timeout_seconds: int = Field(
        default=150, ge=10, le=900, description="How long a new pod may take to start before it is restarted.")


class HpaTargets(Model):
    """Resource utilisation targets of an api service's HorizontalPodAutoscaler (the seeds use 70 % and 80 %)."""

    cpu_utilization: int = Field(default=70, ge=10, le=100)
    memory_utilization: int = Field(default=80, ge=10, le=100)


class QueueScaling(Model):
    """KEDA scaling of a worker on the length of a Redis list (the seeds scale at a queue depth of 100)."""

    list_name: str = Field(min_length=1, max_length=256, description="Redis list the worker consumes.",
                           examples=["agent:jobs"])
    list_length: int = Field(default=100, ge=1, le=100_000, description="Target pending items per replica.")
    database_index: int = Field(default=0, ge=0, le=15)
    polling_interval_seconds: int = Field(default=15, ge=5, le=300)
    cooldown_period_seconds: int = Field(default=300, ge=30, le=3600)


def instance_architecture(instance_type: str) -> Literal["x86_64", "arm64"]:
    """The CPU architecture of an EC2 instance type (Graviton families carry a 'g' after the generation)."""
    return family_architecture(instance_type.split(".", 1)[0])


class VmSizing(Model):
    """How a service runs under ``runtime: vm``: one container per EC2 instance in an Auto Scaling group.

    ``minSize``/``desiredSize``/``maxSize`` default to the service's replica counts, so a service sized for
    Kubernetes keeps its capacity on VMs; the scaling policy owns the desired capacity after the first deploy.
    """

    instance_type: str = Field(default="t3.small", description="EC2 instance type; Graviton (…g.) types run arm64.")
    min_size: int | None = Field(default=None, ge=0, le=100, description="Default: minReplicas.")
    desired_size: int | None = Field(default=None, ge=0, le=100, description="Default: replicas.")
    max_size: int | None = Field(default=None, ge=1, le=500, description="Default: maxReplicas.")
    disk_size_gib: int = Field(default=20, ge=8, le=1024, description="Encrypted gp3 root volume (images + logs).")
    health_check_grace_seconds: int = Field(
        default=300, ge=30, le=3600, description="Boot + docker install + image pull before ELB health counts.")

    @field_validator("instance_type")
    @classmethod
    def _valid(cls, value: str) -> str:
        problem = instance_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def sizes(self, replicas: int, min_replicas: int, max_replicas: int) -> tuple[int, int, int]:
        """(min, desired, max) with the replica counts filling what is unset."""
        return (min_replicas if self.min_size is None else self.min_size,
                replicas if self.desired_size is None else self.desired_size,
                max_replicas if self.max_size is None else self.max_size)


class RequestQuota(Model):
    """What the service itself allows one caller (RATE_LIMIT_* settings); the edge's per-IP limit is ClientRateLimit."""

    requests: int = Field(default=100, ge=1, le=1_000_000)
    window_seconds: int = Field(default=60, ge=1, le=86_400)


class ServiceConfig(Model):
    kind: Literal["api", "worker"] = Field(description="api: serves HTTP behind the edge proxy; worker: consumes "
                                                       "a Redis queue.", examples=["api"])
    image: ImageRef | None = Field(
        default=None, description="The released image, pinned by digest (registry/repository@sha256:<64 hex>). "
                                  "Unset (and no build): the service is not released yet, so it gets its "
                                  "repository, identity and secrets but no workload (docs/first-deploy.md).")
    build: ImageBuild | None = Field(default=None, description="Build from source instead of `image` (dev only).")
    port: int = Field(default=8000, ge=1024, le=65535, description="HTTP port (API, probes and /metrics).")
    metrics_path: HttpPath = "/metrics"
    replicas: int = Field(default=2, ge=1, le=100, description="Initial replicas; the autoscaler owns it after.")
    min_replicas: int = Field(default=2, ge=1, le=100)
    max_replicas: int = Field(default=6, ge=1, le=500)
    resources: Resources = Resources()
    probes: Probes = Probes()
    hpa: HpaTargets = HpaTargets()
    queue: QueueScaling | None = Field(default=None, description="Required for workers, not allowed for apis.")
    termination_grace_period_seconds: int = Field(
        default=120, ge=30, le=3600, description="Time for in-flight LLM calls and jobs to finish on shutdown.")
    pre_stop_delay_seconds: int = Field(
        default=10, ge=0, le=60, description="Pause before SIGTERM so endpoints and the proxy stop routing here.")
    tmp_size_limit: MemoryQuantity = Field(default="256Mi", description="Size of the writable /tmp (emptyDir).")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    rate_limit: RequestQuota = RequestQuota()
    default_model: str | None = Field(default=None, max_length=200, description="Model the service uses unless a "
                                                                                 "request names one.")
    settings: dict[EnvName, str] = Field(default_factory=dict, description="Extra non-secret environment.")
    secrets: list[SecretName] = Field(default_factory=list, description="Platform secrets mounted as files under "
                                                                        "/var/run/secrets/agent-platform.")
    calls: list[DnsName] = Field(default_factory=list, description="Other services this one sends requests to.")
    kubernetes_api_access: bool = Field(default=False, description="Mount a Kubernetes API token (off: the pod "
                                                                   "cannot talk to the API server).")
    image_retention_count: int = Field(default=30, ge=1, le=1000, description="Images kept in the ECR repository.")
    ingress: ServiceIngress | None = Field(
        default=None, description="api only: host, path and per-route limits at the edge (see docs/edge.md).")
    vm: VmSizing = Field(default_factory=VmSizing,
                         description="Instance sizing under runtime: vm (docs/vm-runtime.md).")

    @field_validator("calls")
    @classmethod
    def _unique_calls(cls, value: list[str]) -> list[str]:
        return unique(value, "service")

    @field_validator("secrets")
    @classmethod
    def _unique_secrets(cls, value: list[str]) -> list[str]:
        return unique(value, "secret")

    @model_validator(mode="after")
    def _consistent(self) -> ServiceConfig:
        problems: list[tuple[str, str]] = []
        if self.image is not None and self.build is not None:
            problems.append(("image", "set at most one of image (a registry reference) or build (a source context)"))
        if not self.min_replicas <= self.replicas <= self.max_replicas:
            problems.append(("replicas", f"replicas must satisfy minReplicas <= replicas <= maxReplicas "
                                         f"(got {self.min_replicas} <= {self.replicas} <= {self.max_replicas})"))
        if self.kind == "worker" and self.queue is None:
            problems.append(("queue", "a worker scales on its Redis list; set queue.listName"))
        if self.kind == "api" and self.queue is not None:
            problems.append(("queue", "api services scale on CPU and memory; only workers take a queue"))
        if self.queue is not None and "redis" not in self.secrets:
            problems.append(("secrets", "queue scaling reads the Redis list with the Redis AUTH token; add 'redis'"))
        low, desired, high = self.vm.sizes(self.replicas, self.min_replicas, self.max_replicas)
        if not low <= desired <= high:
            problems.append(("vm", f"sizes must satisfy minSize <= desiredSize <= maxSize (got {low} <= {desired} <= "
                                   f"{high})"))
        if self.build is not None and self.build.platform.split("/")[1] != {
                "x86_64": "amd64", "arm64": "arm64"}[instance_architecture(self.vm.instance_type)]:
            problems.append(("build.platform", f"{self.build.platform} does not run on vm.instanceType "
                                               f"{self.vm.instance_type}"))
        if self.termination_grace_period_seconds < self.pre_stop_delay_seconds + 20:
            problems.append(("terminationGracePeriodSeconds", "must leave at least 20 s after preStopDelaySeconds "
                                                              "for the process to drain"))
        sensitive = sorted(k for k in self.settings if SENSITIVE_NAME.search(k))
        if sensitive:
            problems.append(("settings", f"{', '.join(sensitive)} look like credentials; list the secret under "
                                         "secrets instead"))
        for key, value in self.settings.items():
            problem = credential_problem(value)
            if problem and key not in sensitive:
                problems.append((f"settings.{key}", f"the value {problem}"))
        if self.default_model and credential_problem(self.default_model):
            problems.append(("defaultModel", f"the value {credential_problem(self.default_model)}"))
        reserved = sorted(k for k in self.settings if k in RESERVED_SETTINGS or k.endswith(RESERVED_SUFFIX))
        if reserved:
            problems.append(("settings", f"{', '.join(reserved)} are set by the platform and may not be overridden"))
        if problems:
            raise Problems(problems)
        return self

    @property
    def released(self) -> bool:
        """Whether there is an image to run: until then the service has no Deployment or Auto Scaling group.

        A new stack's repositories are created empty by its first ``pulumi up``; a workload referencing an
        image in them would never start (ImagePullBackOff until the await times out, or instances failing
        their health checks), so a service runs only once its digest (or a build) is configured.
        """
        return self.image is not None or self.build is not None


def service_problems(
    services: Mapping[str, ServiceConfig], *, protected: bool, llm_providers: Iterable[str] | None,
    names: Iterable[str] | None = None, document_store: bool | None = None,
) -> list[str]:
    """Rules that need the rest of the config: one ``camelCase.path: reason`` line per problem.

    ``llm_providers`` is None when the data tier section is itself invalid; its rule is then skipped.
    """
    problems = []
    known = set(names) if names is not None else set(services)
    providers = set(llm_providers) if llm_providers is not None else None
    for name, svc in services.items():
        path = f"services.{name}"
        if protected and svc.build is not None:
            problems.append(f"{path}.build: protected tiers deploy images built and scanned in CI; set image to "
                            "the pushed reference with its @sha256 digest")
        if svc.image is not None and not is_digest_pinned(svc.image):
            # Every tier: a tag can be moved under a running service (dev included), and the VM runtime would
            # need a registry lookup to resolve it, which fails when the repository is created by the same
            # update. Leave image unset until the first release (docs/first-deploy.md).
            problems.append(f"{path}.image: deploy a digest-pinned image (repository@sha256:<64 hex>), on every "
                            f"tier; got '{svc.image}'")
        if protected and svc.min_replicas < 2:
            problems.append(f"{path}.minReplicas: protected tiers run at least 2 replicas so one can be replaced "
                            "while the other serves")
        for secret in svc.secrets:
            if secret == "mongodb" and document_store is False:
                problems.append(f"{path}.secrets: 'mongodb' needs a document store; set dataTier.documentStore "
                                "(e.g. {engine: documentdb}) or remove it")
            if providers is not None and secret in get_args(LlmProvider) and secret not in providers:
                problems.append(f"{path}.secrets: '{secret}' is not in dataTier.secrets.llmProviders, so there is "
                                "no such key to mount; add it there or use one of the configured providers")
        for callee in svc.calls:
            if callee == name:
                problems.append(f"{path}.calls: a service does not need to list itself")
            elif callee not in known:
                problems.append(f"{path}.calls: '{callee}' is not a service of this stack; use one of "
                                f"{', '.join(sorted(known - {name})) or '(no other service)'}")
    return problems
