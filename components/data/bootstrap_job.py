"""The database bootstrap: an idempotent Kubernetes Job that creates the application database and role.

The database is reachable only from inside the VPC, so the Job runs in the cluster, in its own
PSA-restricted namespace behind a default-deny NetworkPolicy. No credential enters a manifest: an init
container with an IRSA role that may read exactly the logins it converges (the RDS-managed master secret, the
application and monitoring secrets; with a document store, the DocumentDB-managed master secret and the
services' DocumentDB user) writes them to a memory-backed volume, psql converges the database as the master
user and, with a document store, mongosh converges the services' DocumentDB user as its master user. The Job's
name carries a hash of the scripts and their inputs, so any relevant change runs it again.
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
from agent_contract.tags import DB_BOOTSTRAP_ROLE

from components.core import iam
from components.core.context import StackContext
from components.core.irsa import OidcIssuer, service_account_role
from components.core.namespace import RUN_AS, kubernetes_provider, restricted_namespace
from components.core.registry import deployed_digest
from components.core.templates import template_text
from components.data.naming import COMPONENT, MONGODB_PORT, POSTGRES_PORT
from config.data import MONGOSH_IMAGE, DataTierConfig

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
DOCDB_SCRIPT = template_text(TEMPLATES, "docdb-bootstrap.sh")
DOCDB_JS = template_text(TEMPLATES, "docdb-bootstrap.js")


@dataclass(frozen=True)
class DocumentStoreLogins:
    """The document store the bootstrap also converges: its endpoint, the master and services' logins, its group.

    The master secret is DocumentDB's own (manage_master_user_password); only the bootstrap may read it.
    """

    host: pulumi.Input[str]
    master_secret_arn: pulumi.Input[str]
    app_secret_arn: pulumi.Input[str]
    app_secret_version: pulumi.Input[str]
    security_group: aws.ec2.SecurityGroup


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
    # dataTier.documentStore: the DocumentDB user to converge too; None without a document store.
    documents: DocumentStoreLogins | None = None


def script_digest(parts: Sequence[Any]) -> str:
    """SHA-256 of the scripts and every input they run with: both runtimes re-run the bootstrap when it changes."""
    return hashlib.sha256(json.dumps([BOOTSTRAP, FETCH_LOGINS, SQL, DOCDB_SCRIPT, DOCDB_JS, *parts]).encode()
                          ).hexdigest()


def job_name(parts: Sequence[Any]) -> str:
    """``db-bootstrap-<hash>``: a new name, so a new run, whenever the script or any input changes."""
    return f"{NAME}-{script_digest(parts)[:10]}"


def script_files(documents: bool = False) -> dict[str, str]:
    """The files both runtimes install under /scripts, by file name (with ``documents``, the mongosh ones too)."""
    files = {"bootstrap.sql": SQL, "bootstrap.sh": BOOTSTRAP, "fetch-logins.sh": FETCH_LOGINS}
    if documents:
        files |= {"docdb-bootstrap.sh": DOCDB_SCRIPT, "docdb-bootstrap.js": DOCDB_JS}
    return files


def static_inputs(config: DataTierConfig, *extra: Any) -> list[Any]:
    """Config values the run depends on (part of the digest); ``extra`` adds the runtime's own."""
    pg, cfg, docs = config.postgres, config.bootstrap, config.document_store
    documents = [docs.database_name, docs.app_username, docs.app_role] if docs is not None else []
    return [cfg.ca_bundle_url, pg.database_name, pg.app_username, pg.app_connection_limit, pg.monitor_username,
            *documents, *extra]


def credential_statements(inputs: BootstrapInputs, region: str) -> list[dict[str, Any]]:
    """Exactly the logins it converges, and their key only through Secrets Manager: the whole of its access.

    The DocumentDB master secret is encrypted with the AWS-managed aws/secretsmanager key, whose key policy lets
    any principal of the account decrypt through Secrets Manager, so it needs no key statement here.
    """
    documents = inputs.documents
    logins = [inputs.master_secret_arn, inputs.app_secret_arn, inputs.monitor_secret_arn]
    if documents is not None:
        logins += [documents.master_secret_arn, documents.app_secret_arn]
    return [
        iam.statement(["secretsmanager:GetSecretValue"], logins, sid="ReadBootstrapCredentials"),
        iam.statement(["kms:Decrypt"], [inputs.secrets_key_arn], sid="DecryptThroughSecretsManager",
                      condition={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}),
    ]


