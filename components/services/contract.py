"""What every runtime's services share: where the data lives, the environment a service sees, the user it runs as.

EKS (``services.eks``) and VMs (``services.vm``) both build on this module and never on each other, so a fact
about a service that does not depend on the runtime is stated once, here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from components.core.context import StackContext
from components.core.namespace import RUN_AS as RUN_AS  # re-exported: both runtimes run services as it
from components.data.vector import ENV_PREFIX, VectorStoreRefs
from config.services import ServiceConfig

if TYPE_CHECKING:
    from components.data.tier import DataTier

SECRETS_DIR = "/var/run/secrets/agent-platform"


@dataclass(frozen=True)
class ServiceDataRefs:
    """Where services find their data: the data tier's outputs as plain inputs, wired once per stack.

    ``secret_arns`` maps each platform secret name a service may list (``database``, ``redis``, ``jwt``,
    ``encryption-key`` and one per LLM provider) to its Secrets Manager ARN.
    """

    postgres_host: pulumi.Input[str]
    postgres_port: pulumi.Input[int]
    database_name: pulumi.Input[str]
    redis_host: pulumi.Input[str]
    redis_port: pulumi.Input[int]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    secret_arns: Mapping[str, pulumi.Input[str]]
    secrets_kms_key_arn: pulumi.Input[str]
    data_kms_key_arn: pulumi.Input[str]
    data_cidrs: Sequence[str]
    # The secrets' first values: an ExternalSecret applied before them fails its first sync.
    secret_versions: Sequence[pulumi.Resource] = ()
    # A dedicated vector store (dataTier.vectorStore qdrant / weaviate), and where the runtime serves it: its
    # host (a Service name or an instance's private DNS) and where the services' traffic to it goes.
    vector_store: VectorStoreRefs | None = None
    vector_store_host: pulumi.Input[str] | None = None
    vector_store_peer: VectorStorePeer | None = None
    # The document store (DocumentDB), when the stack has one: its cluster endpoint and database.
    mongodb_host: pulumi.Input[str] | None = None
    mongodb_port: pulumi.Input[int] | None = None
    mongodb_database: str | None = None

    @staticmethod
    def platform_secrets(
        *, database: pulumi.Input[str], redis: pulumi.Input[str], jwt: pulumi.Input[str],
        encryption_key: pulumi.Input[str], llm_keys: Mapping[str, pulumi.Input[str]],
        vector_store: pulumi.Input[str] | None = None,
        mongodb: pulumi.Input[str] | None = None,
    ) -> dict[str, pulumi.Input[str]]:
        secrets = {"database": database, "redis": redis, "jwt": jwt, "encryption-key": encryption_key, **llm_keys}
        if vector_store is not None:
            secrets["vector-store"] = vector_store
        if mongodb is not None:
            # The services' least-privilege DocumentDB user, never the cluster's master secret (which only the
            # bootstrap reads): {"engine": "mongo", "host", "port", "username", "password", "ssl"}.
            secrets["mongodb"] = mongodb
        return secrets

    @classmethod
    def of(cls, data: DataTier) -> ServiceDataRefs:
        """The references from a DataTier."""
        return cls(
            postgres_host=data.postgres_host,
            postgres_port=data.postgres_port,
            database_name=data.database_name,
            redis_host=data.redis_host,
            redis_port=data.redis_port,
            bucket_name=data.data_bucket_name,
            bucket_arn=data.data_bucket_arn,
            secret_arns=cls.platform_secrets(
                database=data.app_db_secret_arn, redis=data.redis_auth_secret_arn, jwt=data.jwt_secret_arn,
                encryption_key=data.encryption_key_secret_arn, llm_keys=data.llm_key_secret_arns,
                vector_store=data.vector_store.api_key_secret_arn if data.vector_store else None,
                mongodb=data.mongodb_secret_arn),
            secrets_kms_key_arn=data.secrets_kms_key_arn,
            data_kms_key_arn=data.data_kms_key_arn,
            data_cidrs=list(data.database_cidrs),
            secret_versions=data.secret_versions,
            vector_store=data.vector_store,
            mongodb_host=data.mongodb_host,
            mongodb_port=data.mongodb_port if data.mongodb_host is not None else None,
            mongodb_database=data.mongodb_database,
        )


@dataclass(frozen=True)
class VectorStorePeer:
    """Where a service's traffic to the vector store goes: pods of a namespace (EKS) or a CIDR (VM)."""

    namespace: str | None = None
    pod_labels: Mapping[str, str] | None = None
    cidrs: Sequence[str] = ()
    security_group_id: pulumi.Input[str] | None = None


