"""The new reviewer-class policies on hand-made resources: what passes, what fails, and unknown values.

``test_planted`` proves each policy names a misconfiguration planted in a real plan; these pin the edges of each
rule (conditions that make a "*" principal safe, references that are not secrets, rules scoped by port) and that a
value unknown during preview silences only the finding it affects.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from planning.cli import plan_json
from planning.model import SECRET_SIG, SECRET_SIG_KEY, plan_from_json
from planning.review import load_policy_config, review
from tests.harness import plan
from tests.policies.planting import chain, drop, edit, rewire, set_path
from tests.policies.support import UNKNOWN, found, res, secret

ROLE = "aws:iam/role:Role"
OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC"


def _role(statement: dict[str, Any]) -> Any:
    return res(ROLE, "role", {"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})})


# --- identity ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("statement", "bad"), [
    ({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}, False),
    ({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}, True),
    ({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
      "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}, False),
    ({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
      "Condition": {"StringLike": {"aws:PrincipalOrgID": "*"}}}, True),
    ({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:role/partner"}, "Action": "sts:AssumeRole",
      "Condition": {"StringEquals": {"sts:ExternalId": "b7c1"}}}, False),
    ({"Effect": "Allow", "Principal": {"AWS": "999988887777"}, "Action": "sts:AssumeRole"}, True),
    ({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}, False),
])
def test_trust_principals(statement: dict[str, Any], bad: bool):
    assert bool(found("iam-trust-no-public-or-foreign-principal", _role(statement))) is bad


def test_trusted_accounts_are_configurable():
    role = _role({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                  "Action": "sts:AssumeRole"})
    config = {"iam-trust-no-public-or-foreign-principal": {"trustedAccountIds": ["999988887777"]}}
    assert found("iam-trust-no-public-or-foreign-principal", role) != []
    assert found("iam-trust-no-public-or-foreign-principal", role, config=config) == []


@pytest.mark.parametrize(("condition", "messages"), [
    ({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:agents:api", f"{ISSUER}:aud": "sts.amazonaws.com"}}, 0),
    ({"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}, 1),
    ({"StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*:*"}}, 2),  # wildcard, and no audience
])
def test_irsa_trust(condition: dict[str, Any], messages: int):
    role = _role({"Effect": "Allow", "Principal": {"Federated": OIDC}, "Action": "sts:AssumeRoleWithWebIdentity",
                  "Condition": condition})
    assert len(found("iam-irsa-trust-pinned", role)) == messages


def test_unknown_trust_policy_reports_nothing():
    assert found("iam-irsa-trust-pinned", res(ROLE, "role", {"assumeRolePolicy": UNKNOWN})) == []
    assert found("iam-trust-no-public-or-foreign-principal", res(ROLE, "role", {"assumeRolePolicy": UNKNOWN})) == []


@pytest.mark.parametrize(("statement", "bad"), [
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/prefix/*"}, False),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}, True),
    ({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
      "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"}, True),
    ({"Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"}, False),
    ({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}, True),
    ({"Effect": "Allow", "NotResource": "arn:aws:s3:::x", "Action": "s3:ListBucket"}, True),
])
def test_service_wide_access(statement: dict[str, Any], bad: bool):
    policy = res("aws:iam/policy:Policy", "p", {"policy": json.dumps({"Statement": [statement]})})
    assert bool(found("iam-no-service-wide-access", policy)) is bad


# --- exposure -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("statement", "bad"), [
    ({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
     False),
    ({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish"}, False),
    ({"Effect": "Allow", "Principal": "*", "Action": "sns:Publish",
      "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}, False),
    ({"Effect": "Allow", "Principal": "*", "Action": "sns:Publish",
      "Condition": {"StringNotEquals": {"aws:SourceAccount": "123456789012"}}}, True),
    ({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "ecr:BatchGetImage"}, True),
])
def test_resource_policy_principal(statement: dict[str, Any], bad: bool):
    topic = res("aws:ecr/repositoryPolicy:RepositoryPolicy", "p", {"policy": json.dumps({"Statement": [statement]})})
    assert bool(found("resource-policy-no-public-principal", topic)) is bad


def test_chart_default_service_type_counts_when_values_leave_it_unset():
    release = res("kubernetes:helm.sh/v3:Release", "nginx", {"chart": "ingress-nginx", "values": {}})
    clusterip = res("kubernetes:helm.sh/v3:Release", "nginx", {
        "chart": "ingress-nginx", "values": {"controller": {"service": {"type": "ClusterIP"}}}})
    assert found("helm-chart-no-exposed-service", release) != []
    assert found("helm-chart-no-exposed-service", clusterip) == []


def test_eks_defaults_are_the_unsafe_ones():
    cluster = res("aws:eks/cluster:Cluster", "eks", {"vpcConfig": {}})
    assert found("eks-private-endpoint-enabled", cluster) != []
    assert found("eks-access-entries-only", cluster) != []
    unknown = res("aws:eks/cluster:Cluster", "eks", {"vpcConfig": UNKNOWN, "accessConfig": UNKNOWN})
    assert found("eks-private-endpoint-enabled", unknown) == found("eks-access-entries-only", unknown) == []


# --- secrets in the wrong place ----------------------------------------------------------------------------------


def _template(text: str) -> Any:
    return res("aws:ec2/launchTemplate:LaunchTemplate", "lt", {"userData": base64.b64encode(text.encode()).decode()})


@pytest.mark.parametrize(("text", "bad"), [
    ("PGPASSWORD=$(cat /creds/password)\nSECRETS_DIR=/run/secrets\n", False),
    ("aws secretsmanager get-secret-value --secret-id arn:aws:secretsmanager:us-east-1:1:secret:x\n", False),
    ("export API_TOKEN=3f9a8c7d6e5b4a39\n", True),
    ("REDIS_URL=rediss://default:s3cr3tpw@cache:6379\n", True),
    ("REDIS_URL=rediss://default:${REDIS_PASSWORD}@cache:6379\n", False),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", True),
])
def test_user_data_secrets(text: str, bad: bool):
    assert bool(found("user-data-no-secrets", _template(text))) is bad


def test_secret_user_data_is_read_like_any_other():
    template = res("aws:ec2/launchTemplate:LaunchTemplate", "lt",
                   {"userData": secret(base64.b64encode(b"DB_PASSWORD=hunter2hunter2\n").decode())})
    assert found("user-data-no-secrets", template) != []


def test_credentials_in_any_string_input_but_not_placeholders():
    bad = res("aws:ssm/parameter:Parameter", "p", {"value": "amqp://app:pa55word@mq:5671/vhost"})
    ok = res("aws:ssm/parameter:Parameter", "p", {"value": "postgresql://app@db:5432/app", "other": UNKNOWN})
    assert found("no-credentials-in-urls", bad) != [] and found("no-credentials-in-urls", ok) == []


@pytest.mark.parametrize(("values", "bad"), [
    ({"admin": {"existingSecret": "grafana-admin", "passwordKey": "admin-password"}}, False),
    ({"auth": {"secret": {"name": "redis-exporter", "key": "password"}}}, False),
    ({"adminPassword": "correct-horse"}, True),
    ({"env": [{"name": "SLACK", "value": "xoxb-1234567890-abcdefghij"}]}, True),
])
def test_helm_secret_literals(values: dict[str, Any], bad: bool):
    release = res("kubernetes:helm.sh/v3:Release", "r", {"chart": "grafana", "values": values})
    assert bool(found("helm-values-no-secret-literals", release)) is bad


# --- transit, network policy, reliability, charts --------------------------------------------------------------


def test_parameter_group_tls_applies_to_postgres_only():
    mysql = res("aws:rds/parameterGroup:ParameterGroup", "pg", {"family": "mysql8.0", "parameters": []})
    pg = res("aws:rds/parameterGroup:ParameterGroup", "pg", {"family": "postgres16", "parameters": [
        {"name": "rds.force_ssl", "value": "1"}, {"name": "ssl_min_protocol_version", "value": "TLSv1.3"}]})
    assert found("rds-parameter-group-enforces-tls", mysql) == found("rds-parameter-group-enforces-tls", pg) == []


def test_engine_versions_per_engine():
    valkey = res("aws:elasticache/replicationGroup:ReplicationGroup", "r", {"engine": "valkey", "engineVersion": "7.2"})
    redis62 = res("aws:elasticache/replicationGroup:ReplicationGroup", "r", {"engineVersion": "6.2"})
    redis60 = res("aws:elasticache/replicationGroup:ReplicationGroup", "r", {"engineVersion": "6.0"})
    assert found("data-engine-version-supported", valkey) == found("data-engine-version-supported", redis62) == []
    assert found("data-engine-version-supported", redis60) != []


def test_storage_class_only_for_ebs():
    efs = res("kubernetes:storage.k8s.io/v1:StorageClass", "sc", {"provisioner": "efs.csi.aws.com"})
    ebs = res("kubernetes:storage.k8s.io/v1:StorageClass", "sc", {"provisioner": "ebs.csi.aws.com",
                                                                 "parameters": {"encrypted": "true"}})
    assert found("k8s-storage-class-encrypted", efs) == []
    assert [v.message for v in found("k8s-storage-class-encrypted", ebs)] == [
        "The EBS StorageClass encrypts with the AWS-managed key; set parameters.kmsKeyId to the stack's key."]


@pytest.mark.parametrize(("spec", "bad"), [
    ({"egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}]}, False),
    ({"ingress": [{"ports": [{"port": 10250}]}]}, False),
    ({"ingress": [{}]}, True),
    ({"egress": [{"to": [{"ipBlock": {"cidr": "::/0"}}]}]}, True),
    ({"ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 80}]}]}, True),
])
def test_network_policy_rules(spec: dict[str, Any], bad: bool):
    policy = res("kubernetes:networking.k8s.io/v1:NetworkPolicy", "np", {"metadata": {"namespace": "a"}, "spec": spec})
    assert bool(found("k8s-network-policy-no-allow-all", policy)) is bad


@pytest.mark.parametrize(("spec", "bad"), [
    ({"maxUnavailable": 1}, False), ({"minAvailable": "50%"}, False),
    ({"maxUnavailable": "0%"}, True), ({"minAvailable": "100%"}, True),
])
def test_pdb_eviction(spec: dict[str, Any], bad: bool):
    pdb = res("kubernetes:policy/v1:PodDisruptionBudget", "pdb", {"spec": spec})
    assert bool(found("k8s-pdb-allows-eviction", pdb)) is bad


def test_protected_tier_policies_relax_only_where_configured():
    bucket = res("aws:s3/bucket:Bucket", "b", {"forceDestroy": True})
    relaxed = {"no-force-destroy-in-protected-tiers": {"protectedEnvironment": False}}
    assert found("no-force-destroy-in-protected-tiers", bucket) != []
    assert found("no-force-destroy-in-protected-tiers", bucket, config=relaxed) == []
    dev = load_policy_config("dev")
    for stack in ("staging", "prod"):  # generated from the stack's protect (planning/policy_config.py)
        assert load_policy_config(stack)["no-force-destroy-in-protected-tiers"]["protectedEnvironment"] is True
    assert dev["no-force-destroy-in-protected-tiers"]["protectedEnvironment"] is False


def test_chart_values_nested_per_component():
    values = {"resources": {"operator": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
                            "webhooks": {"limits": {"memory": "64Mi"}}},
              "securityContext": {"webhooks": {"runAsUser": 0}}}
    release = res("kubernetes:helm.sh/v3:Release", "keda", {"chart": "keda", "values": values})
    (violation,) = found("helm-values-resources", release)
    assert "resources.webhooks lacks requests.cpu, requests.memory." in violation.message
    assert "operator" not in violation.message
    assert "securityContext.webhooks.runAsUser=0" in found("helm-values-pod-security", release)[0].message


# --- the saved plan is the live plan ---------------------------------------------------------------------------


def _saved(live: Any) -> Any:
    return plan_from_json(json.loads(json.dumps(plan_json(live), default=str)))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_review_of_a_saved_plan_equals_the_live_review(stack: str):
    # Planted findings that need the property dependency graph (placement, routes) and the Kubernetes
    # provider (namespaces of objects without metadata.namespace), plus secrets masked in the file.
    live = plan(stack)
    if stack == "prod":
        live = chain(
            rewire("aws:eks/nodeGroup:NodeGroup", "cluster-general", "subnetIds",
                   [("aws:ec2/subnet:Subnet", "network-public-0")]),
            drop("kubernetes:networking.k8s.io/v1:NetworkPolicy", "services-default-deny"),
        )(live)
    else:
        live = edit("aws:rds/instance:Instance", "data-postgres",
                    lambda i: set_path(i, "copyTagsToSnapshot", False))(live)
    config = load_policy_config(stack)
    expected = review(live, config)
    saved = _saved(live)
    assert [v.to_json() for v in review(saved, config).violations] == [v.to_json() for v in expected.violations]
    assert expected.violations
    if stack == "prod":
        named = {v.policy for v in expected.mandatory}
        assert {"compute-not-in-public-subnets", "k8s-namespace-default-deny"} <= named
        text = json.dumps(plan_json(live))
        assert "mock-secret-value-of" not in text and f'"{SECRET_SIG_KEY}": "{SECRET_SIG}"' in text


def test_cli_reviews_a_saved_plan(tmp_path: Any, capsys: Any):
    from planning.cli import main

    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(plan_json(plan("dev")), default=str))
    assert main(["--review-plan", str(clean)]) == 0
    broken = edit("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "data-data-ownership",
                  lambda i: set_path(i, "rule.objectOwnership", "ObjectWriter"))(plan("dev"))
    planted = tmp_path / "planted.json"
    planted.write_text(json.dumps(plan_json(broken), default=str))
    assert main(["--review-plan", str(planted), "--sarif", str(tmp_path / "out.sarif")]) == 1
    assert "s3-acls-disabled" in capsys.readouterr().out
    assert "s3-acls-disabled" in (tmp_path / "out.sarif").read_text()
