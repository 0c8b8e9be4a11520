"""The database bootstrap: an idempotent Kubernetes Job that creates the application database and role.

The database is reachable only from inside the VPC, so the Job runs in the cluster, in its own
PSA-restricted namespace behind a default-deny NetworkPolicy. No credential enters a manifest: an init
container with an IRSA role that may read exactly two secrets (the RDS-managed master secret and the
application secret) writes them to a memory-backed volume, and psql converges the database as the master
user. The Job's name carries a hash of the script and its inputs, so any relevant change runs it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.core import iam
from components.core.context import StackContext
from components.core.irsa import OidcIssuer, service_account_role
from components.core.namespace import RUN_AS, kubernetes_provider, restricted_namespace
from components.core.templates import template_text
from components.data.naming import COMPONENT, POSTGRES_PORT
from config.data import DataTierConfig

NAME = "db-bootstrap"
SERVICE_ACCOUNT = "db-bootstrap"
IRSA_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
CREDENTIALS_DIR = "/creds"
ACTIVE_DEADLINE_SECONDS = 1800  # first runs wait for IAM propagation and image pulls

# The scripts both runtimes run (templates/, stored verbatim: no placeholders, values arrive as environment).
TEMPLATES = Path(__file__).parent / "templates"
FETCH_LOGINS = template_text(TEMPLATES, "fetch-logins.sh")
BOOTSTRAP = template_text(TEMPLATES, "bootstrap.sh")
SQL = template_text(TEMPLATES, "bootstrap.sql")


@dataclass(frozen=True)
class BootstrapInputs:
    """What the Job connects to and which secrets it may read."""

    host: pulumi.Input[str]
    master_secret_arn: pulumi.Input[str]
    app_secret_arn: pulumi.Input[str]
    app_secret_version: pulumi.Input[str]
    monitor_secret_arn: pulumi.Input[str]
    monitor_secret_version: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]
    database_cidrs: Sequence[str]
    after: Sequence[pulumi.Resource]


def script_digest(parts: Sequence[Any]) -> str:
    """SHA-256 of the scripts and every input they run with: both runtimes re-run the bootstrap when it changes."""
    return hashlib.sha256(json.dumps([BOOTSTRAP, FETCH_LOGINS, SQL, *parts]).encode()).hexdigest()


def job_name(parts: Sequence[Any]) -> str:
    """``db-bootstrap-<hash>``: a new name, so a new run, whenever the script or any input changes."""
    return f"{NAME}-{script_digest(parts)[:10]}"


def script_files() -> dict[str, str]:
    """The files both runtimes install under /scripts, by file name."""
    return {"bootstrap.sql": SQL, "bootstrap.sh": BOOTSTRAP, "fetch-logins.sh": FETCH_LOGINS}


def static_inputs(config: DataTierConfig, *extra: Any) -> list[Any]:
    """Config values the run depends on (part of the digest); ``extra`` adds the runtime's own."""
    pg, cfg = config.postgres, config.bootstrap
    return [cfg.ca_bundle_url, pg.database_name, pg.app_username, pg.app_connection_limit, pg.monitor_username,
            *extra]


def credential_statements(inputs: BootstrapInputs, region: str) -> list[dict[str, Any]]:
    """Exactly the three logins, and their key only through Secrets Manager: the whole of the bootstrap's access."""
    return [
        iam.statement(["secretsmanager:GetSecretValue"],
                      [inputs.master_secret_arn, inputs.app_secret_arn, inputs.monitor_secret_arn],
                      sid="ReadBootstrapCredentials"),
        iam.statement(["kms:Decrypt"], [inputs.secrets_key_arn], sid="DecryptThroughSecretsManager",
                      condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}),
    ]