def vector_store_environment(data: ServiceDataRefs) -> dict[str, Any]:
    """The store's address under the names the seeds read (QDRANT_URL/HOST/PORT, WEAVIATE_URL, VECTOR_DB_URL).

    The API key is not here: a service that lists the 'vector-store' secret gets it as a file."""
    store, host = data.vector_store, data.vector_store_host
    if store is None or host is None:
        return {}  # pgvector: the database's settings above are all a service needs
    prefix = ENV_PREFIX[store.kind]
    url = pulumi.Output.concat("http://", host, f":{store.port}")
    return {"VECTOR_STORE": store.kind, "VECTOR_DB_URL": url, f"{prefix}_URL": url, f"{prefix}_HOST": host,
            f"{prefix}_PORT": str(store.port), f"{prefix}_GRPC_PORT": str(store.grpc_port),
            f"{prefix}_API_KEY_FILE": f"{SECRETS_DIR}/vector-store"}


def callers_of(service: str, services: Mapping[str, ServiceConfig]) -> list[str]:
    """The services whose ``calls`` list ``service``, in config order."""
    return [other for other, cfg in services.items() if service in cfg.calls]


def service_environment(svc: str, cfg: ServiceConfig, context: StackContext, data: ServiceDataRefs,
                        callee_urls: Mapping[str, pulumi.Input[str]]) -> dict[str, Any]:
    """A service's non-secret environment, identical on every runtime; ``callee_urls`` maps each callee to its URL."""
    as_text = lambda value: pulumi.Output.from_input(value).apply(str)  # noqa: E731
    values: dict[str, Any] = {
        "SERVICE_NAME": svc,
        "SERVICE_KIND": cfg.kind,
        "ENVIRONMENT": context.environment,
        "AWS_REGION": context.region,
        "PORT": str(cfg.port),
        "METRICS_PATH": cfg.metrics_path,
        "LOG_LEVEL": cfg.log_level,
        "LOG_FORMAT": cfg.log_format,
        "RATE_LIMIT_REQUESTS": str(cfg.rate_limit.requests),
        "RATE_LIMIT_WINDOW_SECONDS": str(cfg.rate_limit.window_seconds),
        "POSTGRES_HOST": data.postgres_host,
        "POSTGRES_PORT": as_text(data.postgres_port),
        "POSTGRES_DB": data.database_name,
        "POSTGRES_SSLMODE": "require",
        "POSTGRES_URL": pulumi.Output.concat("postgresql://", data.postgres_host, ":", as_text(data.postgres_port),
                                             "/", data.database_name, "?sslmode=require"),
        "REDIS_HOST": data.redis_host,
        "REDIS_PORT": as_text(data.redis_port),
        "REDIS_TLS": "true",
        "REDIS_URL": pulumi.Output.concat("rediss://", data.redis_host, ":", as_text(data.redis_port), "/0"),
        "S3_BUCKET": data.bucket_name,
        "S3_PREFIX": f"{svc}/",
        "SECRETS_DIR": SECRETS_DIR,
        **vector_store_environment(data),
        "SHUTDOWN_GRACE_SECONDS": str(cfg.termination_grace_period_seconds - cfg.pre_stop_delay_seconds - 5),
    }
    if data.mongodb_host is not None and "mongodb" in cfg.secrets:
        # No credentials here: the application user's login is the file SECRETS_DIR/mongodb ("username", "password").
        # DocumentDB is a replica set named rs0; it does not support retryable writes; TLS verifies against the
        # RDS global bundle (BootstrapConfig.ca_bundle_url).
        port = as_text(data.mongodb_port)
        values.update({
            "MONGODB_HOST": data.mongodb_host,
            "MONGODB_PORT": port,
            "MONGODB_DATABASE": data.mongodb_database,
            "MONGODB_TLS": "true",
            "MONGODB_URL": pulumi.Output.concat(
                "mongodb://", data.mongodb_host, ":", port, "/", data.mongodb_database,
                "?tls=true&replicaSet=rs0&readPreference=secondaryPreferred&retryWrites=false"),
        })
    if cfg.default_model:
        values["DEFAULT_MODEL"] = cfg.default_model
    if cfg.queue is not None:
        values["QUEUE_NAME"] = cfg.queue.list_name
    for callee, url in callee_urls.items():
        values[callee.upper().replace("-", "_") + "_URL"] = url
    values.update(cfg.settings)
    return values