def fetch_environment(config: DataTierConfig, inputs: BootstrapInputs) -> dict[str, pulumi.Input[str]]:
    """What fetch-logins.sh reads: which secrets (ARNs, never values) and where the RDS CA bundle is."""
    values: dict[str, pulumi.Input[str]] = {
        "MASTER_LOGIN_ARN": inputs.master_secret_arn, "APP_LOGIN_ARN": inputs.app_secret_arn,
        "MONITOR_LOGIN_ARN": inputs.monitor_secret_arn, "RDS_CA_BUNDLE_URL": config.bootstrap.ca_bundle_url}
    if inputs.documents is not None:
        values |= {"DOCDB_MASTER_LOGIN_ARN": inputs.documents.master_secret_arn,
                   "DOCDB_APP_LOGIN_ARN": inputs.documents.app_secret_arn}
    return values


def mongosh_environment(config: DataTierConfig, host: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """What docdb-bootstrap.js reads: the cluster endpoint over TLS (the same RDS global CA bundle), the user to
    converge and its one role on the application database."""
    docs = config.document_store
    assert docs is not None, "mongosh runs only with a document store"
    return {
        "DOCDB_HOST": host,
        "DOCDB_PORT": str(MONGODB_PORT),
        "DOCDB_DATABASE": docs.database_name,
        "DOCDB_APP_USER": docs.app_username,
        "DOCDB_APP_ROLE": docs.app_role,
        "DOCDB_CA_FILE": f"{CREDENTIALS_DIR}/rds-ca.pem",
        "HOME": "/tmp",
    }


def mongosh_image() -> str:
    """The mongo image by the digest Docker Hub serves for its tag now (config.data.MONGOSH_IMAGE)."""
    return f"{MONGOSH_IMAGE.tag_reference}@{deployed_digest(MONGOSH_IMAGE)}"


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
    ports = [POSTGRES_PORT, *([MONGODB_PORT] if inputs.documents is not None else [])]
    policies = _network_policies(name, namespace, labels, inputs.database_cidrs, ports, in_ns)

    # Tagged as the bootstrap's: the one identity docdb-master-secret-bootstrap-only lets read a master login.
    role = service_account_role(f"{name}-bootstrap-role", issuer, namespace=namespace,
                                service_account=SERVICE_ACCOUNT, tags=context.tags(COMPONENT, role=DB_BOOTSTRAP_ROLE),
                                parent=parent)
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
        data=script_files(inputs.documents is not None),
        opts=in_ns)

    documents = inputs.documents
    mongosh = mongosh_image() if documents is not None else None
    static = [config.postgres_image, cfg.aws_cli_image, *static_inputs(config), namespace,
              *([mongosh] if mongosh else [])]
    document_inputs = [documents.host, documents.master_secret_arn, documents.app_secret_arn,
                       documents.app_secret_version] if documents is not None else []
    metadata_name = pulumi.Output.all(inputs.host, inputs.master_secret_arn, inputs.app_secret_arn,
                                      inputs.app_secret_version, inputs.monitor_secret_arn,
                                      inputs.monitor_secret_version, *document_inputs).apply(
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
            "template": _pod(config, context, role.arn, inputs, labels, mongosh),
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
         labels: dict[str, str], mongosh: str | None) -> dict[str, Any]:
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
            }, *_mongosh_container(config, inputs, mongosh, [scripts, creds, tmp])],
            "volumes": [
                {"name": "scripts", "configMap": {"name": NAME, "defaultMode": 0o555}},
                {"name": "credentials", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                {"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
                    "audience": "sts.amazonaws.com", "expirationSeconds": 3600, "path": "token"}}]}},
            ],
        },
    }


def _mongosh_container(config: DataTierConfig, inputs: BootstrapInputs, image: str | None,
                       mounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """With a document store: mongosh converges the services' DocumentDB user (beside psql, same logins volume)."""
    if inputs.documents is None or image is None:
        return []
    return [{
        "name": "mongosh",
        "image": image,
        "command": ["/bin/sh", "/scripts/docdb-bootstrap.sh"],
        "env": [{"name": k, "value": v} for k, v in mongosh_environment(config, inputs.documents.host).items()],
        "volumeMounts": mounts,
        "securityContext": _restricted(),
        # mongosh is a Node.js program: more memory than psql.
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    }]


def _network_policies(name: str, namespace: str, labels: dict[str, str], database_cidrs: Sequence[str],
                      ports: Sequence[int], opts: pulumi.ResourceOptions) -> list[k8s.networking.v1.NetworkPolicy]:
    """Nothing in the namespace talks to anything, except the Job: DNS, the databases, AWS APIs over TLS."""
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
                 "ports": [{"protocol": "TCP", "port": port} for port in ports]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]},
            ],
        },
        opts=opts)
    return [deny, egress]