def fetch_environment(config: DataTierConfig, inputs: BootstrapInputs) -> dict[str, pulumi.Input[str]]:
    """What fetch-logins.sh reads: which secrets (ARNs, never values) and where the RDS CA bundle is."""
    return {"MASTER_LOGIN_ARN": inputs.master_secret_arn, "APP_LOGIN_ARN": inputs.app_secret_arn,
            "MONITOR_LOGIN_ARN": inputs.monitor_secret_arn, "RDS_CA_BUNDLE_URL": config.bootstrap.ca_bundle_url}


def psql_environment(config: DataTierConfig, host: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """What bootstrap.sh and psql read: TLS verified against the RDS CA (verify-full), the names to converge."""
    pg = config.postgres
    return {
        "PGHOST": host,
        "PGPORT": str(POSTGRES_PORT),
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": f"{CREDENTIALS_DIR}/rds-ca.pem",
        "PGCONNECT_TIMEOUT": "15",
        "PGAPPNAME": "agent-platform-db-bootstrap",
        "HOME": "/tmp",
        "APP_USER": pg.app_username,
        "APP_DATABASE": pg.database_name,
        "APP_CONNECTION_LIMIT": str(pg.app_connection_limit),
        "MONITOR_USER": pg.monitor_username,
    }


@dataclass(frozen=True)
class JobBootstrap:
    """The EKS runtime's DatabaseBootstrap: a Kubernetes Job in the cluster, credentials through IRSA.

    The cluster's provider is the one the data tier was given in ``opts.providers``.
    """

    issuer: OidcIssuer
    ready: Sequence[pulumi.Resource]

    def run(self, parent: pulumi.Resource, name: str, config: DataTierConfig, context: StackContext, *,
            inputs: BootstrapInputs, database_security_group: aws.ec2.SecurityGroup) -> pulumi.Resource:
        # The Job's NetworkPolicy admits the database subnets; the security group is the cluster's concern.
        return bootstrap(parent, name, config, context, provider=kubernetes_provider(parent), issuer=self.issuer,
                         ready=self.ready, inputs=inputs)


def bootstrap(parent: pulumi.Resource, name: str, config: DataTierConfig, context: StackContext, *,
              provider: k8s.Provider, issuer: OidcIssuer, ready: Sequence[pulumi.Resource],
              inputs: BootstrapInputs) -> k8s.batch.v1.Job:
    cfg = config.bootstrap
    namespace = cfg.namespace
    k8s_opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "agent-platform",
              "app.kubernetes.io/managed-by": "pulumi"}

    ns = restricted_namespace(f"{name}-jobs-namespace", namespace, provider=provider, parent=parent,
                              depends_on=list(ready))
    in_ns = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[ns]))
    policies = _network_policies(name, namespace, labels, inputs.database_cidrs, in_ns)

    role = service_account_role(f"{name}-bootstrap-role", issuer, namespace=namespace,
                                service_account=SERVICE_ACCOUNT, tags=context.tags(COMPONENT), parent=parent)
    access = aws.iam.RolePolicy(
        f"{name}-bootstrap-role-policy", role=role.id,
        policy=iam.document(*credential_statements(inputs, context.region)),
        opts=pulumi.ResourceOptions(parent=role))
    # No role annotation: the pod mounts its own IRSA token (below), so the identity webhook leaves it alone
    # and the pod needs no Kubernetes API token at all.
    account = k8s.core.v1.ServiceAccount(
        f"{name}-bootstrap-sa", metadata={"name": SERVICE_ACCOUNT, "namespace": namespace, "labels": labels},
        automount_service_account_token=False, opts=in_ns)
    scripts = k8s.core.v1.ConfigMap(
        f"{name}-bootstrap-scripts", metadata={"name": NAME, "namespace": namespace, "labels": labels},
        data=script_files(),
        opts=in_ns)

    static = [config.postgres_image, cfg.aws_cli_image, *static_inputs(config), namespace]
    metadata_name = pulumi.Output.all(inputs.host, inputs.master_secret_arn, inputs.app_secret_arn,
                                      inputs.app_secret_version, inputs.monitor_secret_arn,
                                      inputs.monitor_secret_version).apply(
        lambda dynamic: job_name([*static, *dynamic]))
    return k8s.batch.v1.Job(
        f"{name}-bootstrap",
        # Pulumi waits for the Job to complete; a failed run is replaced (run again) by the next update.
        metadata={"name": metadata_name, "namespace": namespace, "labels": labels,
                  "annotations": {"pulumi.com/replaceUnready": "true"}},
        spec={
            "backoffLimit": 6,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": cfg.ttl_seconds_after_finished,
            "template": _pod(config, context, role.arn, inputs, labels),
        },
        opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(
            depends_on=[ns, account, scripts, access, *policies, *inputs.after],
            custom_timeouts=pulumi.CustomTimeouts(create=f"{ACTIVE_DEADLINE_SECONDS // 60}m",
                                                  update=f"{ACTIVE_DEADLINE_SECONDS // 60}m"))),
    )


