"""Tag and annotation keys the program writes and the pack (or the cost estimate) reads."""

from __future__ import annotations

# AWS Backup selections pick resources by this tag (its value is the plan's name).
BACKUP_PLAN_TAG = "backup-plan"
# What a bucket or load balancer is for (``logs``, ``data``, ...): the logging and backup policies read it.
ROLE_TAG = "agent-platform/role"
# The role of the NAT instance's launch template, interface, security group and group (network.egress:
# natInstance): the one launch template allowed a public address, the one interface with its source/destination
# check off, each under the nat-instance-* policies instead.
NAT_INSTANCE_ROLE = "nat-instance"
# The role of the database bootstrap's IAM role (and its VM launch template): the one identity that may read a
# DocumentDB cluster's managed master secret (docdb-master-secret-bootstrap-only). Its Job carries the same name as
# app.kubernetes.io/name.
DB_BOOTSTRAP_ROLE = "db-bootstrap"
# Declared on Auto Scaling groups for the cost estimate, which cannot see either from the plan otherwise:
# a group that runs once per change and scales itself to 0, and the custom metrics its instances publish.
CAPACITY_TAG = "agent-platform/capacity"
RUN_ONCE = "run-once"
CUSTOM_METRICS_TAG = "agent-platform/custom-metrics"

# Every secret says what it holds, so the rotation policy knows which ones AWS can rotate.
SECRET_KIND_TAG = "agent-platform/secret-kind"
DATABASE_CREDENTIALS = "database-credentials"
CACHE_CREDENTIALS = "cache-credentials"
API_KEY = "api-key"
SIGNING_KEY = "signing-key"
ENCRYPTION_KEY = "encryption-key"
# Kinds an AWS-provided rotation function can rotate (the RDS engines' single-user rotation).
ROTATABLE_SECRET_KINDS = (DATABASE_CREDENTIALS,)

# Pod annotation that records a reviewed need to reach the Kubernetes API (the token mount policy reads it).
KUBERNETES_API_ANNOTATION = "agent-platform/kubernetes-api-access"

# Annotations of a vector store's snapshot CronJob: how much one run writes to S3 (GiB, every volume in full: an
# upper bound) and how many days S3 keeps each run. The cost estimate prices the snapshots' S3 storage from them.
SNAPSHOT_GIB_ANNOTATION = "agent-platform/snapshot-gib"
SNAPSHOT_RETENTION_ANNOTATION = "agent-platform/snapshot-retention-days"
# Two retention classes when the schedule runs more than once a day: the first run of each UTC day is kept the
# retention days above (then its noncurrent version the bucket's noncurrent days), the other runs under the
# store's "recent" prefix the recent days (then their noncurrent version RECENT_SNAPSHOT_NONCURRENT_DAYS).
SNAPSHOT_RECENT_RETENTION_ANNOTATION = "agent-platform/snapshot-recent-retention-days"
SNAPSHOT_NONCURRENT_ANNOTATION = "agent-platform/snapshot-noncurrent-days"
# The VM runtime's data volume carries its snapshot timer's schedule as two numbers (a CronJob has spec.schedule;
# a tag value may hold only letters, digits, spaces and + - = . _ : / @, so not a cron expression): how many runs a
# day (the cost estimate) and the longest gap between two runs in minutes (the RPO policy).
SNAPSHOT_RUNS_PER_DAY_TAG = "agent-platform/snapshot-runs-per-day"
SNAPSHOT_MAX_GAP_TAG = "agent-platform/snapshot-max-gap-minutes"
# A recent snapshot that is overwritten or expired is not kept long: the daily class is the history
# (NoncurrentDays, like Days, is a non-zero positive integer: S3 API NoncurrentVersionExpiration).
RECENT_SNAPSHOT_NONCURRENT_DAYS = 1
# Helm charts of the dedicated vector stores and the values blocks that size their volumes: (replicas key, data
# volume block, further blocks that add a volume when their ``enabled`` is true); each block has ``size`` and
# ``storageClassName`` (qdrant 1.19.0 / weaviate 17.8.3 values.yaml). The cost estimate and the policies read them.
VECTOR_STORE_CHARTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "qdrant": ("replicaCount", "persistence", ("snapshotPersistence",)),
    "weaviate": ("replicas", "storage", ()),
}

# The VM runtime's shared host (vm.placement: shared): its launch template, group and instance role, and the roles
# of the services placed on it carry this tag; the vm-shared-* policies judge them by it.
PLACEMENT_TAG = "agent-platform/placement"
SHARED_PLACEMENT = "shared"
