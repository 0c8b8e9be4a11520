"""AgentService: one agent API or queue worker on EKS, from its image to autoscaled, isolated pods.

Everything a service gets follows from its entry under ``services`` in the stack config, so a new
service is configuration only. The specs themselves live in ``service_workload`` (pods, scaling,
traffic), ``service_identity`` (IAM) and ``service_image`` (ECR and builds).

A service with no image yet (``ServiceConfig.released`` is false, as on a stack's first ``pulumi up``, which
creates its repository empty) gets its repository, IRSA role, ServiceAccount, ConfigMap, secrets, Service
and NetworkPolicy, but no Deployment, PodDisruptionBudget or autoscaler: pods referencing an image that is
not pushed yet would sit in ImagePullBackOff until the Deployment await fails the update. Setting the
pushed digest adds them (docs/first-deploy.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.core.context import StackContext
from components.core.irsa import OidcIssuer, service_account_role
from components.core.namespace import kubernetes_provider
from components.services.contract import ServiceDataRefs, service_environment
from components.services.eks import workload
from components.services.eks.addons import ServicePlatform
from components.services.identity import service_policy
from components.services.image import built_image, repository
from config.delivery import ImagePullConfig
from config.services import MONITORING_NAMESPACE, ServiceConfig

EXTERNAL_SECRETS_API = "external-secrets.io/v1"
KEDA_API = "keda.sh/v1alpha1"
# Rotated database credentials reach the mounted files within this interval (plus the kubelet sync period).
SECRET_REFRESH = "5m"


@dataclass(frozen=True)
class AgentServiceArgs:
    service_name: str
    config: ServiceConfig
    context: StackContext
    oidc: OidcIssuer
    addons: ServicePlatform
    data: ServiceDataRefs
    # The services that call this one, and the port of each service it calls (``calls``), in that order.
    callers: Sequence[str] = ()
    callee_ports: Mapping[str, int] = field(default_factory=dict)
    # Where the edge load balancer's nodes live (its `ip` targets see these source addresses); api services only.
    edge_cidrs: Sequence[str] = ()
    monitoring_namespace: str = MONITORING_NAMESPACE
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    # What serves metrics.k8s.io (the cluster's metrics-server add-on): a CPU/memory HPA reads nothing without it.
    metrics_server: pulumi.Resource | None = None
    # Other accounts' deploy roles that may pull the repository's images to promote them (delivery.imagePull).
    image_pull: ImagePullConfig | None = None


class AgentService(pulumi.ComponentResource):
    """An ECR repository, an IRSA role, and the Kubernetes objects that run, scale and isolate one service."""

    service_name: str
    namespace: str
    port: int
    kind: str
    deployment_name: str
    url: str
    role_arn: pulumi.Output[str]
    image_ref: pulumi.Output[str] | None  # None until the service is released
    repository_url: pulumi.Output[str]

    def __init__(self, name: str, args: AgentServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:services:AgentService", name, None, opts)
        cfg, context, addons = args.config, args.context, args.addons
        svc = args.service_name
        self.service_name = svc
        self.namespace = ns = addons.namespace
        self.port = cfg.port
        self.kind = cfg.kind
        self.deployment_name = svc
        self.url = workload.service_url(svc, ns, cfg.port)
        self._name, self._args = name, args
        self._labels = workload.labels(svc, cfg, context.environment)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=kubernetes_provider(self),
                                          depends_on=[addons.namespace_resource, *args.depends_on])

        repo = repository(f"{name}-repo", svc, context=context, key_arn=addons.ecr_key_arn,
                          keep_images=cfg.image_retention_count, parent=self, image_pull=args.image_pull)
        self.repository_url = repo.repository_url
        self.image_ref = None
        if cfg.build is not None:
            self.image_ref = built_image(f"{name}-image", cfg.build, repo, parent=self).repo_digest
        elif cfg.image is not None:
            self.image_ref = pulumi.Output.from_input(cfg.image)

        role = self._role()
        self.role_arn = role.arn
        account_annotations: dict[str, Any] = {
            "eks.amazonaws.com/role-arn": role.arn,
            "eks.amazonaws.com/sts-regional-endpoints": "true",
        }
        if cfg.kubernetes_api_access:
            account_annotations[workload.KUBERNETES_API_ANNOTATION] = "true"
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=self._metadata(svc, annotations=account_annotations),
            automount_service_account_token=cfg.kubernetes_api_access,
            opts=k8s_opts,
        )
        config_map = self._config_map(k8s_opts)
        secret_deps = self._secrets(account, k8s_opts)

        k8s.core.v1.Service(f"{name}-service", metadata=self._metadata(svc), spec=workload.service_spec(svc, cfg),
                            opts=k8s_opts)
        self._network_policy(k8s_opts)
        if self.image_ref is not None:
            self._workload(self.image_ref, k8s_opts, [account, config_map, *secret_deps], config_map, secret_deps)

        self.register_outputs({"service_name": svc, "namespace": ns, "url": self.url, "role_arn": self.role_arn,
                               "image_ref": self.image_ref, "repository_url": self.repository_url})

    # -- helpers --------------------------------------------------------------------------------------------

    def _workload(self, image_ref: pulumi.Output[str], k8s_opts: pulumi.ResourceOptions,
                  prerequisites: list[pulumi.Resource], config_map: k8s.core.v1.ConfigMap,
                  secret_deps: list[pulumi.Resource]) -> None:
        """Deployment, PodDisruptionBudget and autoscaler: what runs the released image."""
        name, svc, cfg, context = self._name, self.service_name, self._args.config, self._args.context
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self._metadata(svc),
            spec=workload.deployment_spec(
                svc, cfg, image_ref, environment=context.environment,
                strict_zone_spread=context.protected_tier,
                config_checksum=pulumi.Output.json_dumps(config_map.data).apply(
                    lambda text: hashlib.sha256(text.encode()).hexdigest())),
            # The autoscaler owns the replica count once the Deployment exists.
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                depends_on=prerequisites, ignore_changes=["spec.replicas"])),
        )
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=self._metadata(svc),
                                          spec=workload.pdb_spec(svc), opts=k8s_opts)
        after_deployment = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[deployment]))
        if cfg.kind == "api":
            server = self._args.metrics_server
            metrics = [server] if server is not None else []
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa", metadata=self._metadata(svc), spec=workload.hpa_spec(svc, cfg),
                opts=pulumi.ResourceOptions.merge(after_deployment, pulumi.ResourceOptions(depends_on=metrics)))
        else:
            self._scaled_object(after_deployment, secret_deps)

    def _metadata(self, object_name: str, annotations: Mapping[str, Any] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": object_name, "namespace": self.namespace, "labels": self._labels}
        if annotations:
            meta["annotations"] = dict(annotations)
        return meta

    def _own_secret_arns(self) -> list[pulumi.Input[str]]:
        arns = self._args.data.secret_arns
        missing = [s for s in self._args.config.secrets if s not in arns]
        if missing:
            raise ValueError(f"service {self.service_name} lists secrets the data tier does not provide: {missing}")
        return [arns[s] for s in self._args.config.secrets]

    def _role(self) -> aws.iam.Role:
        args, data = self._args, self._args.data
        return service_account_role(
            f"{self._name}-role", args.oidc, namespace=self.namespace, service_account=self.service_name,
            tags=args.context.tags("services", service=self.service_name), parent=self,
            inline_policy=service_policy(
                region=args.context.region, secret_arns=self._own_secret_arns(),
                secrets_key_arn=data.secrets_kms_key_arn, bucket_arn=data.bucket_arn, prefix=self.service_name,
                data_key_arn=data.data_kms_key_arn))

    def _config_map(self, opts: pulumi.ResourceOptions) -> k8s.core.v1.ConfigMap:
        """Non-secret settings only: endpoints carry no credentials (those are files under SECRETS_DIR)."""
        args, cfg, svc = self._args, self._args.config, self.service_name
        values = service_environment(svc, cfg, args.context, args.data, {
            callee: workload.service_url(callee, self.namespace, port) for callee, port in args.callee_ports.items()})
        return k8s.core.v1.ConfigMap(f"{self._name}-config",
                                     metadata=self._metadata(workload.config_map_name(svc)),
                                     data=values, opts=opts)

    def _secrets(self, account: k8s.core.v1.ServiceAccount, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """A SecretStore acting as the service's own identity, and the ExternalSecret listing its secrets."""
        cfg, svc = self._args.config, self.service_name
        if not cfg.secrets:
            return []
        eso = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            depends_on=[self._args.addons.external_secrets, account]))
        store = k8s.apiextensions.CustomResource(
            f"{self._name}-secret-store",
            api_version=EXTERNAL_SECRETS_API,
            kind="SecretStore",
            metadata=self._metadata(svc),
            spec={"provider": {"aws": {
                "service": "SecretsManager",
                "region": self._args.context.region,
                # ESO requests a token for this service account, so the store reads with the service's role.
                "auth": {"jwt": {"serviceAccountRef": {"name": svc}}},
            }}},
            opts=eso,
        )
        arns = self._own_secret_arns()
        external = k8s.apiextensions.CustomResource(
            f"{self._name}-external-secret",
            api_version=EXTERNAL_SECRETS_API,
            kind="ExternalSecret",
            metadata=self._metadata(svc),
            spec={
                "refreshInterval": SECRET_REFRESH,
                "secretStoreRef": {"kind": "SecretStore", "name": svc},
                "target": {
                    "name": workload.secret_name(svc),
                    "creationPolicy": "Owner",
                    "deletionPolicy": "Retain",
                    "template": {"type": "Opaque", "metadata": {"labels": self._labels}},
                },
                "data": [{"secretKey": secret, "remoteRef": {"key": arn}} for secret, arn in zip(cfg.secrets, arns,
                                                                                                 strict=True)],
            },
            opts=pulumi.ResourceOptions.merge(eso, pulumi.ResourceOptions(
                depends_on=[store, *self._args.data.secret_versions])),
        )
        return [store, external]

    def _network_policy(self, opts: pulumi.ResourceOptions) -> None:
        args, cfg, svc = self._args, self._args.config, self.service_name
        callers, callees = list(args.callers), dict(args.callee_ports)
        k8s.networking.v1.NetworkPolicy(
            f"{self._name}-network-policy",
            metadata=self._metadata(svc),
            spec=workload.network_policy_spec(
                svc, cfg, edge_cidrs=args.edge_cidrs, monitoring_namespace=args.monitoring_namespace,
                callers=callers, callees=callees, data_cidrs=args.data.data_cidrs,
                postgres_port=args.data.postgres_port, redis_port=args.data.redis_port,
                vector_store=workload.vector_store_egress(args.data),
                mongodb_port=args.data.mongodb_port if "mongodb" in cfg.secrets else None),
            opts=opts,
        )

    def _scaled_object(self, opts: pulumi.ResourceOptions, secret_deps: list[pulumi.Resource]) -> None:
        data, svc = self._args.data, self.service_name
        keda = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            depends_on=[self._args.addons.keda, *secret_deps]))
        auth = k8s.apiextensions.CustomResource(
            f"{self._name}-trigger-auth",
            api_version=KEDA_API,
            kind="TriggerAuthentication",
            metadata=self._metadata(workload.trigger_auth_name(svc)),
            spec=workload.trigger_auth_spec(svc),
            opts=keda,
        )
        redis_address = pulumi.Output.concat(data.redis_host, ":", pulumi.Output.from_input(data.redis_port).apply(str))
        k8s.apiextensions.CustomResource(
            f"{self._name}-scaled-object",
            api_version=KEDA_API,
            kind="ScaledObject",
            metadata=self._metadata(svc),
            spec=workload.scaled_object_spec(svc, self._args.config, redis_address=redis_address),
            opts=pulumi.ResourceOptions.merge(keda, pulumi.ResourceOptions(depends_on=[auth])),
        )
