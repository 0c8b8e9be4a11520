"""The document store's copy in the DR region: an Amazon DocumentDB global cluster with a headless secondary.

A global cluster replicates the primary's storage to a secondary cluster of another region "using dedicated
infrastructure. Latency is typically under a second" (DocumentDB developer guide, "Overview of Amazon DocumentDB
global clusters"), so losing the primary region loses seconds of writes, not the hour of the AWS Backup copy (which
stays as the second line: the hourly plan still copies the cluster's snapshots to the DR vault).

- The existing cluster becomes the primary through the global cluster's ``source_db_cluster_identifier``
  (CreateGlobalCluster SourceDBClusterIdentifier: "this cluster becomes the primary of the global cluster"). The
  cluster resource itself is not touched: in terraform-provider-aws (internal/service/docdb/cluster.go) its
  ``global_cluster_identifier`` is not ForceNew, but setting it on an existing cluster fails ("existing DocumentDB
  Clusters cannot be added to an existing DocumentDB Global Cluster"), and reading it back after the join would
  show a diff whose apply removes the cluster from the global cluster; so the primary ignores that field.
- The secondary has no instances ("headless": the AWS Database Blog, "Use headless clusters in Amazon DocumentDB
  for cost-effective multi-Region resiliency"): it receives the primary's storage but bills no instance hours.
  A failover adds an instance first (docs/runbooks/disaster-recovery.md).
- Global clusters run every engine version but 3.6, on any class but db.t3, db.t4g and db.r4: the config
  refuses a t-class document store when backup.drRegion replicates (config/platform.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core.context import StackContext
from components.core.logs import log_group
from components.data.documentdb import LOG_EXPORTS, parameters
from components.data.naming import COMPONENT, physical_name
from components.data.replication import DrTarget
from config.data import DataTierConfig


@dataclass(frozen=True)
class DocumentReplica:
    global_cluster: aws.docdb.GlobalCluster
    secondary: aws.docdb.Cluster


def replicate_document_store(parent: pulumi.Resource, name: str, config: DataTierConfig, context: StackContext, *,
                             primary: aws.docdb.Cluster, key_arn: pulumi.Input[str],
                             dr: DrTarget) -> DocumentReplica:
    """Join ``primary`` to a new global cluster and add a headless secondary in the DR region's standby network."""
    cfg = config.document_store
    assert cfg is not None and dr.standby is not None, "called only with a document store and a standby network"
    protect = context.protect
    tags = context.tags(COMPONENT)
    global_cluster = aws.docdb.GlobalCluster(
        f"{name}-docdb-global",
        global_cluster_identifier=physical_name(context.name, "docdb-global", 63),
        source_db_cluster_identifier=primary.arn,
        deletion_protection=protect,
        opts=pulumi.ResourceOptions(parent=primary, protect=protect),
    )
    # Parented to the tier, not the global cluster: children inherit protect, and these are cheap to recreate.
    on_dr = pulumi.ResourceOptions(parent=parent, provider=dr.provider)
    identifier = physical_name(context.name, "docdb-dr", 63)
    subnet_group = aws.docdb.SubnetGroup(
        f"{name}-docdb-dr-subnets", subnet_ids=list(dr.standby.subnet_ids),
        description="Standby network in the DR region: isolated subnets, no route out", tags=tags, opts=on_dr)
    # "Keep settings consistent among all the clusters in a global database" (DocumentDB developer guide, "Managing
    # an Amazon DocumentDB global cluster"): the same parameters as the primary's group, TLS 1.2+ included.
    parameter_group = aws.docdb.ClusterParameterGroup(
        f"{name}-docdb-dr-params", family=cfg.parameter_group_family,
        description=f"agent-platform DocumentDB {cfg.engine_version} DR secondary: TLS 1.2+, audit and profiler on",
        parameters=parameters(cfg),
        tags=tags, opts=on_dr)
    # Nothing may reach the secondary before a failover: a group with no rules (the provider revokes the default
    # egress); the runbook restores the promoted cluster's snapshot into the DR stack's own network.
    sealed = aws.ec2.SecurityGroup(
        f"{name}-docdb-dr-sg", vpc_id=dr.standby.vpc_id,
        description="DocumentDB DR secondary: no ingress, no egress until a failover",
        ingress=[], egress=[], tags=context.tags(COMPONENT, Name=f"{context.name}-docdb-dr"), opts=on_dr)
    groups = [
        log_group(f"{name}-docdb-dr-{kind}-logs", f"/aws/docdb/{identifier}/{kind}",
                  retention_days=config.log_retention_days, kms_key_arn=dr.standby.logs_key_arn, tags=tags,
                  parent=parent, provider=dr.provider)
        for kind in LOG_EXPORTS
    ]
    secondary = aws.docdb.Cluster(
        f"{name}-docdb-dr",
        cluster_identifier=identifier,
        global_cluster_identifier=global_cluster.id,
        engine="docdb",
        engine_version=cfg.engine_version,  # a secondary runs the primary's version
        db_subnet_group_name=subnet_group.name,
        db_cluster_parameter_group_name=parameter_group.name,
        vpc_security_group_ids=[sealed.id],
        storage_encrypted=True,
        kms_key_id=key_arn,  # a CMK of the DR region: a key of one region cannot encrypt another's storage
        backup_retention_period=cfg.backup_retention_days,
        preferred_backup_window=cfg.backup_window,
        preferred_maintenance_window=cfg.maintenance_window,
        enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
        deletion_protection=protect,
        skip_final_snapshot=not protect,
        final_snapshot_identifier=f"{identifier}-final" if protect else None,
        # role=replica: it is itself the cross-region copy, so this stack's backup selection (its own region) does
        # not look for it.
        tags=context.tags(COMPONENT, role="replica"),
        opts=pulumi.ResourceOptions(parent=global_cluster, provider=dr.provider, protect=protect,
                                    depends_on=groups),
    )
    return DocumentReplica(global_cluster=global_cluster, secondary=secondary)
