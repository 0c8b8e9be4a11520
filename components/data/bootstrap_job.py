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
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.core import iam
from components.core.context import StackContext
from components.core.irsa import OidcIssuer, service_account_role
from components.core.namespace import kubernetes_provider, restricted_namespace
from components.data.naming import COMPONENT, POSTGRES_PORT
from config.data import DataTierConfig

NAME = "db-bootstrap"
SERVICE_ACCOUNT = "db-bootstrap"
# Any high UID works: psql needs no account in the image, and the policy keeps UIDs off the node's range.
RUN_AS_UID = 10001
IRSA_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
CREDENTIALS_DIR = "/creds"
ACTIVE_DEADLINE_SECONDS = 1800  # first runs wait for IAM propagation and image pulls

FETCH_LOGINS = """\
#!/bin/sh
# Reads the three Secrets Manager entries this pod's IAM role allows (MASTER_LOGIN_ARN: the RDS-managed master
# login, APP_LOGIN_ARN: the application role's, MONITOR_LOGIN_ARN: the metrics exporter's) into a memory-backed
# volume, plus the RDS CA bundle so psql can verify the server certificate.
set -eu
umask 077
aws secretsmanager get-secret-value --secret-id "$MASTER_LOGIN_ARN" --query SecretString --output text \\
  > /creds/master.json
aws secretsmanager get-secret-value --secret-id "$APP_LOGIN_ARN" --query SecretString --output text \\
  > /creds/app.json
aws secretsmanager get-secret-value --secret-id "$MONITOR_LOGIN_ARN" --query SecretString --output text \\
  > /creds/monitor.json
curl --fail --silent --show-error --retry 3 --proto '=https' --output /creds/rds-ca.pem "$RDS_CA_BUNDLE_URL"
"""

BOOTSTRAP = """\
#!/bin/sh
# Converges the application database as the RDS master user. Passwords are read from files and reach
# psql through PGPASSWORD and a psql variable, never through the command line.
set -eu
umask 077

# json_string KEY FILE: the top-level string KEY of a JSON object, with JSON escapes decoded.
json_string() {
  awk -v key="$1" '
    function hexval(h,    i, d, v) {
      v = 0
      for (i = 1; i <= length(h); i++) {
        d = index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
        if (d < 0) { return -1 }
        v = v * 16 + d
      }
      return v
    }
    { text = text $0 "\\n" }
    END {
      pattern = "\\"" key "\\""
      start = index(text, pattern)
      if (start == 0) { exit 2 }
      rest = substr(text, start + length(pattern))
      if (!match(rest, /^[ \\t\\r\\n]*:[ \\t\\r\\n]*"/)) { exit 3 }
      rest = substr(rest, RLENGTH + 1)
      out = ""
      while (length(rest) > 0) {
        c = substr(rest, 1, 1)
        if (c == "\\"") { printf "%s", out; exit 0 }
        if (c == "\\\\") {
          e = substr(rest, 2, 1)
          rest = substr(rest, 3)
          if (e == "n") { c = "\\n" }
          else if (e == "t") { c = "\\t" }
          else if (e == "r") { c = "\\r" }
          else if (e == "b") { c = "\\b" }
          else if (e == "f") { c = "\\f" }
          else if (e == "u") {
            v = hexval(substr(rest, 1, 4))
            if (v < 1 || v > 126) { exit 4 }
            c = sprintf("%c", v)
            rest = substr(rest, 5)
          }
          else { c = e }
        } else {
          rest = substr(rest, 2)
        }
        out = out c
      }
      exit 5
    }' "$2"
}

master_user=$(json_string username /creds/master.json)
PGPASSWORD=$(json_string password /creds/master.json)
export PGPASSWORD
app_user=$(json_string username /creds/app.json)
json_string password /creds/app.json > /creds/app-password
if [ "$app_user" != "$APP_USER" ]; then
  echo "the application secret names user '$app_user', expected '$APP_USER'" >&2
  exit 1
fi
if [ "$master_user" = "$APP_USER" ]; then
  echo "refusing to bootstrap: the application role would be the master user" >&2
  exit 1
fi
monitor_user=$(json_string username /creds/monitor.json)
json_string password /creds/monitor.json > /creds/monitor-password
if [ "$monitor_user" != "$MONITOR_USER" ]; then
  echo "the monitoring secret names user '$monitor_user', expected '$MONITOR_USER'" >&2
  exit 1
fi
exec psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username "$master_user" --dbname postgres \\
  --set app_user="$APP_USER" --set app_database="$APP_DATABASE" \\
  --set connection_limit="$APP_CONNECTION_LIMIT" --set app_password_file=/creds/app-password \\
  --set monitor_user="$MONITOR_USER" --set monitor_password_file=/creds/monitor-password \\
  --file /scripts/bootstrap.sql
"""

