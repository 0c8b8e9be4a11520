"""The document store (dataTier.documentStore): Amazon DocumentDB, private, TLS-only, encrypted, backed up.

Planned with overrides of the committed stacks (which have no document store): it appears in the plan, the
review, the cost estimate and the backup selection, and services that list the `mongodb` secret get its
endpoint in their ConfigMap and its credentials only as a mounted secret.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from planning.cost_report import stack_report
from planning.engine import with_paths
from planning.model import Plan
from tests.harness import DEDICATED_VM, STACKS, config_error, plan, review, tags_of

CLUSTER = "aws:docdb/cluster:Cluster"
INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
PARAMS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
SUBNETS = "aws:docdb/subnetGroup:SubnetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
SELECTION = "aws:backup/selection:Selection"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

API_SECRETS = ["database", "redis", "jwt", "encryption-key", "openai", "mongodb"]


def with_store(extra: dict[str, Any] | None = None, **store: Any) -> dict[str, Any]:
    return {"dataTier.documentStore": {"engine": "documentdb", **store}, **(extra or {})}


def docdb_plan(stack: str, **store: Any) -> Plan:
    return plan(stack, with_store(**store))


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_stacks_have_no_document_store(stack: str):
    p = plan(stack)
    assert not [r for r in p if r.type.startswith("aws:docdb/")]
    assert "mongodbHost" not in p.outputs


def test_prod_gets_a_tls_only_encrypted_protected_cluster_with_one_instance_per_az():
    p = docdb_plan("prod")
    cluster = p.one(CLUSTER, "data-docdb")
    props = cluster.props
    assert props["engine"] == "docdb" and props["engineVersion"] == "5.0.0"
    assert props["storageEncrypted"] is True
    assert cluster.property_dependencies["kmsKeyId"] == (p.one(KEY, "data-documents-key").urn,)
    assert props["manageMasterUserPassword"] is True and "masterPassword" not in props
    assert props["deletionProtection"] is True and props["skipFinalSnapshot"] is False
    assert props["finalSnapshotIdentifier"].endswith("-final")
    assert cluster.protect is True
    assert props["backupRetentionPeriod"] == 35
    assert sorted(props["enabledCloudwatchLogsExports"]) == ["audit", "profiler"]
    assert props["port"] == 27017
    instances = p.of_type(INSTANCE)
    assert len(instances) == 3 and all(i.protect for i in instances)
    assert {i.props["instanceClass"] for i in instances} == {"db.r6g.large"}
    assert sorted(i.props["promotionTier"] for i in instances) == [0, 1, 2]
    tls = {e["name"]: e for e in p.one(PARAMS, "data-docdb-params").props["parameters"]}
    assert tls["tls"]["value"] == "tls1.2+" and tls["tls"]["applyMethod"] == "pending-reboot"
    assert tls["audit_logs"]["value"] == "enabled" and tls["profiler"]["value"] == "enabled"
    assert p.one(PARAMS, "data-docdb-params").props["family"] == "docdb5.0"


def test_dev_gets_one_small_unprotected_instance_and_a_day_of_backups():
    p = docdb_plan("dev")
    props = p.one(CLUSTER, "data-docdb").props
    assert props["deletionProtection"] is False and props["skipFinalSnapshot"] is True
    assert props["backupRetentionPeriod"] == 1
    (instance,) = p.of_type(INSTANCE)
    assert instance.props["instanceClass"] == "db.t4g.medium"


def test_the_cluster_sits_in_the_isolated_subnets_reachable_only_from_the_workloads_on_27017():
    p = docdb_plan("prod")
    isolated = sorted(s.urn for s in p.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("network-isolated"))
    assert sorted(p.one(SUBNETS, "data-docdb-subnets").property_dependencies["subnetIds"]) == isolated
    group = p.one(SG, "data-docdb-sg")
    assert p.one(CLUSTER, "data-docdb").property_dependencies["vpcSecurityGroupIds"] == (group.urn,)
    rules = [r for r in p.of_type(INGRESS) if group.urn in r.property_dependencies.get("securityGroupId", ())]
    assert rules and all(r.props["fromPort"] == r.props["toPort"] == 27017 and r.props["ipProtocol"] == "tcp"
                         and "cidrIpv4" not in r.props for r in rules)
    assert all(r.property_dependencies.get("referencedSecurityGroupId") for r in rules)


def test_audit_and_profiler_logs_go_to_encrypted_log_groups_created_first():
    p = docdb_plan("prod")
    cluster = p.one(CLUSTER, "data-docdb")
    ident = cluster.props["clusterIdentifier"]
    # The cluster's own log groups (not the DR secondary's, nor the user's rotation function's).
    groups = {g.props["name"]: g for g in p.of_type(LOG_GROUP)
              if g.name.startswith("data-docdb-") and not g.name.startswith("data-docdb-dr-")
              and "rotation" not in g.name}
    assert set(groups) == {f"/aws/docdb/{ident}/audit", f"/aws/docdb/{ident}/profiler"}
    assert all(g.property_dependencies.get("kmsKeyId") for g in groups.values())
    assert {g.urn for g in groups.values()} <= set(cluster.dependencies)


def test_the_backup_selection_takes_documentdb_clusters_of_this_stack_only_when_there_is_one():
    with_docdb = docdb_plan("prod")
    patterns = with_docdb.one(SELECTION, "backup-selection").props["resources"]
    assert "arn:aws:rds:us-east-1:123456789012:cluster:*" in patterns
    assert tags_of(with_docdb.one(CLUSTER, "data-docdb"))["backup-plan"] == "default"
    without = plan("prod").one(SELECTION, "backup-selection").props["resources"]
    assert "arn:aws:rds:us-east-1:123456789012:cluster:*" not in without


@pytest.mark.parametrize("stack", STACKS)
def test_a_stack_with_a_document_store_passes_its_review(stack: str):
    result = review(docdb_plan(stack))
    assert [v for v in result.violations if v.enforcement == "mandatory"] == []


def test_a_service_listing_mongodb_gets_the_endpoint_in_its_config_and_the_credentials_as_a_secret():
    p = plan("prod", with_store({"services.api.secrets": API_SECRETS}))
    cluster = p.one(CLUSTER, "data-docdb")
    data = p.one(CONFIG_MAP, "service-api-config").props["data"]
    host = p.outputs["mongodbHost"]
    assert data["MONGODB_HOST"] == host and data["MONGODB_PORT"] == "27017" and data["MONGODB_TLS"] == "true"
    assert data["MONGODB_URL"].startswith(f"mongodb://{host}:27017/agent_platform?tls=true&replicaSet=rs0")
    assert "@" not in data["MONGODB_URL"]  # no user or password in a ConfigMap
    secret_arn = p.outputs["mongodbSecretArn"]
    assert secret_arn.startswith("arn:aws:secretsmanager:") and cluster.props["manageMasterUserPassword"]
    synced = {d["secretKey"]: d["remoteRef"]["key"]
              for d in p.one(EXTERNAL_SECRET, "service-api-external-secret").props["spec"]["data"]}
    assert synced["mongodb"] == secret_arn
    policy = json.loads(p.one(ROLE_POLICY, "service-api-role-policy").props["policy"])
    reads = next(s for s in policy["Statement"] if s["Sid"] == "ReadOwnSecrets")
    assert secret_arn in reads["Resource"]
    # A service that does not list it sees neither the endpoint nor the secret.
    context = p.one(CONFIG_MAP, "service-context-config").props["data"]
    assert "MONGODB_URL" not in context


def test_the_vm_runtime_fetches_the_mongodb_secret_too():
    p = plan("dev", with_store({**DEDICATED_VM,
                                "services.api.secrets": ["database", "redis", "jwt", "encryption-key", "mongodb"]}))
    assert p.outputs["mongodbSecretArn"].startswith("arn:aws:secretsmanager:")
    scripts = [r for r in p if r.type == "aws:ec2/launchTemplate:LaunchTemplate" and "api" in r.name]
    text = "".join(base64.b64decode(r.props["userData"]).decode() for r in scripts if r.props.get("userData"))
    assert p.outputs["mongodbSecretArn"] in text and "MONGODB_URL=mongodb://" in text


def test_the_cost_estimate_prices_instances_storage_io_and_backup():
    overrides = with_store()
    report = stack_report(plan("prod", overrides), with_paths("prod", overrides))
    lines = [line for line in report.lines if line.price_key.startswith("docdb.")]
    keys = {line.price_key for line in lines}
    assert {"docdb.db.r6g.large", "docdb.storage", "docdb.io", "docdb.backup"} <= keys
    assert all(line.monthly_usd > 0 for line in lines)
    instance_hours = sum(line.quantity for line in lines if line.price_key == "docdb.db.r6g.large")
    assert instance_hours == 3 * 730
    assert not [u for u in report.unpriced if "docdb" in str(u)]
    without = stack_report(plan("prod"), with_paths("prod", {}))
    assert report.total > without.total


@pytest.mark.parametrize(("stack", "store", "key"), [
    ("prod", {"instanceCount": 1}, "dataTier.documentStore.instanceCount"),
    ("staging", {"backupRetentionDays": 3}, "dataTier.documentStore.backupRetentionDays"),
    ("dev", {"instanceClass": "db.m5.large"}, "dataTier.documentStore.instanceClass"),
    ("dev", {"engineVersion": "3.6.0"}, "dataTier.documentStore.engineVersion"),
    ("dev", {"masterUsername": "admin"}, "dataTier.documentStore.masterUsername"),
    ("dev", {"backupWindow": "06:00-07:00", "maintenanceWindow": "sun:06:30-sun:07:30"},
     "dataTier.documentStore.maintenanceWindow"),
])
def test_a_weak_or_invalid_document_store_is_refused_before_anything_is_registered(stack, store, key):
    assert key in str(config_error(stack, with_store(**store)))


def test_a_service_cannot_mount_mongodb_without_a_document_store():
    err = config_error("dev", {"services.api.secrets": ["database", "redis", "mongodb"]})
    assert "services.api.secrets" in str(err) and "documentStore" in str(err)


def test_each_instance_has_a_cpu_alarm_to_the_alert_topic():
    p = docdb_plan("prod")
    alarms = {a.props["dimensions"]["DBInstanceIdentifier"]: a for a in p.of_type(ALARM)
              if a.props.get("namespace") == "AWS/DocDB"}
    assert sorted(alarms) == sorted(i.props["identifier"] for i in p.of_type(INSTANCE))
    assert all(a.props["metricName"] == "CPUUtilization" and a.props["alarmActions"] for a in alarms.values())
    assert not [a for a in plan("prod").of_type(ALARM) if a.props.get("namespace") == "AWS/DocDB"]


def test_only_a_service_that_mounts_mongodb_may_open_connections_to_27017():
    p = plan("prod", with_store({"services.api.secrets": API_SECRETS}))

    def data_ports(service: str) -> set[int]:
        spec = p.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"service-{service}-network-policy").props["spec"]
        return {port["port"] for rule in spec["egress"] if any("ipBlock" in t and t["ipBlock"]["cidr"] != "0.0.0.0/0"
                                                               for t in rule["to"])
                for port in rule["ports"]}
    assert 27017 in data_ports("api")
    assert 27017 not in data_ports("context")


def test_on_vms_the_service_security_group_allows_27017_to_the_data_subnets_only_when_it_mounts_mongodb():
    mounts = {"services.api.secrets": ["database", "redis", "jwt", "encryption-key", "mongodb"]}
    shared = plan("dev", with_store(mounts))
    # The services' rules (the data tier's bootstrap instance and rotation function reach 27017 too).
    on_host = [r for r in shared.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
               if r.props.get("fromPort") == 27017 and not r.name.startswith("data-")]
    assert on_host and all(r.name.startswith("shared-host-") for r in on_host)  # one host, one group
    p = plan("dev", with_store({**DEDICATED_VM,
                                "services.api.secrets": ["database", "redis", "jwt", "encryption-key", "mongodb"]}))
    rules = p.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    # Of the services (the bootstrap instance and the rotation function reach 27017 too; tested with them).
    egress = [r for r in rules if r.props.get("fromPort") == 27017 and r.name.startswith("service-")]
    assert egress and all(r.name.startswith("service-api-") for r in egress)
    postgres = {r.props["cidrIpv4"] for r in rules if r.name.startswith("service-api-") and r.props["fromPort"] == 5432}
    assert {r.props["cidrIpv4"] for r in egress} == postgres  # the data subnets, nothing wider
