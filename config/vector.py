"""Vector store intent: pgvector in the database (default), or a dedicated Qdrant or Weaviate.

Qdrant and Weaviate hold embeddings on their own EBS volumes: a StatefulSet from the vendor's Helm chart on
EKS, or one hardened instance with a separate encrypted data volume on the VM runtime. What is sized here is
the same on both runtimes (volume, memory, snapshots); ``instanceType`` applies to the VM runtime only.
Authentication, encryption, network isolation and backups are not configurable: they are always on.
"""

from __future__ import annotations

from typing import Literal

from agent_contract.schedules import runs_per_day
from pydantic import Field, field_validator, model_validator

from config.base import Matching, Model
from config.catalog import instance_type_problem
from config.errors import Problems

VectorStoreKind = Literal["pgvector", "qdrant", "weaviate"]
DEDICATED_STORES = ("qdrant", "weaviate")

# Kubernetes quantities the charts pass to the pod spec (resources.requests/limits).
CpuQuantity = Matching(r"^([1-9]\d{0,2}|[1-9]\d{0,5}m)$", "a CPU quantity", "500m")
MemoryQuantity = Matching(r"^[1-9]\d{0,5}(Mi|Gi)$", "a memory quantity in Mi or Gi", "2Gi")
# A Kubernetes CronJob schedule (five fields, UTC in the CronJob's timeZone): minute hour day month weekday.
_CRON_FIELD = r"[0-9*/,-]+"
# S3 lifecycle expiration counts whole days (Days: "a non-zero positive integer", API LifecycleExpiration), so the
# frequent snapshots of a sub-daily schedule are kept at least a day; past 3 days they cost more than they add
# (each day of them holds runs-per-day full snapshots, and the daily class keeps one a day anyway).
MAX_RECENT_RETENTION_DAYS = 3
KubeCron = Matching(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$",
                    "a five-field cron schedule (minute hour day-of-month month day-of-week)", "15 3 * * *")


def _mebibytes(quantity: str) -> int:
    return int(quantity[:-2]) * (1024 if quantity.endswith("Gi") else 1)


class VectorStoreSizing(Model):
    """Sizing shared by both dedicated stores (the fields, not the defaults: see QdrantConfig, WeaviateConfig)."""

    replicas: int = Field(default=1, ge=1, le=9,
                          description="runtime: eks only: StatefulSet replicas, each with its own volume (the VM "
                                      "runtime runs one instance).")
    volume_size_gib: int = Field(default=20, ge=10, le=16384,
                                 description="Encrypted gp3 data volume per replica (EBS, in the AWS Backup plan).")
    cpu_request: CpuQuantity = "500m"  # type: ignore[valid-type]
    memory_request: MemoryQuantity = "2Gi"  # type: ignore[valid-type]
    memory_limit: MemoryQuantity = Field(default="4Gi",  # type: ignore[valid-type]
                                         description="At least memoryRequest; the store is killed above it.")
    snapshot_schedule: KubeCron = Field(default="15 3 * * *",  # type: ignore[valid-type]
                                        description="When a snapshot is written to the data bucket (UTC).")
    snapshot_retention_days: int = Field(default=7, ge=1, le=3650,
                                         description="Days a snapshot is kept in the data bucket before S3 "
                                                     "expires it.")
    recent_snapshot_retention_days: int = Field(
        default=1, ge=1, le=30,
        description="Days S3 keeps the frequent snapshots of a schedule that runs more than once a day (prefix "
                    "`recent`; the first run of each day is kept snapshotRetentionDays). S3 counts whole days: at "
                    "most 3 with such a schedule.")
    instance_type: str = Field(default="r7g.large",
                               description="runtime: vm only: the store's own instance (memory-optimised: the "
                                           "index lives in RAM); Graviton (…g.) types run arm64.")

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        problem = instance_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _limit_covers_request(self) -> VectorStoreSizing:
        # In the block's own validation, so it is reported with every other bad key of the section.
        if _mebibytes(self.memory_limit) < _mebibytes(self.memory_request):
            raise Problems([("memoryLimit", f"{self.memory_limit} is below memoryRequest {self.memory_request}; "
                                            "the limit must be at least the request (e.g. twice it)")])
        return self

    @model_validator(mode="after")
    def _recent_retention_is_bounded(self) -> VectorStoreSizing:
        # Every run of a sub-daily schedule is a full snapshot: only a bounded recent window keeps its cost bounded.
        runs = runs_per_day(self.snapshot_schedule)
        if runs is not None and runs > 1 and self.recent_snapshot_retention_days > MAX_RECENT_RETENTION_DAYS:
            raise Problems([("recentSnapshotRetentionDays",
                             f"{self.snapshot_schedule} runs {runs} times a day, each a full snapshot: keep the "
                             f"frequent ones at most {MAX_RECENT_RETENTION_DAYS} days (got "
                             f"{self.recent_snapshot_retention_days}); snapshotRetentionDays keeps one a day "
                             "for longer")])
        return self


class QdrantConfig(VectorStoreSizing):
    """Qdrant (REST 6333, gRPC 6334) from the qdrant/qdrant-helm chart, or on its own instance."""


class WeaviateConfig(VectorStoreSizing):
    """Weaviate (REST 8080, gRPC 50051) from the weaviate/weaviate-helm chart, or on its own instance."""
