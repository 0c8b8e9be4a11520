"""Document store policies, planted one misconfiguration at a time into real plans with a DocumentDB cluster.

Each policy passes the plan as the program builds it (also with preview's unknown values) and names the
planted misconfiguration: no TLS, TLS 1.0 allowed, no encryption or an AWS-managed key, short backups,
no deletion protection, missing log exports, a program-set master password, and an open security group.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from planning.model import Plan
from tests.harness import plan
from tests.policies.planting import add, chain, edit, find, violations

CLUSTER = "aws:docdb/cluster:Cluster"
PARAMS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
STORE = {"dataTier.documentStore": {"engine": "documentdb"}}


def _tls(value: str | None):
    def change(inputs: dict[str, Any]) -> None:
        rest = [p for p in inputs["parameters"] if p["name"] != "tls"]
        inputs["parameters"] = rest if value is None else [*rest, {"name": "tls", "value": value}]
    return edit(PARAMS, "data-docdb-params", change)


def _cluster(**changes: Any):
    def change(inputs: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is None:
                inputs.pop(key, None)
            else:
                inputs[key] = value
    return edit(CLUSTER, "data-docdb", change)


PLANTINGS = [
    ("docdb-tls-required", "prod", "tls disabled", _tls("disabled")),
    ("docdb-tls-required", "dev", "tls 1.0 accepted", _tls("enabled")),
    ("docdb-tls-required", "prod", "tls left at the family default", _tls(None)),
    ("docdb-storage-encrypted-cmk", "prod", "unencrypted", _cluster(storageEncrypted=False)),
    ("docdb-storage-encrypted-cmk", "dev", "AWS-managed key", _cluster(kmsKeyId=None)),
    ("docdb-backup-retention", "prod", "one day of backups", _cluster(backupRetentionPeriod=1)),
    ("docdb-backup-retention", "dev", "no backup day at all", _cluster(backupRetentionPeriod=0)),
    ("docdb-deletion-protection", "prod", "no deletion protection", _cluster(deletionProtection=False)),
    ("docdb-deletion-protection", "staging", "no final snapshot", _cluster(skipFinalSnapshot=True)),
    ("docdb-log-exports", "dev", "no audit log", _cluster(enabledCloudwatchLogsExports=["profiler"])),
    ("docdb-managed-master-password", "prod", "password in the program",
     _cluster(manageMasterUserPassword=None, masterPassword="hunter2hunter2")),
    ("data-store-ingress-from-security-groups-only", "prod", "open to the internet",
     add(INGRESS, "docdb-from-anywhere", {"ipProtocol": "tcp", "fromPort": 27017, "toPort": 27017,
                                          "cidrIpv4": "0.0.0.0/0"},
         {"securityGroupId": [(SG, "data-docdb-sg")]})),
    ("data-store-ingress-from-security-groups-only", "dev", "every port from a workload group",
     edit(INGRESS, "data-docdb-from-vm-workloads", lambda i: i.update(ipProtocol="-1", fromPort=0, toPort=0))),
]


@pytest.mark.parametrize(("policy", "stack", "what", "change"), PLANTINGS,
                         ids=[f"{p}:{s}:{w}" for p, s, w, _ in PLANTINGS])
def test_a_planted_document_store_misconfiguration_fails_the_review(policy, stack, what, change):
    base = plan(stack, STORE)
    assert violations(base, policy) == [], f"{policy} already fails the unchanged {stack} plan"
    found = violations(change(base), policy)
    assert found, f"{policy} missed: {what}"
    assert all(v.enforcement == "mandatory" for v in found)


@pytest.mark.parametrize("policy", sorted({p for p, *_ in PLANTINGS}))
def test_document_store_policies_report_nothing_on_preview_unknowns(policy: str):
    assert violations(plan("prod", PREVIEWED, preview=True), policy) == []


def test_backup_coverage_names_a_document_store_outside_the_selection():
    base = plan("prod", STORE)
    assert violations(base, "backup-coverage") == []
    tags = base.one(CLUSTER, "data-docdb").inputs["tags"]
    untagged = _cluster(tags={k: v for k, v in tags.items() if k != "backup-plan"})
    assert violations(untagged(base), "backup-coverage")
    def no_clusters(i: dict[str, Any]) -> None:
        i.update(resources=[r for r in i["resources"] if ":cluster:" not in r])

    # Both selections that take the cluster: the daily one and, with a DR region, the hourly DR-copy one.
    narrowed = [edit("aws:backup/selection:Selection", name, no_clusters)
                for name in ("backup-selection", "backup-hourly-documentdb-selection")]
    assert violations(chain(*narrowed)(base), "backup-coverage")


# --- OpenSearch (observability.logSearch) ----------------------------------------------------------------------

DOMAIN = "aws:opensearch/domain:Domain"
SEARCH = {"observability.logSearch": {"enabled": True}}


def _domain(path: str, value: Any):
    def change(inputs: dict[str, Any]) -> None:
        node = inputs
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return edit(DOMAIN, "observability-log-search", change)


SEARCH_PLANTINGS = [
    ("opensearch-vpc-only", "prod", "public endpoint", _domain("vpcOptions", None)),
    ("opensearch-vpc-only", "staging", "no security group", _domain("vpcOptions.securityGroupIds", [])),
    ("opensearch-encrypted-at-rest-cmk", "prod", "unencrypted", _domain("encryptAtRest.enabled", False)),
    ("opensearch-encrypted-at-rest-cmk", "staging", "AWS-managed key", _domain("encryptAtRest.kmsKeyId", None)),
    ("opensearch-node-to-node-encryption", "prod", "plain text between nodes",
     _domain("nodeToNodeEncryption.enabled", False)),
    ("opensearch-https-tls12", "prod", "HTTP allowed", _domain("domainEndpointOptions.enforceHttps", False)),
    ("opensearch-https-tls12", "staging", "TLS 1.0 policy",
     _domain("domainEndpointOptions.tlsSecurityPolicy", "Policy-Min-TLS-1-0-2019-07")),
    ("opensearch-fine-grained-access-control", "prod", "no fine-grained access control",
     _domain("advancedSecurityOptions.enabled", False)),
    ("opensearch-fine-grained-access-control", "staging", "internal users with passwords",
     _domain("advancedSecurityOptions.internalUserDatabaseEnabled", True)),
    ("opensearch-log-publishing", "prod", "no audit log", _domain("logPublishingOptions", [])),
    ("data-store-ingress-from-security-groups-only", "prod", "domain open to an address range",
     add(INGRESS, "log-search-from-anywhere", {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                                               "cidrIpv4": "10.0.0.0/8"},
         {"securityGroupId": [(SG, "observability-log-search-sg")]})),
]


@pytest.mark.parametrize(("policy", "stack", "what", "change"), SEARCH_PLANTINGS,
                         ids=[f"{p}:{s}:{w}" for p, s, w, _ in SEARCH_PLANTINGS])
def test_a_planted_log_search_misconfiguration_fails_the_review(policy, stack, what, change):
    base = plan(stack, SEARCH)
    assert violations(base, policy) == [], f"{policy} already fails the unchanged {stack} plan"
    found = violations(change(base), policy)
    assert found, f"{policy} missed: {what}"


@pytest.mark.parametrize("policy", sorted({p for p, *_ in SEARCH_PLANTINGS}))
def test_log_search_policies_report_nothing_on_preview_unknowns(policy: str):
    assert violations(plan("prod", PREVIEWED, preview=True), policy) == []


def test_tls_12_without_forward_secrecy_is_refused_by_default():
    base = plan("prod", SEARCH)
    weak = _domain("domainEndpointOptions.tlsSecurityPolicy", "Policy-Min-TLS-1-2-2019-07")(base)
    assert violations(weak, "opensearch-https-tls12")


# --- docdb-master-secret-bootstrap-only -------------------------------------------------------------------------

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
# The api service adds the mongodb secret to its own (tests/test_document_store.py plans the same stack).
MOUNTS_MONGODB = {**STORE, "services.api.secrets": ["database", "redis", "jwt", "encryption-key", "openai", "mongodb"]}
# prod in preview with every store of this file at once (the document store the api mounts, the log search domain):
# each preview test asks only its own policies, so the three share one plan.
PREVIEWED = {**MOUNTS_MONGODB, **SEARCH}
MASTER = "docdb-master-secret-bootstrap-only"


def _master_arn(base) -> str:
    """The cluster's managed master secret, as the bootstrap's policy names it (planning/mock_outputs.py)."""
    bootstrap = next(r for r in base.of_type(ROLE_POLICY) if r.name.startswith("data-bootstrap-"))
    statements = json.loads(bootstrap.props["policy"])["Statement"]
    reads = next(s for s in statements if s["Sid"] == "ReadBootstrapCredentials")
    return next(arn for arn in reads["Resource"] if ":secret:rds!cluster-" in arn)


def _from_cluster(type_: str, name: str, prop: str, change) -> Any:
    """Edit a resource so that ``prop`` carries a value of the DocumentDB cluster, as the engine would record it."""
    def apply(base):
        edited = edit(type_, name, lambda inputs: change(inputs, _master_arn(base)))(base)
        res = find(edited, type_, name)
        cluster = find(edited, CLUSTER, "data-docdb").urn
        by_prop = {**res.property_dependencies, prop: (*res.property_dependencies.get(prop, ()), cluster)}
        deps = tuple(dict.fromkeys((*res.dependencies, cluster)))
        return Plan(edited.stack, [dataclasses.replace(r, property_dependencies=by_prop, dependencies=deps)
                                   if r is res else r for r in edited.resources], edited.outputs)
    return apply


def _read_master(inputs: dict[str, Any], master: str) -> None:
    document = json.loads(inputs["policy"])
    next(s for s in document["Statement"] if s["Sid"] == "ReadOwnSecrets")["Resource"].append(master)
    inputs["policy"] = json.dumps(document)


def _sync_master(inputs: dict[str, Any], master: str) -> None:
    for entry in inputs["spec"]["data"]:
        if entry["secretKey"] == "mongodb":
            entry["remoteRef"]["key"] = master


def _env_master(inputs: dict[str, Any], master: str) -> None:
    container = inputs["spec"]["template"]["spec"]["containers"][0]
    container.setdefault("env", []).append({"name": "MONGODB_SECRET_ARN", "value": master})


def _untag(inputs: dict[str, Any]) -> None:
    inputs["tags"] = {k: v for k, v in inputs["tags"].items() if k != "agent-platform/role"}


MASTER_PLANTINGS = [
    ("prod", "a service role reads the master secret",
     _from_cluster(ROLE_POLICY, "service-api-role-policy", "policy", _read_master)),
    ("dev", "a VM service role reads the master secret",
     _from_cluster(ROLE_POLICY, "service-api-role-service", "policy", _read_master)),
    ("prod", "a service's ExternalSecret syncs the master secret",
     _from_cluster(EXTERNAL_SECRET, "service-api-external-secret", "spec", _sync_master)),
    ("prod", "a service's environment names the master secret",
     _from_cluster(DEPLOYMENT, "service-api-deployment", "spec", _env_master)),
    ("prod", "the role reading it is not tagged as the bootstrap's", edit(ROLE, "data-bootstrap-role", _untag)),
    ("dev", "the VM role reading it is not tagged as the bootstrap's",
     edit(ROLE, "data-bootstrap-instance-role", _untag)),
]


@pytest.mark.parametrize(("stack", "what", "change"), MASTER_PLANTINGS, ids=[w for _, w, _ in MASTER_PLANTINGS])
def test_only_the_bootstrap_may_read_the_documentdb_master_secret(stack: str, what: str, change):
    base = plan(stack, MOUNTS_MONGODB)
    assert violations(base, MASTER) == [], f"{MASTER} already fails the unchanged {stack} plan"
    found = violations(change(base), MASTER)
    assert found, f"{MASTER} missed: {what}"
    assert all(v.enforcement == "mandatory" for v in found)


def test_the_master_secret_policy_reports_nothing_on_preview_unknowns():
    assert violations(plan("prod", PREVIEWED, preview=True), MASTER) == []