SQL = """\
-- Converges the application database: its role, database, schema and extensions. Every statement
-- checks before it creates, so running it again changes nothing that is already right.
-- psql variables: app_user, app_database, connection_limit, app_password_file, monitor_user,
-- monitor_password_file.
\\set ON_ERROR_STOP on
\\set app_password `cat :'app_password_file'`
\\set monitor_password `cat :'monitor_password_file'`

-- The application role may log in and nothing more: created NOSUPERUSER NOCREATEDB NOCREATEROLE
-- NOREPLICATION NOBYPASSRLS, never the database owner, never a member of another role.
SELECT set_config('bootstrap.app_user', :'app_user', false) \\g /dev/null
SELECT set_config('bootstrap.connection_limit', :'connection_limit', false) \\g /dev/null
DO $$
DECLARE
  app text := current_setting('bootstrap.app_user');
  conn_limit int := current_setting('bootstrap.connection_limit')::int;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = app) THEN
    EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                   app);
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN CONNECTION LIMIT %s', app, conn_limit);
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = app
             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role % holds privileges beyond LOGIN; the bootstrap never grants them, revoke them', app;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.member
             WHERE r.rolname = app) THEN
    RAISE EXCEPTION 'role % is a member of another role; it may hold only its own grants', app;
  END IF;
END
$$;
-- The password is the application secret's current value (the rotation function keeps them in step).
SELECT format('ALTER ROLE %I WITH PASSWORD %L', :'app_user', :'app_password') \\gexec

-- The metrics exporter's own login: LOGIN and membership of pg_monitor (read statistics and settings), nothing
-- else, so the application's password rotation never cuts the exporter off.
SELECT set_config('bootstrap.monitor_user', :'monitor_user', false) \\g /dev/null
DO $$
DECLARE
  mon text := current_setting('bootstrap.monitor_user');
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = mon) THEN
    EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                   mon);
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN CONNECTION LIMIT 5', mon);
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = mon
             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role % holds privileges beyond LOGIN; the bootstrap never grants them, revoke them', mon;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.member
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
             WHERE r.rolname = mon AND g.rolname <> 'pg_monitor') THEN
    RAISE EXCEPTION 'role % is a member of a role other than pg_monitor; revoke it', mon;
  END IF;
END
$$;
SELECT format('ALTER ROLE %I WITH PASSWORD %L', :'monitor_user', :'monitor_password') \\gexec
SELECT format('GRANT pg_monitor TO %I', :'monitor_user') \\gexec

-- The database belongs to the master user; the application may only connect and use temp tables.
SELECT format('CREATE DATABASE %I', :'app_database')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = :'app_database') \\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'app_database') \\gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'app_database', :'app_user') \\gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'app_database', :'monitor_user') \\gexec

\\connect :app_database
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- public holds the extensions and stays read-only; the application writes to its own schema, which
-- PostgreSQL's default search_path ("$user", public) finds first.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('CREATE SCHEMA IF NOT EXISTS %I', :'app_user') \\gexec
SELECT format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', :'app_user', :'app_user') \\gexec
"""


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

    def run(self, parent: pulumi.Resource, name: str, config: DataTierConfig, platform: StackContext, *,
            inputs: BootstrapInputs, database_security_group: aws.ec2.SecurityGroup) -> pulumi.Resource:
        # The Job's NetworkPolicy admits the database subnets; the security group is the cluster's concern.
        return bootstrap(parent, name, config, platform, provider=kubernetes_provider(parent), issuer=self.issuer,
                         ready=self.ready, inputs=inputs)


def bootstrap(parent: pulumi.Resource, name: str, config: DataTierConfig, platform: StackContext, *,
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
                                service_account=SERVICE_ACCOUNT, tags=platform.tags(COMPONENT), parent=parent)
    access = aws.iam.RolePolicy(
        f"{name}-bootstrap-role-policy", role=role.id,
        policy=iam.document(*credential_statements(inputs, platform.region)),
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
            "template": _pod(config, platform, role.arn, inputs, labels),
        },
        opts=pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(
            depends_on=[ns, account, scripts, access, *policies, *inputs.after],
            custom_timeouts=pulumi.CustomTimeouts(create=f"{ACTIVE_DEADLINE_SECONDS // 60}m",
                                                  update=f"{ACTIVE_DEADLINE_SECONDS // 60}m"))),
    )


def _restricted(read_only: bool = True) -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": read_only, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def _pod(config: DataTierConfig, platform: StackContext, role_arn: pulumi.Input[str], inputs: BootstrapInputs,
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
            "securityContext": {"runAsNonRoot": True, "runAsUser": RUN_AS_UID, "runAsGroup": RUN_AS_UID,
                                "fsGroup": RUN_AS_UID, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{
                "name": "fetch-logins",
                "image": cfg.aws_cli_image,
                "command": ["/bin/sh", "/scripts/fetch-logins.sh"],
                "env": [
                    {"name": "AWS_REGION", "value": platform.region},
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
