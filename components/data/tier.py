"""DataTier: PostgreSQL with pgvector, Redis, object storage and the application secrets of one environment.

Everything is private (isolated subnets, reachable only from the workload security groups), encrypted
with customer-managed keys (one per purpose), and sized and protected per tier from ``DataTierConfig``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.core import kms
from components.core.context import StackContext
from components.data.bootstrap import DatabaseBootstrap
from components.data.bootstrap_job import BootstrapInputs, DocumentStoreLogins
from components.data.buckets import ReplicaBuckets, buckets, logs_bucket
from components.data.cache import cache
from components.data.documentdb import document_store
from components.data.global_cluster import replicate_document_store
from components.data.naming import COMPONENT, MONGODB_PORT, POSTGRES_PORT, REDIS_PORT
from components.data.postgres import postgres
from components.data.replication import (
    DrTarget,
    SecretReplica,
    dr_keys,
    replica_arn,
    replicate_bucket,
    replicate_database_backups,
)
from components.data.secrets import (
    AppSecrets,
    app_secrets,
    document_store_credentials,
    document_store_rotation,
    postgres_credentials,
    rotation,
    rotation_failure_alerts,
)
from components.data.vector import VectorStoreRefs, snapshot_expiry, vector_store_key
from config.backup import Recovery
from config.data import DataTierConfig
from config.observability import postgres_max_connections


@dataclass(frozen=True)
class DataTierArgs:
    """The data tier's config section plus where it is wired into the network, keys and runtime."""

    config: DataTierConfig
    context: StackContext
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    isolated_subnet_ids: Sequence[pulumi.Input[str]]
    workload_security_group_ids: Mapping[str, pulumi.Input[str]]
    """The groups the stores admit, keyed by a stable name (e.g. ``eks-cluster``): the rules are named by it."""
    alert_topic_arn: pulumi.Input[str] | None
    logs_key_arn: pulumi.Input[str]
    # Where the credential rotation function runs: subnets with a route to Secrets Manager (NAT or endpoint).
    private_subnet_ids: Sequence[pulumi.Input[str]]
    # Where the database's addresses can be: its isolated subnets, or the whole VPC when it is adopted.
    database_cidrs: Sequence[str]
    # What runs the database bootstrap on this stack's runtime (a Kubernetes Job, or a one-shot instance).
    bootstrap: DatabaseBootstrap
    # Where the stores replicate to (backup.drRegion with backup.replication on); None: no cross-region copies.
    dr: DrTarget | None = None
    # A DR stack: restore from the source stack's replicas in this region instead of starting empty.
    recovery: Recovery | None = None


