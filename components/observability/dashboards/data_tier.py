"""The data tier dashboard: PostgreSQL and Redis as the exporters see them, next to CloudWatch's view.

Exporter panels show what the application experiences (connections, hit ratios, evictions); CloudWatch
panels show the managed instances (CPU, storage, latency) and keep working when the cluster does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from components.observability.dashboards.grafana import (
    CLOUDWATCH,
    Layout,
    cloudwatch,
    dashboard,
    datasource_variable,
    prom,
    timeseries,
)
from config.observability import AlertThresholds

UID = "agent-platform-data-tier"


def _postgres(layout: Layout, db_instance_id: pulumi.Input[str], t: AlertThresholds) -> None:
    layout.row("PostgreSQL")
    layout.add(timeseries("Connections in use", [
        prom("sum by (job) (pg_stat_database_numbackends) / max by (job) (pg_settings_max_connections)", "used")],
        unit="percentunit", thresholds=[(t.db_connection_pool_percent / 100, "red")]), w=8, h=8)
    layout.add(timeseries("Transactions", [
        prom("sum(rate(pg_stat_database_xact_commit[5m]))", "commit", "A"),
        prom("sum(rate(pg_stat_database_xact_rollback[5m]))", "rollback", "B")], unit="ops"), w=8, h=8)
    layout.add(timeseries("Buffer cache hit ratio", [
        prom("sum(rate(pg_stat_database_blks_hit[5m]))\n"
             "  / (sum(rate(pg_stat_database_blks_hit[5m])) + sum(rate(pg_stat_database_blks_read[5m])))",
             "hit ratio")], unit="percentunit"), w=8, h=8)
    layout.add(timeseries("Deadlocks and conflicts", [
        prom("sum(increase(pg_stat_database_deadlocks[5m]))", "deadlocks", "A"),
        prom("sum(increase(pg_stat_database_conflicts[5m]))", "conflicts", "B")]), w=8, h=8)
    layout.add(timeseries("CPU (CloudWatch)", [
        cloudwatch("AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": db_instance_id}, stat="Average",
                   label="CPU")], unit="percent", datasource=CLOUDWATCH), w=8, h=8)
    layout.add(timeseries("Free storage (CloudWatch)", [
        cloudwatch("AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": db_instance_id}, stat="Minimum",
                   label="free")], unit="bytes", datasource=CLOUDWATCH), w=8, h=8)
    layout.add(timeseries("Read / write latency (CloudWatch)", [
        cloudwatch("AWS/RDS", "ReadLatency", {"DBInstanceIdentifier": db_instance_id}, stat="Average",
                   label="read", ref="A"),
        cloudwatch("AWS/RDS", "WriteLatency", {"DBInstanceIdentifier": db_instance_id}, stat="Average",
                   label="write", ref="B")], unit="s", datasource=CLOUDWATCH), w=12, h=8)
    layout.add(timeseries("Database size", [
        prom("sum by (datname) (pg_database_size_bytes)", "{{datname}}")], unit="bytes"), w=12, h=8)


def _redis(layout: Layout, cache_cluster_ids: Sequence[pulumi.Input[str]]) -> None:
    layout.row("Redis")
    layout.add(timeseries("Memory used", [
        prom("redis_memory_used_bytes", "used", "A"),
        prom("redis_memory_max_bytes > 0", "maxmemory", "B")], unit="bytes"), w=8, h=8)
    layout.add(timeseries("Commands", [
        prom("sum(rate(redis_commands_processed_total[5m]))", "commands")], unit="ops"), w=8, h=8)
    layout.add(timeseries("Keyspace hit ratio", [
        prom("sum(rate(redis_keyspace_hits_total[5m]))\n"
             "  / (sum(rate(redis_keyspace_hits_total[5m])) + sum(rate(redis_keyspace_misses_total[5m])))",
             "hit ratio")], unit="percentunit"), w=8, h=8)
    layout.add(timeseries("Connected clients", [prom("sum(redis_connected_clients)", "clients")]), w=8, h=8)
    layout.add(timeseries("Evicted and expired keys", [
        prom("sum(increase(redis_evicted_keys_total[5m]))", "evicted", "A"),
        prom("sum(increase(redis_expired_keys_total[5m]))", "expired", "B")]), w=8, h=8)
    layout.add(timeseries("Engine CPU per node (CloudWatch)", [
        cloudwatch("AWS/ElastiCache", "EngineCPUUtilization", {"CacheClusterId": node}, stat="Average",
                   label=f"node {i + 1}", ref=chr(ord("A") + i))
        for i, node in enumerate(cache_cluster_ids)], unit="percent", datasource=CLOUDWATCH), w=8, h=8)


def data_tier_dashboard(db_instance_id: pulumi.Input[str], cache_cluster_ids: Sequence[pulumi.Input[str]],
                        thresholds: AlertThresholds) -> dict[str, Any]:
    """Dimension values are Outputs; serialise with ``pulumi.Output.json_dumps``."""
    layout = Layout()
    _postgres(layout, db_instance_id, thresholds)
    _redis(layout, cache_cluster_ids)
    return dashboard(UID, "Agent platform / Data tier", layout, tags=["postgres", "redis"],
                     description="PostgreSQL and Redis health from the exporters and CloudWatch.",
                     variables=[datasource_variable()])
