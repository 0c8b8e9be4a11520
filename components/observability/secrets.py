"""Credentials of the observability stack: kept in Secrets Manager, delivered to pods by External Secrets.

Grafana's admin login is generated here; the Slack webhook comes from the secret stack config value
``alertSlackWebhookUrl``; the PostgreSQL exporter logs in as its own pg_monitor role (never with the
application's credentials), the Redis exporter with the AUTH token. A namespaced SecretStore reads them as
its own IRSA role, which may read exactly these secrets and decrypt only through Secrets Manager, so neither
the ESO controller nor any other workload gains access.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.core import iam, kms
from components.core.context import StackContext
from components.core.irsa import OidcIssuer, service_account_role
from components.observability import charts
from components.observability.alarms import DataTierRefs

EXTERNAL_SECRETS_API = "external-secrets.io/v1"
SECRET_STORE = "aws-secrets-manager"
SECRETS_READER = "secrets-reader"
SECRET_REFRESH = "1h"
MANAGED_LABELS = {"app.kubernetes.io/part-of": "agent-platform", "app.kubernetes.io/managed-by": "pulumi"}


@dataclass
class SyncedSecrets:
    grafana_secret_arn: pulumi.Output[str]
    slack: bool
    # The ExternalSecrets: workloads that mount their Secrets install after them.
    resources: list[pulumi.Resource] = field(default_factory=list)


class SecretSync:
    """Creates the secrets and their ExternalSecrets as children of ``parent`` in ``namespace``."""

    def __init__(self, name: str, parent: pulumi.Resource, context: StackContext, *, provider: k8s.Provider,
                 oidc: OidcIssuer, namespace: str, tags: dict[str, str], recovery_window_days: int) -> None:
        self._name, self._parent, self._context = name, parent, context
        self._recovery_window_days = recovery_window_days
        self._provider, self._oidc, self._namespace, self._tags = provider, oidc, namespace, tags
        self._key = kms.customer_key(f"{name}-secrets-key", "observability-secrets", account_id=context.account_id,
                                     partition=context.partition, tags=tags, protect=context.protect,
                                     parent=parent)

    def build(self, namespace_resource: pulumi.Resource, *, slack_webhook_url: pulumi.Input[str] | None,
              data: DataTierRefs | None, external_secrets: Sequence[pulumi.Resource]) -> SyncedSecrets:
        password = random.RandomPassword(f"{self._name}-grafana-password", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self._parent))
        grafana, grafana_value = self._secret(
            "grafana-admin", "Grafana admin login (ESO syncs it into monitoring/grafana-admin).",
            pulumi.Output.json_dumps({"username": "admin",
                                                         "password": pulumi.Output.secret(password.result)}))
        slack = slack_value = None
        if slack_webhook_url is not None:
            slack, slack_value = self._secret(
                "alert-slack-webhook", "Slack incoming webhook that Alertmanager posts alerts to.", slack_webhook_url)

        arns: list[pulumi.Input[str]] = [grafana.arn]
        keys: list[pulumi.Input[str]] = [self._key.arn]
        if slack is not None:
            arns.append(slack.arn)
        if data is not None:
            arns += [data.monitor_db_secret_arn, data.redis_auth_secret_arn]
            keys += list(data.secrets_kms_key_arns)
        store = self._store(namespace_resource, arns, keys, external_secrets)

        synced = SyncedSecrets(grafana_secret_arn=grafana.arn, slack=slack is not None)
        synced.resources.append(self._sync(store, "grafana-admin-sync", charts.GRAFANA_ADMIN_SECRET, {
            "admin-user": (grafana.arn, "username"), "admin-password": (grafana.arn, "password")}, [grafana_value]))
        if slack is not None and slack_value is not None:
            synced.resources.append(self._sync(store, "slack-webhook-sync", charts.SLACK_SECRET, {
                charts.SLACK_SECRET_KEY: (slack.arn, None)}, [slack_value]))
        if data is not None:
            synced.resources.append(self._sync(store, "postgres-exporter-sync", charts.POSTGRES_EXPORTER_SECRET, {
                "username": (data.monitor_db_secret_arn, data.app_db_username_property),
                "password": (data.monitor_db_secret_arn, data.app_db_password_property)}, data.secret_versions))
            synced.resources.append(self._sync(store, "redis-exporter-sync", charts.REDIS_EXPORTER_SECRET, {
                "password": (data.redis_auth_secret_arn, data.redis_auth_property)}, data.secret_versions))
        return synced

    def _secret(self, role: str, description: str,
                value: pulumi.Input[str]) -> tuple[aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion]:
        secret = aws.secretsmanager.Secret(
            f"{self._name}-{role}",
            name_prefix=f"{self._context.name}/observability/{role}-",
            description=description,
            kms_key_id=self._key.arn,
            recovery_window_in_days=self._recovery_window_days,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self._parent, protect=self._context.protect),
        )
        version = aws.secretsmanager.SecretVersion(f"{self._name}-{role}-value", secret_id=secret.id,
                                                   secret_string=pulumi.Output.secret(value),
                                                   opts=pulumi.ResourceOptions(parent=secret))
        return secret, version

    def _k8s(self, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self._parent, provider=self._provider, depends_on=list(depends_on))

    def _store(self, namespace_resource: pulumi.Resource, arns: list[pulumi.Input[str]],
               keys: list[pulumi.Input[str]], external_secrets: Sequence[pulumi.Resource]) -> pulumi.Resource:
        via_secrets_manager = {"StringEquals": {
            "kms:ViaService": f"secretsmanager.{self._context.region}.amazonaws.com"}}
        role = service_account_role(
            f"{self._name}-secrets-reader-role", self._oidc, namespace=self._namespace,
            service_account=SECRETS_READER, tags=self._tags, parent=self._parent,
            inline_policy=iam.document(
                iam.statement(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], arns,
                              sid="ReadObservabilitySecrets"),
                iam.statement(["kms:Decrypt"], keys, sid="DecryptThroughSecretsManager",
                              condition=via_secrets_manager),
            ))
        # ESO requests tokens for this account; no pod runs as it.
        account = k8s.core.v1.ServiceAccount(
            f"{self._name}-secrets-reader",
            metadata={"name": SECRETS_READER, "namespace": self._namespace, "labels": MANAGED_LABELS,
                      "annotations": {"eks.amazonaws.com/role-arn": role.arn,
                                      "eks.amazonaws.com/sts-regional-endpoints": "true"}},
            automount_service_account_token=False,
            opts=self._k8s(namespace_resource))
        return k8s.apiextensions.CustomResource(
            f"{self._name}-secret-store",
            api_version=EXTERNAL_SECRETS_API,
            kind="SecretStore",
            metadata={"name": SECRET_STORE, "namespace": self._namespace, "labels": MANAGED_LABELS},
            spec={"provider": {"aws": {"service": "SecretsManager", "region": self._context.region,
                                       "auth": {"jwt": {"serviceAccountRef": {"name": SECRETS_READER}}}}}},
            opts=self._k8s(account, *external_secrets))

    def _sync(self, store: pulumi.Resource, role: str, target: str,
              entries: dict[str, tuple[pulumi.Input[str], str | None]],
              values: Sequence[pulumi.Resource]) -> pulumi.Resource:
        """An ExternalSecret writing ``target``: each key from a secret (one JSON property, or all of it).

        It waits for the secrets' values (``values``: their SecretVersions), not only for the secrets: a secret
        without a value makes the first sync fail and the pods that mount the target start without it."""
        data: list[dict[str, Any]] = []
        for secret_key, (arn, prop) in entries.items():
            ref: dict[str, Any] = {"key": arn}
            if prop:
                ref["property"] = prop
            data.append({"secretKey": secret_key, "remoteRef": ref})
        return k8s.apiextensions.CustomResource(
            f"{self._name}-{role}",
            api_version=EXTERNAL_SECRETS_API,
            kind="ExternalSecret",
            metadata={"name": target, "namespace": self._namespace, "labels": MANAGED_LABELS},
            spec={"refreshInterval": SECRET_REFRESH,
                  "secretStoreRef": {"kind": "SecretStore", "name": SECRET_STORE},
                  "target": {"name": target, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                  "data": data},
            opts=self._k8s(store, *values))
