"""Misconfigurations reviewers catch, planted one at a time into the real dev and prod plans.

For each class (identity, exposure, secrets in the wrong place, transit and versions, network policy content,
safeguards, prod reliability, chart workloads, lower-severity settings) at least two plantings on different
resource types or fields; each must be named by its policy, and the unchanged plan must pass that policy.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest

from planning.model import Plan
from tests.harness import plan
from tests.policies.planting import (
    Change,
    add,
    chain,
    drop,
    edit,
    edit_document,
    edit_first,
    edit_user_data,
    rewire,
    set_path,
    violations,
)

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE = "kubernetes:core/v1:Service"
SUBNET = "aws:ec2/subnet:Subnet"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
EKS = "aws:eks/cluster:Cluster"
PROM = "observability-kube-prometheus-stack"


@dataclass(frozen=True)
class Planting:
    cls: str
    policy: str
    stack: str
    what: str
    change: Change

    @property
    def id(self) -> str:
        return f"{self.cls}:{self.policy}:{self.stack}:{self.what}"


def _values(release: str, path: str, value: Any) -> Change:
    return edit(RELEASE, release, lambda i: set_path(i["values"], path, value))


def _first_statement(change: Any) -> Any:
    return lambda doc: change(doc["Statement"][0])


def _trust(role: str, change: Any) -> Change:
    return edit_document(ROLE, role, "assumeRolePolicy", _first_statement(change))


def _irsa_sub_wildcard(stmt: dict[str, Any]) -> None:
    equals = stmt["Condition"]["StringEquals"]
    sub = next(k for k in equals if k.endswith(":sub"))
    stmt["Condition"]["StringLike"] = {sub: "system:serviceaccount:agents:*"}
    del equals[sub]


def _irsa_no_sub(stmt: dict[str, Any]) -> None:
    equals = stmt["Condition"]["StringEquals"]
    del equals[next(k for k in equals if k.endswith(":sub"))]


def _append_statement(statement: dict[str, Any]) -> Any:
    return lambda doc: doc["Statement"].append(statement)


def _del(path: str) -> Any:
    def change(inputs: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node = inputs
        for key in head:
            node = node[key]
        del node[last]
    return change


def _set(path: str, value: Any) -> Any:
    return lambda inputs: set_path(inputs, path, value)


def _pg_param(name: str, value: str | None) -> Any:
    def change(inputs: dict[str, Any]) -> None:
        params = [p for p in inputs["parameters"] if p["name"] != name]
        if value is not None:
            params.append({"name": name, "value": value, "applyMethod": "immediate"})
        inputs["parameters"] = params
    return change


PLANTINGS = [
    # --- identity -------------------------------------------------------------------------------------------------
    Planting("identity", "iam-trust-no-public-or-foreign-principal", "prod", "star-principal",
             _trust("cluster-node-role", lambda s: s.__setitem__("Principal", {"AWS": "*"}))),
    Planting("identity", "iam-trust-no-public-or-foreign-principal", "dev", "foreign-account",
             _trust("backup-role", lambda s: (s.__setitem__("Principal", {"AWS": "arn:aws:iam::999988887777:root"}),
                                              s.pop("Condition", None)))),
    Planting("identity", "iam-irsa-trust-pinned", "prod", "sub-wildcard",
             _trust("service-api-role", _irsa_sub_wildcard)),
    Planting("identity", "iam-irsa-trust-pinned", "prod", "no-sub", _trust("observability-grafana-role", _irsa_no_sub)),
    Planting("identity", "iam-no-service-wide-access", "prod", "s3-star",
             edit_document(ROLE_POLICY, "service-api-role-policy", "policy",
                           _append_statement({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))),
    Planting("identity", "iam-no-service-wide-access", "prod", "decrypt-every-key",
             edit_document(ROLE_POLICY, "service-worker-role-policy", "policy", _append_statement(
                 {"Effect": "Allow", "Action": "kms:Decrypt",
                  "Resource": "arn:aws:kms:us-east-1:123456789012:key/*"}))),
    Planting("identity", "iam-no-service-wide-access", "dev", "not-action",
             edit_document(ROLE_POLICY, "service-api-role-service", "policy", _append_statement(
                 {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))),
    Planting("identity", "iam-no-privileged-managed-policies", "prod", "s3-full-access",
             edit(ATTACHMENT, "cluster-node-ssm", _set("policyArn", "arn:aws:iam::aws:policy/AmazonS3FullAccess"))),
    Planting("identity", "iam-no-privileged-managed-policies", "dev", "power-user",
             edit(ATTACHMENT, "shared-host-role-ssm", _set("policyArn", "arn:aws:iam::aws:policy/PowerUserAccess"))),
    # --- exposure -------------------------------------------------------------------------------------------------
    Planting("exposure", "k8s-service-not-exposed", "prod", "load-balancer",
             edit(SERVICE, "service-api-service", _set("spec.type", "LoadBalancer"))),
    Planting("exposure", "k8s-service-not-exposed", "prod", "external-ips",
             edit(SERVICE, "service-worker-service", _set("spec.externalIPs", ["203.0.113.10"]))),
    Planting("exposure", "helm-chart-no-exposed-service", "prod", "grafana-lb",
             _values(PROM, "grafana.service.type", "LoadBalancer")),
    Planting("exposure", "helm-chart-no-exposed-service", "prod", "nlb-annotation",
             _values("observability-postgres-exporter",
                     "service.annotations.[service.beta.kubernetes.io/aws-load-balancer-scheme]", "internet-facing")),
    Planting("exposure", "resource-policy-no-public-principal", "prod", "sns-star",
             edit_document("aws:sns/topicPolicy:TopicPolicy", "alerts-policy", "policy",
                           _first_statement(lambda s: (s.__setitem__("Principal", "*"), s.pop("Condition"))))),
    Planting("exposure", "resource-policy-no-public-principal", "dev", "s3-allow-star",
             edit_document("aws:s3/bucketPolicy:BucketPolicy", "data-data-policy", "policy", _append_statement(
                 {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
                  "Resource": "arn:aws:s3:::data/*"}))),
    Planting("exposure", "isolated-subnet-no-internet-route", "prod", "nat-route",
             add("aws:ec2/route:Route", "network-isolated-default",
                 {"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "network-nat-0-id",
                  "routeTableId": "network-isolated-rt-id"},
                 {"natGatewayId": [("aws:ec2/natGateway:NatGateway", "network-nat-0")],
                  "routeTableId": [("aws:ec2/routeTable:RouteTable", "network-isolated-rt")]})),
    Planting("exposure", "isolated-subnet-no-internet-route", "dev", "public-table",
             rewire("aws:ec2/routeTableAssociation:RouteTableAssociation", "network-isolated-0-rta", "routeTableId",
                    [("aws:ec2/routeTable:RouteTable", "network-public-rt")])),
    Planting("exposure", "compute-not-in-public-subnets", "prod", "node-group",
             rewire("aws:eks/nodeGroup:NodeGroup", "cluster-general", "subnetIds",
                    [(SUBNET, "network-public-0"), (SUBNET, "network-public-1")])),
    Planting("exposure", "compute-not-in-public-subnets", "dev", "asg",
             rewire("aws:autoscaling/group:Group", "shared-host-asg", "vpcZoneIdentifiers",
                    [(SUBNET, "network-public-0")])),
    Planting("exposure", "subnet-no-auto-public-ip", "prod", "public-subnet",
             edit(SUBNET, "network-public-0", _set("mapPublicIpOnLaunch", True))),
    Planting("exposure", "subnet-no-auto-public-ip", "dev", "private-subnet",
             edit(SUBNET, "network-private-0", _set("mapPublicIpOnLaunch", True))),
    Planting("exposure", "eks-private-endpoint-enabled", "prod", "private-off",
             edit(EKS, "cluster-eks", _set("vpcConfig.endpointPrivateAccess", False))),
    Planting("exposure", "eks-access-entries-only", "prod", "config-map",
             edit(EKS, "cluster-eks", _set("accessConfig.authenticationMode", "API_AND_CONFIG_MAP"))),
    Planting("exposure", "alb-waf-fail-closed", "prod", "fail-open",
             edit("aws:lb/loadBalancer:LoadBalancer", "edge-alb", _set("enableWafFailOpen", True))),
    Planting("exposure", "s3-acls-disabled", "prod", "object-writer",
             edit("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "data-data-ownership",
                  _set("rule.objectOwnership", "ObjectWriter"))),
    Planting("exposure", "s3-acls-disabled", "dev", "bucket-acl",
             add("aws:s3/bucketAclV2:BucketAclV2", "data-logs-acl",
                 {"bucket": "data-logs-id", "acl": "log-delivery-write"},
                 {"bucket": [("aws:s3/bucket:Bucket", "data-logs")]})),
    # --- secrets in the wrong place -------------------------------------------------------------------------------
    Planting("secrets", "user-data-no-secrets", "dev", "password-literal",
             edit_user_data("aws:ec2/launchTemplate:LaunchTemplate", "shared-host-template",
                            lambda t: t + "\nexport DB_PASSWORD=hunter2hunter2\n")),
    Planting("secrets", "user-data-no-secrets", "prod", "access-key",
             edit("aws:ec2/launchTemplate:LaunchTemplate", "cluster-general-lt", _set("userData", base64.b64encode(
                 b"#!/bin/sh\naws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE\n").decode()))),
    Planting("secrets", "no-credentials-in-urls", "prod", "configmap",
             edit("kubernetes:core/v1:ConfigMap", "service-api-config",
                  _set("data.DATABASE_URL", "postgresql://app:Sup3rS3cret@db.internal:5432/app"))),
    Planting("secrets", "no-credentials-in-urls", "prod", "chart-value",
             _values("observability-postgres-exporter", "config.datasource.host",
                     "rediss://default:Sup3rS3cret@cache:6379")),
    Planting("secrets", "helm-values-no-secret-literals", "prod", "grafana-admin-password",
             _values(PROM, "grafana.adminPassword", "correct-horse-battery")),
    Planting("secrets", "helm-values-no-secret-literals", "prod", "exporter-password",
             _values("observability-postgres-exporter", "config.datasource.password", "Sup3rS3cretValue")),
    # --- encryption in transit and versions -----------------------------------------------------------------------
    Planting("transit", "rds-parameter-group-enforces-tls", "prod", "force-ssl-off",
             edit("aws:rds/parameterGroup:ParameterGroup", "data-postgres-params", _pg_param("rds.force_ssl", "0"))),
    Planting("transit", "rds-parameter-group-enforces-tls", "dev", "no-tls-minimum",
             edit("aws:rds/parameterGroup:ParameterGroup", "data-postgres-params",
                  _pg_param("ssl_min_protocol_version", None))),
    Planting("transit", "rds-custom-parameter-group", "prod", "default-group",
             edit(RDS, "data-postgres", _set("parameterGroupName", "default.postgres16"))),
    Planting("transit", "data-engine-version-supported", "prod", "postgres-13",
             edit(RDS, "data-postgres", _set("engineVersion", "13.15"))),
    Planting("transit", "data-engine-version-supported", "dev", "redis-5",
             edit(REDIS, "data-redis", lambda i: i.update(engine="redis", engineVersion="5.0.6"))),
    Planting("transit", "rds-ca-current", "prod", "ca-2019",
             edit(RDS, "data-postgres", _set("caCertIdentifier", "rds-ca-2019"))),
    Planting("transit", "k8s-storage-class-encrypted", "prod", "unencrypted-default",
             edit("kubernetes:storage.k8s.io/v1:StorageClass", "cluster-gp3", _set("parameters.encrypted", "false"))),
    # --- network policy content -----------------------------------------------------------------------------------
    Planting("netpol", "k8s-namespace-default-deny", "prod", "deny-removed", drop(NETPOL, "services-default-deny")),
    Planting("netpol", "k8s-namespace-default-deny", "prod", "deny-narrowed",
             edit(NETPOL, "observability-node-agents-ingress",
                  _set("spec.podSelector", {"matchLabels": {"app.kubernetes.io/name": "x"}}))),
    Planting("netpol", "k8s-network-policy-no-allow-all", "prod", "empty-ingress-rule",
             edit(NETPOL, "service-api-network-policy", lambda i: i["spec"]["ingress"].append({}))),
    Planting("netpol", "k8s-network-policy-no-allow-all", "prod", "open-egress",
             edit(NETPOL, "service-worker-network-policy",
                  lambda i: i["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}))),
    Planting("netpol", "data-store-egress-restricted", "prod", "egress-rule",
             add("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "data-postgres-egress-all",
                 {"securityGroupId": "data-postgres-sg-id", "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
                 {"securityGroupId": [("aws:ec2/securityGroup:SecurityGroup", "data-postgres-sg")]})),
    Planting("netpol", "data-store-egress-restricted", "dev", "inline-egress",
             edit("aws:ec2/securityGroup:SecurityGroup", "data-redis-sg", _set(
                 "egress", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]))),
    # --- safeguards that must exist -------------------------------------------------------------------------------
    Planting("safeguards", "budget-exists", "prod", "budget-removed", drop("aws:budgets/budget:Budget")),
    Planting("safeguards", "budget-exists", "staging", "budget-removed", drop("aws:budgets/budget:Budget")),
    Planting("safeguards", "backup-safeguards-present", "prod", "vault-policy-removed",
             drop("aws:backup/vaultPolicy:VaultPolicy", "backup-vault-policy")),
    Planting("safeguards", "backup-safeguards-present", "prod", "notifications-removed",
             drop("aws:backup/vaultNotifications:VaultNotifications")),
    Planting("safeguards", "backup-safeguards-present", "prod", "failure-rule-removed",
             drop("aws:cloudwatch/eventRule:EventRule", "backup-job-failures")),
    Planting("safeguards", "backup-safeguards-present", "prod", "restore-tests-removed",
             drop("aws:backup/restoreTestingPlan:RestoreTestingPlan")),
    Planting("safeguards", "monitoring-safeguards-present", "prod", "storage-alarm-removed",
             drop("aws:cloudwatch/metricAlarm:MetricAlarm", "observability-alarm-rds-free-storage")),
    Planting("safeguards", "monitoring-safeguards-present", "prod", "alert-rules-removed",
             drop("kubernetes:monitoring.coreos.com/v1:PrometheusRule")),
    Planting("safeguards", "monthly-cost-budget", "prod", "unpriced-node-type",
             edit("aws:eks/nodeGroup:NodeGroup", "cluster-general", _set("instanceTypes", ["x9z.48xlarge"]))),
    Planting("safeguards", "monthly-cost-budget", "staging", "unpriced-db-class",
             edit(RDS, "data-postgres", _set("instanceClass", "db.x9z.48xlarge"))),
    # --- prod reliability -----------------------------------------------------------------------------------------
    Planting("reliability", "no-force-destroy-in-protected-tiers", "prod", "bucket",
             edit("aws:s3/bucket:Bucket", "data-data", _set("forceDestroy", True))),
    Planting("reliability", "no-force-destroy-in-protected-tiers", "prod", "repository",
             edit("aws:ecr/repository:Repository", "service-api-repo", _set("forceDelete", True))),
    Planting("reliability", "secret-recovery-window", "prod", "zero-window",
             edit("aws:secretsmanager/secret:Secret", "data-jwt-secret", _set("recoveryWindowInDays", 0))),
    Planting("reliability", "eks-deletion-protection", "prod", "off",
             edit(EKS, "cluster-eks", _set("deletionProtection", False))),
    Planting("reliability", "rds-keep-automated-backups", "prod", "deleted-with-instance",
             edit(RDS, "data-postgres", _set("deleteAutomatedBackups", True))),
    Planting("reliability", "nat-gateway-per-az", "prod", "single-nat",
             drop("aws:ec2/natGateway:NatGateway", "network-nat-1", "network-nat-2")),
    Planting("reliability", "k8s-workload-min-replicas", "prod", "hpa-min-one",
             edit("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "service-api-hpa", _set("spec.minReplicas", 1))),
    Planting("reliability", "k8s-workload-min-replicas", "prod", "keda-min-zero",
             edit("kubernetes:keda.sh/v1alpha1:ScaledObject", "service-worker-scaled-object",
                  _del("spec.minReplicaCount"))),
    Planting("reliability", "k8s-pdb-allows-eviction", "prod", "max-unavailable-zero",
             edit("kubernetes:policy/v1:PodDisruptionBudget", "service-api-pdb", _set("spec.maxUnavailable", 0))),
    Planting("reliability", "k8s-pdb-below-replicas", "prod", "min-available-all",
             edit("kubernetes:policy/v1:PodDisruptionBudget", "service-context-pdb",
                  lambda i: (i["spec"].pop("maxUnavailable"), i["spec"].__setitem__("minAvailable", 2)))),
    # --- chart workloads ------------------------------------------------------------------------------------------
    Planting("charts", "helm-values-pod-security", "prod", "keda-escalation",
             _values("services-keda", "securityContext.operator.allowPrivilegeEscalation", True)),
    Planting("charts", "helm-values-pod-security", "prod", "exporter-root",
             _values("observability-postgres-exporter", "podSecurityContext.runAsUser", 0)),
    Planting("charts", "helm-values-resources", "prod", "operator-resources-removed",
             edit(RELEASE, PROM, lambda i: i["values"]["prometheusOperator"].pop("resources"))),
    Planting("charts", "helm-values-resources", "prod", "keda-resources-removed",
             edit(RELEASE, "services-keda", lambda i: i["values"].pop("resources"))),
    Planting("charts", "grafana-no-anonymous-access", "prod", "anonymous",
             _values(PROM, "grafana.[grafana.ini].[auth.anonymous].enabled", True)),
    Planting("charts", "grafana-no-anonymous-access", "prod", "env",
             _values(PROM, "grafana.env.GF_AUTH_ANONYMOUS_ENABLED", "true")),
    Planting("charts", "helm-no-internal-ui-ingress", "prod", "alertmanager",
             _values(PROM, "alertmanager.ingress.enabled", True)),
    Planting("charts", "helm-no-internal-ui-ingress", "prod", "prometheus",
             _values(PROM, "prometheus.ingress.enabled", True)),
    # The EKS edge has no Ingress (ALB rules and TargetGroupBindings): the planted one is added by hand.
    Planting("charts", "ingress-no-snippet-annotations", "prod", "ingress-annotation",
             add("kubernetes:networking.k8s.io/v1:Ingress", "hand-made-ingress", {
                 "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": {"name": "hand-made", "namespace": "agents", "annotations": {
                     "nginx.ingress.kubernetes.io/configuration-snippet": "more_set_headers x;"}},
                 "spec": {"ingressClassName": "nginx", "rules": [{"host": "x.agents.example.com"}]}}, {})),
    Planting("charts", "helm-chart-not-retired", "prod", "ingress-nginx-back",
             add(RELEASE, "edge-ingress-nginx-release", {
                 "chart": "ingress-nginx", "version": "4.14.1", "namespace": "ingress-nginx",
                 "repositoryOpts": {"repo": "https://kubernetes.github.io/ingress-nginx"}, "values": {}}, {})),
    Planting("exposure", "target-group-binding-ip", "prod", "controller-security-groups",
             edit_first("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", _set(
                 "spec.networking", {"ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                                                  "ports": [{"port": 8000, "protocol": "TCP"}]}]}))),
    Planting("lower", "alb-security-headers", "prod", "hsts-removed",
             edit("aws:lb/listener:Listener", "edge-https",
                  lambda i: i.pop("routingHttpResponseStrictTransportSecurityHeaderValue"))),
    Planting("charts", "ingress-no-snippet-annotations", "prod", "controller-allows",
             add(RELEASE, "extra-ingress-nginx", {
                 "chart": "ingress-nginx", "version": "4.14.1", "namespace": "ingress",
                 "repositoryOpts": {"repo": "https://kubernetes.github.io/ingress-nginx"},
                 "values": {"controller": {"allowSnippetAnnotations": True,
                                           "service": {"type": "ClusterIP"}}}}, {})),
    # --- lower ----------------------------------------------------------------------------------------------------
    Planting("lower", "rds-copy-tags-to-snapshot", "prod", "off",
             edit(RDS, "data-postgres", _set("copyTagsToSnapshot", False))),
    Planting("lower", "rds-enhanced-monitoring", "dev", "off",
             edit(RDS, "data-postgres", _set("monitoringInterval", 0))),
    Planting("lower", "elasticache-log-delivery", "prod", "slow-log-removed",
             edit(REDIS, "data-redis", lambda i: i["logDeliveryConfigurations"].pop(0))),
    Planting("lower", "elasticache-auto-minor-upgrade", "prod", "off",
             edit(REDIS, "data-redis", _set("autoMinorVersionUpgrade", False))),
    Planting("lower", "alb-desync-mitigation", "prod", "monitor",
             edit("aws:lb/loadBalancer:LoadBalancer", "edge-alb", _set("desyncMitigationMode", "monitor"))),
    Planting("lower", "waf-metrics-enabled", "prod", "acl",
             edit("aws:wafv2/webAcl:WebAcl", "edge-waf", _set("visibilityConfig.cloudwatchMetricsEnabled", False))),
    Planting("lower", "waf-metrics-enabled", "staging", "rule",
             edit("aws:wafv2/webAcl:WebAcl", "edge-waf",
                  lambda i: i["rules"][0]["visibilityConfig"].__setitem__("cloudwatchMetricsEnabled", False))),
    Planting("lower", "acm-certificate-transparency-logging", "prod", "disabled",
             edit("aws:acm/certificate:Certificate", "edge-certificate",
                  _set("options.certificateTransparencyLoggingPreference", "DISABLED"))),
    Planting("lower", "target-group-health-check", "prod", "no-path",
             edit("aws:lb/targetGroup:TargetGroup", "edge-api-targets", _del("healthCheck.path"))),
    Planting("lower", "target-group-health-check", "staging", "disabled",
             edit("aws:lb/targetGroup:TargetGroup", "edge-api-targets", _set("healthCheck.enabled", False))),
    # --- the shared VM host and the private edge (dev), last so the indices above stay put ---------------------
    # The shared VM host (dev): its role assumes any role; a placed service role trusts another account's role.
    Planting("identity", "vm-shared-host-assumes-placed-roles-only", "dev", "assume-any",
             edit_document(ROLE_POLICY, "shared-host-role-host", "policy",
                           _first_statement(lambda stmt: stmt.__setitem__("Resource", "*")))),
    Planting("identity", "vm-shared-service-trust", "dev", "foreign-principal",
             chain(_trust("service-api-role", lambda stmt: stmt.__setitem__(
                 "Principal", {"AWS": "arn:aws:iam::999988887777:role/elsewhere"})),
                   rewire(ROLE, "service-api-role", "assumeRolePolicy", []))),
    Planting("exposure", "vm-shared-host-isolation", "dev", "host-network",
             edit_user_data("aws:ec2/launchTemplate:LaunchTemplate", "shared-host-template",
                            lambda t: t.replace("--network agents", "--network host", 1))),
    Planting("exposure", "vm-shared-host-isolation", "dev", "metadata-reachable",
             edit_user_data("aws:ec2/launchTemplate:LaunchTemplate", "shared-host-template",
                            lambda t: t.replace("-d 169.254.169.254/32 -j DROP", "-j RETURN"))),
    Planting("exposure", "edge-matches-exposure", "dev", "open-ingress",
             add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "shared-host-from-anywhere",
                 {"securityGroupId": "sg-1", "cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 8000,
                  "toPort": 8000}, {"securityGroupId": [("aws:ec2/securityGroup:SecurityGroup", "shared-host-sg")]})),
]


@pytest.mark.parametrize("planting", PLANTINGS, ids=[p.id for p in PLANTINGS])
def test_planted_misconfiguration_is_named_by_its_policy(planting: Planting):
    clean = plan(planting.stack)
    assert violations(clean, planting.policy) == [], f"{planting.policy} fails the unchanged {planting.stack} plan"
    planted: Plan = planting.change(clean)
    found = violations(planted, planting.policy)
    assert found and all(v.enforcement == "mandatory" for v in found), planting.id


def test_every_class_plants_two_misconfigurations_on_different_fields_or_types():
    classes: dict[str, list[Planting]] = {}
    for planting in PLANTINGS:
        classes.setdefault(planting.cls, []).append(planting)
    assert set(classes) == {"identity", "exposure", "secrets", "transit", "netpol", "safeguards", "reliability",
                            "charts", "lower"}
    for cls, plantings in classes.items():
        assert len({(p.policy, p.what) for p in plantings}) >= 2, cls
        assert len({p.policy for p in plantings}) >= 2 or cls == "safeguards", cls


def test_plantings_compose_and_each_is_reported_once_per_policy():
    # Two plantings of different classes in one plan: each policy names its own, neither masks the other.
    both = chain(PLANTINGS[0].change, PLANTINGS[9].change)(plan("prod"))
    assert violations(both, PLANTINGS[0].policy) and violations(both, PLANTINGS[9].policy)
