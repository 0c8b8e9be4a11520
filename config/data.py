"""Data tier intent: PostgreSQL, Redis, buckets, application secrets and the database bootstrap Job."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from config.base import DnsName, LogRetentionDays, Matching, Model, unique
from config.catalog import (
    CACHE_FAMILIES,
    LOG_RETENTION_DAYS,
    RDS_POSTGRES_FAMILIES,
    cache_node_type_problem,
    db_instance_class_problem,
    instance_type_problem,
)
from config.errors import Problems
from config.image_pins import Image
from config.images import image_problem, is_digest_pinned
from config.vector import QdrantConfig, VectorStoreKind, WeaviateConfig

__all__ = ["LOG_RETENTION_DAYS"]

LlmProvider = Literal["openai", "anthropic", "openrouter", "google", "cohere"]

# Major versions only: RDS applies minor versions through auto minor version upgrade, and pinning a minor
# here would make every `pulumi up` after such an upgrade try to downgrade. pgvector needs 15.2+ on RDS.
POSTGRES_MAJOR_VERSIONS = ("15", "16", "17")
# ElastiCache engine versions and the parameter group family each one uses.
CACHE_ENGINE_VERSIONS: dict[str, dict[str, str]] = {
    "redis": {"7.0": "redis7", "7.1": "redis7"},
    "valkey": {"7.2": "valkey7", "8.0": "valkey8", "8.1": "valkey8"},
}
DEFAULT_CACHE_VERSIONS = {"redis": "7.1", "valkey": "8.0"}
# Performance Insights keeps 7 days free; longer retention is billed per month (31-day steps).
PERFORMANCE_INSIGHTS_RETENTION_DAYS = (7, *(31 * m for m in range(1, 24)), 731)

# The bootstrap Job's images, pinned by digest on every tier (multi-arch index digests, so amd64 and arm64
# nodes pull the same reviewed bytes). No registry is reachable from the planner; each digest was checked
# against independent public repositories pinning the same tag to it (postgres 16-alpine = 16.14-alpine3.24;
# 15 and 17 the same way; aws-cli 2.31.30). Refresh with `docker buildx imagetools inspect <image:tag>`.
PSQL_IMAGES = {
    "15": "postgres:15-alpine@sha256:fe0737ba566a2c5b2a28f34433c0a423261900ec17b9bf7ad115e1aae7e57f1b",
    "16": "postgres:16-alpine@sha256:57c72fd2a128e416c7fcc499958864df5301e940bca0a56f58fddf30ffc07777",
    "17": "postgres:17-alpine@sha256:742f40ea20b9ff2ff31db5458d127452988a2164df9e17441e191f3b72252193",
}
AWS_CLI_IMAGE = ("public.ecr.aws/aws-cli/aws-cli:2.31.30"
                 "@sha256:6c9314d8dd18bcfd11c509e00ea39016c4fb978e42e86df1e4dfd17038b10b78")
# mongosh for the document store's user (dataTier.documentStore): the official mongo image. docker-library/mongo
# at 2c69a57 (2026-06-11): versions.json "8.0" is 8.0.26 on ubuntu:noble for amd64 and arm64v8, published under
# its full version as a tag (generate-stackbrew-library.sh versionAliases); 8.0/Dockerfile installs the mongodb-org
# packages and sets HOME "so that mongosh has a valid HOME". No public source gives its digest, so the program
# resolves the tag to the digest Docker Hub serves when it runs (components/core/registry.py), as for the chart
# images in config/image_pins.py UNPINNED.
MONGOSH_IMAGE = Image(
    "", "Job db-bootstrap container mongosh", "", "docker.io/library/mongo", "8.0.26", "",
    reason="Two public pins of mongo:8.0.26 disagree (sha256:ffa440e8..., with amd64/arm64 children, in one project's "
           "compose plan; sha256:3ce3de7f... in another's), as expected of an official image that docker-library "
           "rebuilds under the same tag when its base image changes; so no expected digest, resolved at deploy time.",
    at_deploy=True)
_PG_IDENTIFIER = r"^[a-z][a-z0-9_]{0,62}$"
PgIdentifier = Matching(_PG_IDENTIFIER, "a PostgreSQL identifier (a lowercase letter, then up to 62 lowercase "
                                        "letters, digits or '_')", "agent_app")
# Names RDS or PostgreSQL keep for themselves (RDS CreateDBInstance MasterUsername: "can't be a reserved word for the
# chosen database engine"; PostgreSQL reserves pg_* role names; RDS runs its own rdsadmin and rds_* roles). postgres
# is refused too: it is the console default, the first name a password-guessing attacker tries.
RESERVED_DB_USERS = ("postgres", "rdsadmin", "rdsrepladmin", "rdsproxyadmin", "rdstopmgr", "public", "user", "all",
                     "none", "current_user", "session_user", "select", "admin")
_RESERVED_DB_PREFIXES = ("pg_", "rds_", "rds")
# PostgreSQL settings that weaken the server, with what they must stay and why (refused in every tier).
POSTGRES_PARAMETER_RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "rds.force_ssl": (("1",), "connections to the database are TLS-only"),
    "password_encryption": (("scram-sha-256",), "md5 password hashes can be replayed and cracked offline"),
    "ssl": (("1", "on"), "the server must offer TLS"),
    "ssl_min_protocol_version": (("TLSv1.2", "TLSv1.3"), "TLS 1.0 and 1.1 are broken"),
    "log_statement": (("none",), "statement logging would write role passwords set by the bootstrap Job to the "
                                 "exported logs (use pgaudit object auditing)"),
    "rds.accepted_password_auth_method": (("scram",), "md5 password authentication can be replayed"),
}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
_DAILY_WINDOW = re.compile(rf"^{_HHMM}-{_HHMM}$")
_WEEKLY_WINDOW = re.compile(rf"^({'|'.join(_DAYS)}):{_HHMM}-({'|'.join(_DAYS)}):{_HHMM}$")
_WEEK = 7 * 24 * 60


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _daily(window: str) -> tuple[int, int]:
    start, end = window.split("-")
    first, last = _minutes(start), _minutes(end)
    return first, last if last > first else last + 24 * 60


def _weekly(window: str) -> tuple[int, int]:
    start, end = window.split("-")
    (d1, t1), (d2, t2) = start.split(":", 1), end.split(":", 1)
    first = _DAYS.index(d1) * 24 * 60 + _minutes(t1)
    last = _DAYS.index(d2) * 24 * 60 + _minutes(t2)
    return first, last if last > first else last + _WEEK


def _overlap(daily: str, weekly: str) -> bool:
    """Whether a daily window (any day) overlaps a weekly one; both wrap around midnight / the week."""
    w_start, w_end = _weekly(weekly)
    d_start, d_end = _daily(daily)
    for day in range(-1, 8):
        start, end = day * 24 * 60 + d_start, day * 24 * 60 + d_end
        for shift in (-_WEEK, 0, _WEEK):
            if start < w_end + shift and w_start + shift < end:
                return True
    return False


def _check_daily(value: str, minimum_minutes: int) -> str:
    if not _DAILY_WINDOW.match(value):
        raise ValueError(f"'{value}' is not a UTC window 'hh:mm-hh:mm' (e.g. 03:00-04:00)")
    start, end = _daily(value)
    if end - start < minimum_minutes:
        raise ValueError(f"'{value}' is shorter than the {minimum_minutes} minutes AWS requires")
    return value


def _check_weekly(value: str) -> str:
    if not _WEEKLY_WINDOW.match(value):
        raise ValueError(f"'{value}' is not a UTC window 'ddd:hh:mm-ddd:hh:mm' (e.g. sun:04:30-sun:05:30)")
    start, end = _weekly(value)
    if end - start < 60:
        raise ValueError(f"'{value}' is shorter than the 60 minutes AWS requires")
    return value


class PostgresConfig(Model):
    """RDS for PostgreSQL: sizing, availability and retention per tier; hardening is not configurable."""

    engine_version: str = Field(default="16", description="Major version; minors arrive by auto minor upgrade.")
    instance_class: str = Field(default="db.t4g.medium", description="RDS for PostgreSQL instance class "
                                                                     "(db.<family>.<size>).",
                                json_schema_extra={"allowed": "db.<family>.<size>, family one of "
                                                              + ", ".join(RDS_POSTGRES_FAMILIES)})
    allocated_storage_gib: int = Field(default=20, ge=20, le=65536)
    max_allocated_storage_gib: int = Field(default=100, ge=21, le=65536,
                                           description="Storage autoscaling ceiling (must exceed the allocation).")
    multi_az: bool = False
    backup_retention_days: int = Field(default=7, ge=1, le=35, description="Automated backups (point-in-time).")
    backup_window: str = Field(default="03:00-04:00", description="Daily UTC window for automated backups.")
    maintenance_window: str = Field(default="sun:04:30-sun:05:30", description="Weekly UTC maintenance window.")
    database_name: PgIdentifier = Field(default="agent_platform",  # type: ignore[valid-type]
                                        description="Application database the bootstrap Job creates.")
    master_username: PgIdentifier = Field(default="platform_admin",  # type: ignore[valid-type]
                                          description="RDS master user (at most 16 characters, not a reserved "
                                                      "name); only the bootstrap Job ever logs in with it.")
    app_username: PgIdentifier = Field(default="agent_app",  # type: ignore[valid-type]
                                       description="Least-privilege application role; also the name of its schema.")
    monitor_username: PgIdentifier = Field(default="metrics_reader",  # type: ignore[valid-type]
                                           description="Login of the metrics exporter: a member of pg_monitor only, "
                                                       "apart from the application's credentials.")
    app_connection_limit: int = Field(default=200, ge=1, le=5000,
                                      description="Connections the application role may hold at once.")
    log_min_duration_ms: int = Field(default=1000, ge=-1, le=600_000,
                                     description="Log statements slower than this (-1 disables).")
    idle_in_transaction_timeout_ms: int = Field(default=300_000, ge=0, le=86_400_000,
                                                description="End sessions idle inside a transaction this long.")
    parameters: dict[str, str] = Field(default_factory=dict,
                                       description="Extra or overriding DB parameter group settings.")
    performance_insights_retention_days: int = Field(default=7, description="7 (free) or a multiple of 31, up "
                                                                            "to 731.")
    monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60] = Field(
        default=60, description="Enhanced monitoring granularity (OS metrics).")

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        problem = db_instance_class_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("master_username", "app_username")
    @classmethod
    def _not_reserved(cls, value: str, info: ValidationInfo) -> str:
        if value in RESERVED_DB_USERS or value.startswith(_RESERVED_DB_PREFIXES):
            raise ValueError(f"'{value}' is reserved by RDS or PostgreSQL or a well-known default; choose your own "
                             "name, not one of {} or a name starting with pg_ or rds (e.g. platform_admin)".format(
                                 ", ".join(RESERVED_DB_USERS)))
        if info.field_name == "master_username" and len(value) > 16:
            raise ValueError(f"'{value}' is longer than the 16 characters RDS allows for the master user "
                             "(e.g. platform_admin)")
        return value

    @field_validator("engine_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value not in POSTGRES_MAJOR_VERSIONS:
            raise ValueError(f"unknown PostgreSQL version '{value}': use a major version, one of "
                             f"{', '.join(POSTGRES_MAJOR_VERSIONS)} (minor versions come from auto minor upgrades)")
        return value

    @field_validator("backup_window")
    @classmethod
    def _backup_window(cls, value: str) -> str:
        return _check_daily(value, 30)

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_window(cls, value: str) -> str:
        return _check_weekly(value)

    @field_validator("performance_insights_retention_days")
    @classmethod
    def _pi_retention(cls, value: int) -> int:
        if value not in PERFORMANCE_INSIGHTS_RETENTION_DAYS:
            raise ValueError(f"{value} days is not a Performance Insights retention; use 7, a multiple of 31, or 731 "
                             "(e.g. 7)")
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for key, setting in value.items():
            if not re.fullmatch(r"[a-z][a-z0-9_.]*", key):
                problems.append((key, f"'{key}' is not a PostgreSQL parameter name (lowercase letters, digits, '_' "
                                      "and '.', e.g. work_mem)"))
            elif key in POSTGRES_PARAMETER_RULES and setting not in POSTGRES_PARAMETER_RULES[key][0]:
                allowed, why = POSTGRES_PARAMETER_RULES[key]
                problems.append((key, f"'{setting}' weakens the database: {key} must be "
                                      f"{' or '.join(allowed)} ({why})"))
        if problems:
            raise Problems(problems)
        return value

    def problems(self, path: str) -> list[str]:
        """Rules across fields, as "camelCase.path: reason" lines (reported with every other problem)."""
        out = []
        if self.max_allocated_storage_gib <= self.allocated_storage_gib:
            out.append(f"{path}.maxAllocatedStorageGib: must be greater than allocatedStorageGib "
                       f"({self.allocated_storage_gib}) for storage autoscaling")
        if _overlap(self.backup_window, self.maintenance_window):
            out.append(f"{path}.maintenanceWindow: '{self.maintenance_window}' overlaps the backup window "
                       f"{self.backup_window}")
        if self.app_username == self.master_username:
            out.append(f"{path}.appUsername: must differ from masterUsername; applications never use the master user")
        if self.monitor_username in (self.app_username, self.master_username):
            out.append(f"{path}.monitorUsername: must differ from appUsername and masterUsername; the exporter has "
                       "its own login")
        return out

    @property
    def parameter_group_family(self) -> str:
        return f"postgres{self.engine_version}"


class RedisConfig(Model):
    """ElastiCache (Redis OSS or Valkey) replication group; TLS, AUTH and at-rest encryption are always on."""

    engine: Literal["redis", "valkey"] = "redis"
    engine_version: str = Field(default="7.1", description="Engine version; defaults to 7.1 for redis and 8.0 for "
                                                           "valkey.")
    node_type: str = Field(default="cache.t4g.small", description="ElastiCache node type (cache.<family>.<size>).",
                           json_schema_extra={"allowed": "cache.<family>.<size>, family one of "
                                                         + ", ".join(CACHE_FAMILIES)})
    num_cache_clusters: int = Field(default=1, ge=1, le=6, description="Primary plus replicas.")
    automatic_failover: bool = Field(default=False, description="Failover to a replica in another AZ "
                                                                "(also turns on Multi-AZ).")
    snapshot_retention_days: int = Field(default=1, ge=0, le=35)
    snapshot_window: str = Field(default="05:00-06:00", description="Daily UTC snapshot window.")
    maintenance_window: str = Field(default="sun:06:30-sun:07:30", description="Weekly UTC maintenance window.")
    auth_token_generation: int = Field(default=1, ge=1, description="Bump to rotate the AUTH token (both tokens "
                                                                    "stay valid until the next change).")
    parameters: dict[str, str] = Field(default_factory=dict, description="Extra or overriding parameters.")

    @model_validator(mode="before")
    @classmethod
    def _version_of_engine(cls, data: object) -> object:
        """An engine chosen without a version gets that engine's default version."""
        if isinstance(data, dict) and data.get("engineVersion", data.get("engine_version")) is None:
            engine = data.get("engine", "redis")
            if isinstance(engine, str) and engine in DEFAULT_CACHE_VERSIONS:
                return {**data, "engineVersion": DEFAULT_CACHE_VERSIONS[engine]}
        return data

    @field_validator("engine_version")
    @classmethod
    def _known_version(cls, value: str, info: ValidationInfo) -> str:
        engine = info.data.get("engine")
        if engine is None:
            return value
        versions = CACHE_ENGINE_VERSIONS[engine]
        if value not in versions:
            raise ValueError(f"unknown {engine} engine version '{value}': use one of {', '.join(versions)}")
        return value

    @field_validator("node_type")
    @classmethod
    def _node_type(cls, value: str) -> str:
        problem = cache_node_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("snapshot_window")
    @classmethod
    def _snapshot_window(cls, value: str) -> str:
        return _check_daily(value, 60)

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_window(cls, value: str) -> str:
        return _check_weekly(value)

    def problems(self, path: str) -> list[str]:
        if _overlap(self.snapshot_window, self.maintenance_window):
            return [f"{path}.maintenanceWindow: '{self.maintenance_window}' overlaps the snapshot window "
                    f"{self.snapshot_window}"]
        return []

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[a-z][a-z0-9-]*", key):
                raise ValueError(f"'{key}' is not a Redis parameter name (lowercase letters, digits and '-', e.g. "
                                 "maxmemory-policy)")
        return value

    @property
    def parameter_group_family(self) -> str:
        return CACHE_ENGINE_VERSIONS[self.engine][self.engine_version]