class DataTier(pulumi.ComponentResource):
    """State of the agent systems: PostgreSQL 15-17 with pgvector, Redis 7 / Valkey, S3 and secrets."""

    postgres_host: pulumi.Output[str]
    postgres_port: int
    database_name: str
    db_instance_id: pulumi.Output[str]
    db_instance_arn: pulumi.Output[str]
    app_db_secret_arn: pulumi.Output[str]
    redis_host: pulumi.Output[str]
    redis_port: int
    redis_replication_group_id: pulumi.Output[str]
    redis_member_cluster_ids: pulumi.Output[list[str]]
    redis_auth_secret_arn: pulumi.Output[str]
    data_bucket_name: pulumi.Output[str]
    data_bucket_arn: pulumi.Output[str]
    logs_bucket_name: pulumi.Output[str]
    logs_bucket_arn: pulumi.Output[str]
    llm_key_secret_arns: dict[str, pulumi.Output[str]]
    jwt_secret_arn: pulumi.Output[str]
    encryption_key_secret_arn: pulumi.Output[str]
    secrets_kms_key_arn: pulumi.Output[str]
    data_kms_key_arn: pulumi.Output[str]
    database_security_group_id: pulumi.Output[str]
    cache_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: DataTierArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:data:DataTier", name, None, opts)
        cfg, context = args.config, args.context

        recovery = args.recovery
        # A DR stack reuses the source's DR keys for what it inherits (the replica bucket and the replicated
        # secrets), so services need one key per purpose, as everywhere else.
        own = ("database", "cache") if recovery else ("database", "cache", "objects", "secrets")
        key_arns: dict[str, pulumi.Input[str]] = {p: self._key(name, p, context).arn for p in own}
        if recovery:
            key_arns |= {"objects": recovery.data_key_arn, "secrets": recovery.secrets_key_arn}
        secrets_key = key_arns["secrets"]
        dr = args.dr
        # The document store's secondary needs a key of its own there, and the standby network to live in.
        replicate_documents = dr is not None and dr.standby is not None and cfg.document_store is not None
        dr_keys_ = dr_keys(self, name, context, dr, ("documents",) if replicate_documents else ()) if dr else {}
        replica = SecretReplica(dr.region, dr_keys_["secrets"].arn) if dr else None

        db_sg = self._security_group(name, "postgres", "PostgreSQL", POSTGRES_PORT, args)
        cache_sg = self._security_group(name, "redis", "Redis", REDIS_PORT, args)
        rotation_sg = self._rotation_security_group(
            name, args, db_sg, prefix="", store_role="postgres", label="PostgreSQL", port=POSTGRES_PORT,
            description="Credential rotation function: PostgreSQL and HTTPS out, nothing in")

        secrets = None if recovery else app_secrets(self, name, cfg, context, key_arn=secrets_key, replica=replica)
        db = postgres(self, name, cfg, context, subnet_ids=args.isolated_subnet_ids, security_group_id=db_sg.id,
                      storage_key_arn=key_arns["database"], secrets_key_arn=secrets_key,
                      logs_key_arn=args.logs_key_arn, restore=recovery)
        credentials, credentials_value = postgres_credentials(
            self, name, cfg, context, login="app", host=db.instance.address, key_arn=secrets_key, replica=replica)
        monitor, monitor_value = postgres_credentials(
            self, name, cfg, context, login="monitor", host=db.instance.address, key_arn=secrets_key,
            replica=replica)
        if dr:
            replicate_database_backups(
                self, name, instance=db.instance, key_arn=dr_keys_["database"].arn, dr=dr,
                retention_days=dr.config.database_retention_days or cfg.postgres.backup_retention_days)

        # The document store (only when dataTier.documentStore is set), with its own key and security group, and
        # the services' own DocumentDB user: its secret here, created by the bootstrap below, rotated after it.
        self.mongodb_host: pulumi.Output[str] | None = None
        self.mongodb_port = MONGODB_PORT
        self.mongodb_database: str | None = None
        self.mongodb_secret_arn: pulumi.Output[str] | None = None
        self.docdb_cluster_arn: pulumi.Output[str] | None = None
        self.docdb_instance_ids: dict[str, pulumi.Output[str]] = {}
        documents: DocumentStoreLogins | None = None
        document_versions: list[pulumi.Resource] = []
        document_resources: list[pulumi.Resource] = []
        if cfg.document_store is not None:
            docdb_key = self._key(name, "documents", context)
            docdb_sg = self._security_group(name, "docdb", "DocumentDB", MONGODB_PORT, args)
            docs = document_store(self, name, cfg, context, subnet_ids=args.isolated_subnet_ids,
                                  security_group_id=docdb_sg.id, storage_key_arn=docdb_key.arn,
                                  logs_key_arn=args.logs_key_arn, global_member=replicate_documents,
                                  snapshot_arn=recovery.document_store_snapshot_arn if recovery else None)
            if replicate_documents:
                assert dr is not None
                replicate_document_store(self, name, cfg, context, primary=docs.cluster,
                                         key_arn=dr_keys_["documents"].arn, dr=dr)
            docdb_app, docdb_app_value = document_store_credentials(
                self, name, cfg, context, host=docs.cluster.endpoint, key_arn=secrets_key, replica=replica)
            documents = DocumentStoreLogins(
                host=docs.cluster.endpoint, master_secret_arn=docs.master_secret_arn, app_secret_arn=docdb_app.arn,
                app_secret_version=docdb_app_value.version_id, security_group=docdb_sg)
            document_versions.append(docdb_app_value)
            document_resources = [docs.cluster, *docs.instances]
            self.mongodb_host = docs.cluster.endpoint
            self.mongodb_database = cfg.document_store.database_name
            # The services' user, never the master: DocumentDB's master secret is readable by the bootstrap only.
            self.mongodb_secret_arn = docdb_app.arn
            self.docdb_cluster_arn = docs.cluster.arn
            self.docdb_instance_ids = {f"docdb-{i + 1}": instance.identifier
                                       for i, instance in enumerate(docs.instances)}

        converged: list[pulumi.Resource] = []
        bootstrap_inputs = BootstrapInputs(
            host=db.instance.address, master_secret_arn=db.master_secret_arn,
            app_secret_arn=credentials.arn, app_secret_version=credentials_value.version_id,
            monitor_secret_arn=monitor.arn, monitor_secret_version=monitor_value.version_id,
            secrets_key_arn=secrets_key, database_cidrs=list(args.database_cidrs),
            after=[db.instance, *document_resources], documents=documents)
        converged.append(args.bootstrap.run(self, name, cfg, context, inputs=bootstrap_inputs,
                                            database_security_group=db_sg))
        rotation(self, name, cfg, context, credentials=credentials, monitor_credentials=monitor, key_arn=secrets_key,
                 logs_key_arn=args.logs_key_arn, subnet_ids=args.private_subnet_ids,
                 security_group_id=rotation_sg.id, after=[db.instance, *converged])
        if documents is not None:
            docdb_rotation_sg = self._rotation_security_group(
                name, args, documents.security_group, prefix="docdb-", store_role="docdb", label="DocumentDB",
                port=MONGODB_PORT,
                description="DocumentDB credential rotation function: DocumentDB and HTTPS out, nothing in")
            document_store_rotation(
                self, name, cfg, context, credentials=docdb_app, key_arn=secrets_key,
                logs_key_arn=args.logs_key_arn, subnet_ids=args.private_subnet_ids,
                security_group_id=docdb_rotation_sg.id, after=[*document_resources, *converged])
        if args.alert_topic_arn is not None:
            rotation_failure_alerts(self, name, context, alert_topic_arn=args.alert_topic_arn)

        redis = cache(self, name, cfg, context, subnet_ids=args.isolated_subnet_ids, security_group_id=cache_sg.id,
                      storage_key_arn=key_arns["cache"], secrets_key_arn=secrets_key,
                      logs_key_arn=args.logs_key_arn, alert_topic_arn=args.alert_topic_arn, secret_replica=replica)
        replicas: ReplicaBuckets | None = None
        if recovery:
            # The data bucket is the source's replica in this region: pointed to, never created a second time.
            logs, logs_policy = logs_bucket(self, name, cfg.buckets, context)
            self.data_bucket_name = pulumi.Output.from_input(recovery.data_bucket_name)
            self.data_bucket_arn = pulumi.Output.concat("arn:", context.partition, ":s3:::",
                                                        recovery.data_bucket_name)
        else:
            stores = buckets(self, name, cfg.buckets, context, data_key_arn=key_arns["objects"],
                             expiring_prefixes=snapshot_expiry(cfg))
            logs, logs_policy = stores.logs, stores.logs_policy
            self.data_bucket_name, self.data_bucket_arn = stores.data.bucket, stores.data.arn
            replicas = replicate_bucket(
                self, name, cfg.buckets, context, source=stores.data, source_key_arn=key_arns["objects"],
                replica_key_arn=dr_keys_["objects"].arn, dr=dr, after=[stores.data_versioning],
                expiring_prefixes=snapshot_expiry(cfg)) if dr else None
        self.vector_store: VectorStoreRefs | None = vector_store_key(
            self, name, cfg, context, key_arn=secrets_key, bucket_name=self.data_bucket_name,
            bucket_arn=self.data_bucket_arn, data_key_arn=key_arns["objects"], replica=replica)

        self.postgres_host = db.instance.address
        self.postgres_port = POSTGRES_PORT
        self.database_name = cfg.postgres.database_name
        self.database_cidrs = list(args.database_cidrs)
        self.postgres_allocated_storage_gib = cfg.postgres.allocated_storage_gib
        self.postgres_max_connections = postgres_max_connections(cfg.postgres)
        self.db_instance_id = db.instance.identifier
        self.db_instance_arn = db.instance.arn
        self.app_db_secret_arn = credentials.arn
        self.monitor_db_secret_arn = monitor.arn
        self.monitor_db_secret_version = monitor_value.version_id
        self.redis_host = redis.group.primary_endpoint_address
        self.redis_port = REDIS_PORT
        self.redis_replication_group_id = redis.group.replication_group_id
        self.redis_member_cluster_ids = redis.group.member_clusters.apply(lambda ids: sorted(ids or []))
        self.redis_auth_secret_arn = redis.auth_secret.arn
        self.logs_bucket_name = logs.bucket
        self.logs_bucket_arn = logs.arn
        # Log producers (the load balancer) must wait until the bucket policy lets them write.
        self.logs_bucket_ready: list[pulumi.Resource] = [logs_policy]
        if secrets is not None:
            self.llm_key_secret_arns = {provider: entry.arn for provider, entry in secrets.llm_keys.items()}
            self.jwt_secret_arn = secrets.jwt.arn
            self.encryption_key_secret_arn = secrets.encryption_key.arn
        else:
            # The source's replicas: the values that cannot be regenerated (signing and encryption keys).
            assert recovery is not None
            recovered = {k: pulumi.Output.from_input(v) for k, v in recovery.secret_arns.items()}
            self.llm_key_secret_arns = {p: recovered[p] for p in cfg.secrets.llm_providers}
            self.jwt_secret_arn = recovered["jwt"]
            self.encryption_key_secret_arn = recovered["encryption-key"]
        self.secrets_kms_key_arn = pulumi.Output.from_input(secrets_key)
        self.secret_versions: list[pulumi.Resource] = [*(secrets.versions if secrets else ()), credentials_value,
                                                       monitor_value, redis.auth_version, *document_versions]
        if self.vector_store is not None:
            self.secret_versions.append(self.vector_store.api_key_version)
        self.data_kms_key_arn = pulumi.Output.from_input(key_arns["objects"])
        self.database_security_group_id = db_sg.id
        self.cache_security_group_id = cache_sg.id
        # What a DR stack restores from (recovery.* in Pulumi.<stack>-dr.yaml); None without replication.
        self.dr_state = self._dr_state(replicas, dr_keys_, secrets, dr.region) if dr and secrets else None
        self.register_outputs({
            "postgres_host": self.postgres_host,
            "db_instance_arn": self.db_instance_arn,
            "app_db_secret_arn": self.app_db_secret_arn,
            "redis_host": self.redis_host,
            "redis_auth_secret_arn": self.redis_auth_secret_arn,
            "data_bucket_arn": self.data_bucket_arn,
            "logs_bucket_arn": self.logs_bucket_arn,
            "llm_key_secret_arns": self.llm_key_secret_arns,
            "jwt_secret_arn": self.jwt_secret_arn,
            "encryption_key_secret_arn": self.encryption_key_secret_arn,
        })

    @staticmethod
    def _dr_state(replicas: ReplicaBuckets | None, keys: Mapping[str, aws.kms.Key], secrets: AppSecrets,
                  region: str) -> dict[str, Any]:
        """The replicas' names and ARNs in the DR region: the values a DR stack's ``recovery`` section takes.

        Database and cache credentials are not listed: the DR stack creates its own (its bootstrap sets them).
        """
        named = {"jwt": secrets.jwt, "encryption-key": secrets.encryption_key, **secrets.llm_keys}
        return {
            "dataBucketName": replicas.data.bucket if replicas else None,
            "dataKeyArn": keys["objects"].arn,
            "secretsKeyArn": keys["secrets"].arn,
            "secretArns": {k: s.arn.apply(lambda arn: replica_arn(arn, region)) for k, s in named.items()},
        }

    def _key(self, name: str, purpose: str, context: StackContext) -> aws.kms.Key:
        """One rotating CMK per purpose, so granting a workload the object key exposes no database data."""
        return kms.customer_key(f"{name}-{purpose}-key", f"data-{purpose}", account_id=context.account_id,
                                partition=context.partition, tags=context.tags(COMPONENT),
                                protect=context.protect, parent=self)

    def _security_group(self, name: str, role: str, label: str, port: int,
                        args: DataTierArgs) -> aws.ec2.SecurityGroup:
        """Admits ``port`` from the workload groups only. No egress rules: the provider revokes AWS's default
        allow-all egress at creation, and the stores answer inbound connections statefully."""
        group = aws.ec2.SecurityGroup(
            f"{name}-{role}-sg", vpc_id=args.vpc_id, description=f"{label} {port} from the workloads only",
            tags=args.context.tags(COMPONENT, Name=f"{args.context.name}-{role}"),
            opts=pulumi.ResourceOptions(parent=self))
        for i, (source_name, source) in enumerate(args.workload_security_group_ids.items()):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{role}-from-{source_name}", security_group_id=group.id, referenced_security_group_id=source,
                ip_protocol="tcp", from_port=port, to_port=port, description=f"{label} from workload group {i}",
                tags=args.context.tags(COMPONENT),
                # Formerly named by position; the alias keeps an existing rule (same group, same port) in place.
                opts=pulumi.ResourceOptions(parent=group,
                                            aliases=[pulumi.Alias(name=f"{name}-{role}-from-workloads-{i}")]))
        return group

    def _rotation_security_group(self, name: str, args: DataTierArgs, store: aws.ec2.SecurityGroup, *,
                                 prefix: str, store_role: str, label: str, port: int,
                                 description: str) -> aws.ec2.SecurityGroup:
        """A rotation function's group: ``label`` on ``port`` and, over TLS, the Secrets Manager API out; the
        store's group admits it. ``prefix`` and ``store_role`` keep each store's existing resource names."""
        tags = args.context.tags(COMPONENT)
        group = aws.ec2.SecurityGroup(
            f"{name}-{prefix}rotation-sg", vpc_id=args.vpc_id, description=description,
            tags=args.context.tags(COMPONENT, Name=f"{args.context.name}-{prefix}rotation"),
            opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=group)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-{prefix}rotation-to-{store_role}", security_group_id=group.id,
            referenced_security_group_id=store.id, ip_protocol="tcp", from_port=port, to_port=port,
            description=label, tags=tags, opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-{prefix}rotation-to-aws-apis", security_group_id=group.id, cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp", from_port=443, to_port=443, description="Secrets Manager API (endpoint or NAT)",
            tags=tags, opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-{store_role}-from-rotation", security_group_id=store.id, referenced_security_group_id=group.id,
            ip_protocol="tcp", from_port=port, to_port=port,
            description=f"{label} from the credential rotation function", tags=tags,
            opts=pulumi.ResourceOptions(parent=store))
        return group
