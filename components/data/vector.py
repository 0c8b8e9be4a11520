"""The runtime-independent half of a dedicated vector store: its API key in Secrets Manager, where snapshots go.

Where the store runs (a StatefulSet on EKS, an instance on the VM runtime) is the runtime's business; what the
agent services need to reach it (its kind, port and API key reference) and where its snapshots go (a prefix of
the data bucket) is decided here, once, so both runtimes and the services read the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_random as random
from agent_contract.schedules import runs_per_day
from agent_contract.tags import RECENT_SNAPSHOT_NONCURRENT_DAYS

from components.core.context import StackContext
from components.core.templates import template_text
from components.data.buckets import PrefixExpiry
from components.data.naming import API_KEY
from components.data.replication import SecretReplica
from components.data.secrets import secret
from config.data import DataTierConfig
from config.vector import QdrantConfig, WeaviateConfig

# The REST port each store serves (and the one the agents' NetworkPolicy and security group open); gRPC beside it.
# Qdrant: chart values service.ports http 6333 / grpc 6334. Weaviate: the container listens on 8080 (chart args
# --port 8080) and gRPC on 50051 (grpcService.ports).
PORTS = {"qdrant": (6333, 6334), "weaviate": (8080, 50051)}
# What the seeds call the store's URL: seed 003 reads QDRANT_HOST/QDRANT_PORT, seed 000 VECTOR_DB_URL.
ENV_PREFIX = {"qdrant": "QDRANT", "weaviate": "WEAVIATE"}
SNAPSHOT_PREFIX = "vector-store"
# Where, under the store's prefix, the snapshot scripts put the frequent runs of a sub-daily schedule (the first run
# of each UTC day goes under daily/ for Qdrant, a backup id daily-YYYYMMDD for Weaviate): S3 expires this part
# after recentSnapshotRetentionDays, the rest after snapshotRetentionDays. Weaviate's backup-s3 module writes
# <BACKUP_S3_PATH>/<backup id>/..., so its recent backups are the ids starting "recent-".
RECENT_PREFIX = {"qdrant": "recent/", "weaviate": "recent-"}
TEMPLATES = Path(__file__).parent / "templates"
# What writes a snapshot to the data bucket, on both runtimes (a CronJob on EKS, a systemd timer on the VM):
# Qdrant's snapshot API streamed to S3 by the script; Weaviate's own backup-s3 module, started by the script.
SNAPSHOT_SCRIPTS = {"qdrant": "qdrant-snapshot.sh", "weaviate": "weaviate-backup.sh"}
API_KEY_LENGTH = 48


@dataclass(frozen=True)
class VectorStoreRefs:
    """A dedicated store as the runtimes and services see it (no value, only references)."""

    kind: str
    sizing: QdrantConfig | WeaviateConfig
    api_key_secret_arn: pulumi.Output[str]
    api_key_version: pulumi.Resource
    secrets_kms_key_arn: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    data_kms_key_arn: pulumi.Input[str]
    # Days the data bucket keeps an expired snapshot's noncurrent version (buckets.noncurrentVersionExpirationDays).
    noncurrent_days: int = 0

    @property
    def port(self) -> int:
        return PORTS[self.kind][0]

    @property
    def grpc_port(self) -> int:
        return PORTS[self.kind][1]

    @property
    def snapshot_prefix(self) -> str:
        """The data bucket prefix the store's snapshots are written under (the snapshot role's only prefix)."""
        return snapshot_prefix(self.kind)


def snapshot_script(kind: str) -> str:
    """The snapshot script of ``kind`` (configured by environment variables: no placeholders)."""
    return template_text(TEMPLATES, SNAPSHOT_SCRIPTS[kind])


def snapshot_prefix(kind: str) -> str:
    return f"{SNAPSHOT_PREFIX}/{kind}/"


def recent_snapshot_prefix(kind: str) -> str:
    return f"{snapshot_prefix(kind)}{RECENT_PREFIX[kind]}"


def snapshot_expiry(cfg: DataTierConfig) -> dict[str, PrefixExpiry]:
    """The data bucket prefixes of the chosen store's snapshots and how long S3 keeps them (none on pgvector).

    The store's prefix keeps its snapshots ``snapshotRetentionDays`` (then its noncurrent versions the bucket's own
    days). A schedule that runs more than once a day also gets its ``recent`` part expired after
    ``recentSnapshotRetentionDays``, noncurrent versions one day later: the two rules overlap and S3 honours the
    shorter expiration (S3 user guide, "How Amazon S3 handles conflicts in lifecycle configurations").
    """
    sizing = cfg.dedicated_vector_store
    if sizing is None:
        return {}
    kind = cfg.vector_store
    rules = {snapshot_prefix(kind): PrefixExpiry(sizing.snapshot_retention_days)}
    runs = runs_per_day(sizing.snapshot_schedule)
    if runs is None or runs > 1:
        rules[recent_snapshot_prefix(kind)] = PrefixExpiry(sizing.recent_snapshot_retention_days,
                                                           noncurrent_days=RECENT_SNAPSHOT_NONCURRENT_DAYS)
    return rules


def vector_store_key(parent: pulumi.Resource, name: str, cfg: DataTierConfig, context: StackContext, *,
                     key_arn: pulumi.Input[str], bucket_name: pulumi.Input[str], bucket_arn: pulumi.Input[str],
                     data_key_arn: pulumi.Input[str], replica: SecretReplica | None = None) -> VectorStoreRefs | None:
    """The store's API key (generated, CMK-encrypted), or None when embeddings stay in pgvector."""
    sizing = cfg.dedicated_vector_store
    if sizing is None:
        return None
    kind = cfg.vector_store
    # Letters and digits: safe in an HTTP header, an env file and a comma-separated key list (Weaviate).
    value = random.RandomPassword(f"{name}-{kind}-api-key", length=API_KEY_LENGTH, special=False,
                                  opts=pulumi.ResourceOptions(parent=parent))
    entry, version = secret(
        f"{name}-{kind}-api-key-secret", context, path=f"data/{kind}-api-key",
        description=f"API key of the {kind} vector store (services list it as the 'vector-store' secret).",
        kind=API_KEY, value=value.result, key_arn=key_arn,
        recovery_window_days=cfg.secrets.recovery_window_days, parent=parent, replica=replica)
    return VectorStoreRefs(kind=kind, sizing=sizing, api_key_secret_arn=entry.arn, api_key_version=version,
                           secrets_kms_key_arn=key_arn, bucket_name=bucket_name, bucket_arn=bucket_arn,
                           data_kms_key_arn=data_key_arn,
                           noncurrent_days=cfg.buckets.noncurrent_version_expiration_days)