class SecretsConfig(Model):
    llm_providers: list[LlmProvider] = Field(
        default_factory=list,
        description="Each provider's key is the secret config value '<provider>ApiKey' (pulumi config set --secret).",
    )
    recovery_window_days: int = Field(default=7, ge=0, le=30,
                                      description="Days a deleted secret can be restored: 0 (delete at once, dev "
                                                  "only) or 7 to 30.")
    app_credentials_rotation_days: int = Field(default=30, ge=1, le=365,
                                               description="Rotation interval of the application database "
                                                           "credentials.")
    rotation_application_version: Matching(r"^\d+\.\d+\.\d+$", "a version number",  # type: ignore[valid-type]
                                           "1.1.671") | None = Field(
        default=None,
        description="Version of AWS's SecretsManagerRDSPostgreSQLRotationSingleUser application; default: the "
                    "version published in the stack's partition (components/data/secrets.py ROTATION_VERSIONS).")

    @field_validator("recovery_window_days")
    @classmethod
    def _recovery_window(cls, value: int) -> int:
        if 0 < value < 7:
            raise ValueError(f"{value} is not a recovery window: Secrets Manager takes 0 (immediate) or 7 to 30 days "
                             "(e.g. 30)")
        return value

    @field_validator("llm_providers")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return unique(value, "provider")