def _restricted(read_only: bool = True) -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": read_only, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def _pod(config: DataTierConfig, context: StackContext, role_arn: pulumi.Input[str], inputs: BootstrapInputs,
         labels: dict[str, str]) -> dict[str, Any]:
    cfg = config.bootstrap
    scripts = {"name": "scripts", "mountPath": "/scripts", "readOnly": True}
    creds = {"name": "credentials", "mountPath": CREDENTIALS_DIR}
    tmp = {"name": "tmp", "mountPath": "/tmp"}
    resources = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    return {
        "metadata": {"labels": labels},
        "spec": {
            "serviceAccountName": SERVICE_ACCOUNT,
            "automountServiceAccountToken": False,
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS,
                                "fsGroup": RUN_AS, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{
                "name": "fetch-logins",
                "image": cfg.aws_cli_image,
                "command": ["/bin/sh", "/scripts/fetch-logins.sh"],
                "env": [
                    {"name": "AWS_REGION", "value": context.region},
                    {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
                    {"name": "AWS_ROLE_ARN", "value": role_arn},
                    {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{IRSA_TOKEN_DIR}/token"},
                    {"name": "HOME", "value": "/tmp"},
                    *({"name": k, "value": v} for k, v in fetch_environment(config, inputs).items()),
                ],
                "volumeMounts": [scripts, creds, tmp,
                                 {"name": "aws-iam-token", "mountPath": IRSA_TOKEN_DIR, "readOnly": True}],
                "securityContext": _restricted(),
                "resources": resources,
            }],
            "containers": [{
                "name": "psql",
                "image": config.postgres_image,
                "command": ["/bin/sh", "/scripts/bootstrap.sh"],
                "env": [{"name": k, "value": v} for k, v in psql_environment(config, inputs.host).items()],
                "volumeMounts": [scripts, creds, tmp],
                "securityContext": _restricted(),
                "resources": resources,
            }],
            "volumes": [
                {"name": "scripts", "configMap": {"name": NAME, "defaultMode": 0o555}},
                {"name": "credentials", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                {"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
                    "audience": "sts.amazonaws.com", "expirationSeconds": 3600, "path": "token"}}]}},
            ],
        },
    }


def _network_policies(name: str, namespace: str, labels: dict[str, str], database_cidrs: Sequence[str],
                      opts: pulumi.ResourceOptions) -> list[k8s.networking.v1.NetworkPolicy]:
    """Nothing in the namespace talks to anything, except the Job: DNS, the database, AWS APIs over TLS."""
    deny = k8s.networking.v1.NetworkPolicy(
        f"{name}-jobs-default-deny",
        metadata={"name": "default-deny", "namespace": namespace},
        spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        opts=opts)
    egress = k8s.networking.v1.NetworkPolicy(
        f"{name}-bootstrap-egress",
        metadata={"name": f"{NAME}-egress", "namespace": namespace, "labels": labels},
        spec={
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                         "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                {"to": [{"ipBlock": {"cidr": cidr}} for cidr in database_cidrs],
                 "ports": [{"protocol": "TCP", "port": POSTGRES_PORT}]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]},
            ],
        },
        opts=opts)
    return [deny, egress]