class BucketsConfig(Model):
    """Lifecycle of the data and logs buckets (encryption, versioning and access blocks are fixed)."""

    infrequent_access_after_days: int = Field(default=30, ge=30, le=3650,
                                              description="Move current objects to STANDARD_IA (S3 minimum 30).")
    noncurrent_version_expiration_days: int = Field(default=30, ge=1, le=3650,
                                                    description="Delete overwritten or deleted versions after this.")
    logs_expiration_days: int = Field(default=90, ge=1, le=3650, description="Delete access logs after this.")
    abort_incomplete_upload_days: int = Field(default=7, ge=1, le=365)


class BootstrapConfig(Model):
    """The bootstrap that creates the application database, role and extensions (a Job on EKS, an instance on VMs)."""

    namespace: DnsName = "platform-jobs"
    postgres_image: str | None = Field(
        default=None,
        description="psql image, pinned by digest ('postgres:16-alpine@sha256:<digest>'); default: the "
                    "pinned postgres:<engineVersion>-alpine.")
    aws_cli_image: str = Field(default=AWS_CLI_IMAGE,
                               description="Image of the init container that reads the credentials, pinned by "
                                           "digest.")
    ca_bundle_url: Matching(r"^https://[^\s]+\.pem$", "an https:// URL of a .pem file",  # type: ignore[valid-type]
                            "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem") = Field(
                               default="https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
                               description="RDS certificate bundle, so psql can verify the server (verify-full).")
    ttl_seconds_after_finished: int = Field(default=86_400, ge=600, le=604_800)
    instance_type: str = Field(default="t4g.micro",
                               description="runtime: vm only: the one-shot bootstrap instance (psql and dnf fit in "
                                           "1 GiB); Graviton (…g.) types run arm64.")

    @field_validator("postgres_image", "aws_cli_image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        problem = image_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        if value is not None and not is_digest_pinned(value):
            # Every tier: a tag can be re-pointed, so what the Job runs would change without a config change.
            raise ValueError(f"'{value}' is not pinned by digest; every tier must use a digest, e.g. "
                             f"{PSQL_IMAGES['16']}")
        return value

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        problem = instance_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value


# Amazon DocumentDB engine versions and the cluster parameter group family of each (DescribeDBEngineVersions:
# 5.0.0 -> docdb5.0, 8.0.0 -> docdb8.0). 3.6 reached end of life in March 2026 and 4.0 lacks I/O-Optimized
# storage and Performance Insights parity; both are left out. Source: DocumentDB developer guide,
# "Amazon DocumentDB features and configurations" (docdb-engine-version-supportability).
DOCUMENTDB_VERSIONS: dict[str, str] = {"5.0.0": "docdb5.0", "8.0.0": "docdb8.0"}
# Instance families DocumentDB 5.0 and 8.0 run (developer guide, "Managing instance classes": R5, R6G, R8G, T3,
# T4G; R4 is 3.6 only). Burstable families come in medium only.
DOCUMENTDB_INSTANCE_CLASS = re.compile(
    r"^db\.((t3|t4g)\.medium|(r5|r6g|r8g)\.(large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge|24xlarge))$")
# Names DocumentDB keeps for itself or a password-guessing attacker tries first.
RESERVED_DOCDB_USERS = ("admin", "root", "serviceadmin", "docdb", "mongo", "user")
_DOCDB_USER = r"^[a-zA-Z][a-zA-Z0-9]{0,62}$"
DocDbUser = Matching(_DOCDB_USER, "a DocumentDB user name (a letter, then up to 62 letters or digits)", "agentadmin")
_MONGO_DATABASE = r"^[a-zA-Z0-9_-]{1,63}$"
MongoDatabase = Matching(_MONGO_DATABASE, "a MongoDB database name (letters, digits, '_' or '-', at most 63)",
                         "agent_platform")


class DocumentStoreConfig(Model):
    """Amazon DocumentDB (MongoDB-compatible): TLS, CMK encryption, audit and profiler logs, backups and a
    master password DocumentDB keeps and rotates in Secrets Manager are always on; sizing comes per tier."""

    engine: Literal["documentdb"] = Field(default="documentdb", description="The only engine: Amazon DocumentDB.")
    engine_version: Literal["5.0.0", "8.0.0"] = Field(
        default="5.0.0", description="DocumentDB engine version (MongoDB 5.0 or 8.0 wire compatibility).")
    instance_class: str = Field(default="db.t4g.medium", description="Instance class of every cluster instance.",
                                json_schema_extra={"allowed": "db.t3.medium, db.t4g.medium, or "
                                                              "db.<r5|r6g|r8g>.<large..24xlarge>"})
    instance_count: int = Field(default=1, ge=1, le=16,
                                description="Primary plus replicas, spread over the AZs (protected tiers: >= 2).")
    backup_retention_days: int = Field(default=7, ge=1, le=35, description="Automated backups (point-in-time).")
    backup_window: str = Field(default="04:00-05:00", description="Daily UTC window for automated backups.")
    maintenance_window: str = Field(default="sun:06:00-sun:07:00", description="Weekly UTC maintenance window.")
    master_username: DocDbUser = Field(default="agentadmin",  # type: ignore[valid-type]
                                       description="Master user; DocumentDB keeps its password in Secrets Manager "
                                                   "and rotates it. Only the bootstrap logs in as it.")
    app_username: DocDbUser = Field(default="agentapp",  # type: ignore[valid-type]
                                    description="The services' user, created by the bootstrap with appRole on "
                                                "databaseName only; its password is generated, kept in Secrets "
                                                "Manager under the secrets key and rotated.")
    app_role: Literal["readWrite", "read"] = Field(
        default="readWrite", description="The one built-in role the services' user holds, on databaseName only "
                                         "(DocumentDB RBAC built-in roles scoped to a database).")
    database_name: MongoDatabase = Field(default="agent_platform",  # type: ignore[valid-type]
                                         description="Database name services get in MONGODB_DATABASE.")
    profiler_threshold_ms: int = Field(default=100, ge=50, le=2_147_483_646,
                                       description="Operations slower than this go to the profiler log.")

    @field_validator("instance_class")
    @classmethod
    def _instance_class(cls, value: str) -> str:
        if not DOCUMENTDB_INSTANCE_CLASS.match(value):
            raise ValueError(f"'{value}' is not a DocumentDB 5.0/8.0 instance class; use db.t3.medium, "
                             "db.t4g.medium or db.<r5|r6g|r8g>.<large..24xlarge> (e.g. db.r6g.large)")
        return value

    @field_validator("master_username", "app_username")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.lower() in RESERVED_DOCDB_USERS:
            raise ValueError(f"'{value}' is reserved or a well-known default; choose your own name, not one of "
                             f"{', '.join(RESERVED_DOCDB_USERS)} (e.g. agentadmin)")
        return value

    @field_validator("backup_window")
    @classmethod
    def _backup_window(cls, value: str) -> str:
        return _check_daily(value, 30)

    @field_validator("maintenance_window")
    @classmethod
    def _maintenance_window(cls, value: str) -> str:
        return _check_weekly(value)

    def problems(self, path: str) -> list[str]:
        out = []
        if _overlap(self.backup_window, self.maintenance_window):
            out.append(f"{path}.maintenanceWindow: '{self.maintenance_window}' overlaps the backup window "
                       f"{self.backup_window}")
        if self.app_username.lower() == self.master_username.lower():
            out.append(f"{path}.appUsername: must differ from masterUsername; services never log in as the master "
                       "user")
        return out

    @property
    def parameter_group_family(self) -> str:
        return DOCUMENTDB_VERSIONS[self.engine_version]


class DataTierConfig(Model):
    postgres: PostgresConfig = PostgresConfig()
    redis: RedisConfig = RedisConfig()
    secrets: SecretsConfig = SecretsConfig()
    buckets: BucketsConfig = BucketsConfig()
    bootstrap: BootstrapConfig = BootstrapConfig()
    log_retention_days: LogRetentionDays = Field(default=30, description="Retention of the database and cache log "
                                                                         "groups (a CloudWatch Logs retention).")
    document_store: DocumentStoreConfig | None = Field(
        default=None, description="A MongoDB-compatible document store (Amazon DocumentDB); absent: none. Tier "
                                  "presets size it when present.")
    vector_store: VectorStoreKind = Field(
        default="pgvector", description="Where embeddings live: pgvector in PostgreSQL, or a dedicated Qdrant or "
                                        "Weaviate (StatefulSet on EKS, own instance on the VM runtime), with an API "
                                        "key in Secrets Manager, snapshots to the data bucket and EBS backups.")
    qdrant: QdrantConfig = Field(default_factory=QdrantConfig, description="Sizing when vectorStore is qdrant.")
    weaviate: WeaviateConfig = Field(default_factory=WeaviateConfig,
                                     description="Sizing when vectorStore is weaviate.")

    @property
    def dedicated_vector_store(self) -> QdrantConfig | WeaviateConfig | None:
        """The sizing of the chosen dedicated store, or None on pgvector."""
        if self.vector_store == "qdrant":
            return self.qdrant
        if self.vector_store == "weaviate":
            return self.weaviate
        return None

    @property
    def postgres_image(self) -> str:
        """The configured psql image, else the pinned one matching the engine's major version."""
        return self.bootstrap.postgres_image or PSQL_IMAGES[self.postgres.engine_version]

    def problems(self) -> list[str]:
        """Rules across fields of the section, as "dataTier.<path>: reason" lines for the platform validator."""
        out = [*self.postgres.problems("dataTier.postgres"), *self.redis.problems("dataTier.redis")]
        if self.document_store is not None:
            out += self.document_store.problems("dataTier.documentStore")
        return out
