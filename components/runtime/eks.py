"""The EKS runtime: services are Deployments in one cluster, the bootstrap a Job, monitoring in-cluster."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi

from components.cluster.autoscaler import NodeAutoscaler, NodeAutoscalerArgs
from components.cluster.eks import Cluster, ClusterArgs
from components.data.bootstrap_job import JobBootstrap
from components.edge.backends import EdgeBackend, EksEdgeBackend
from components.observability.stack import KubernetesMonitoring, MonitoringTarget, ObservabilityStack
from components.runtime.seam import DeployedService, RuntimeInputs
from components.services.contract import ServiceDataRefs, callers_of
from components.services.eks.addons import ServicePlatform, ServicePlatformArgs
from components.services.eks.service import AgentService, AgentServiceArgs
from components.services.eks.vector_store import VectorStore, VectorStoreArgs


class EksRuntime:
    """Builds the cluster (and its node autoscaler) on construction; everything else when asked."""

    def __init__(self, inputs: RuntimeInputs) -> None:
        config, context = inputs.config, inputs.context
        self._inputs = inputs
        component = Cluster("cluster", ClusterArgs(
            config=config.cluster,
            context=context,
            vpc_id=inputs.vpc_id,
            private_subnet_ids=inputs.private_subnet_ids,
            logs_key_arn=inputs.logs_key_arn,
            deploy_role_arns=config.deploy_role_arns,
            preview_role_arns=config.delivery.preview_role_arns,
        ))
        self._provider = component.provider
        self.cluster = cluster = component.refs
        # Grows and shrinks the node groups within their minSize/maxSize as pods become unschedulable or nodes idle.
        if config.cluster.node_autoscaler.enabled:
            NodeAutoscaler("cluster-autoscaler", NodeAutoscalerArgs(
                config=config.cluster, context=context, cluster_name=cluster.name, oidc=cluster.oidc,
                node_groups=cluster.node_groups, ready=cluster.ready), self.component_opts())
        self.workload_security_groups = {"eks-cluster": cluster.workload_security_group_id}
        self.database_bootstrap = JobBootstrap(issuer=cluster.oidc, ready=cluster.ready)
        self._service_platform: ServicePlatform | None = None

    def deploy_services(self, data: ServiceDataRefs) -> Mapping[str, DeployedService]:
        """Agent services share one namespace and its add-ons (ESO, KEDA); each entry is one AgentService."""
        config, context, cluster = self._inputs.config, self._inputs.context, self.cluster
        self._service_platform = addons = ServicePlatform("services", ServicePlatformArgs(
            context=context, ready=cluster.ready, pod_readiness_gates=config.edge.public), self.component_opts())
        edge_cidrs = self._inputs.public_cidrs if config.edge.public else ()
        if data.vector_store is not None:
            # Qdrant or Weaviate beside the services; they get its address and their NetworkPolicy's egress to it.
            store = VectorStore("vector-store", VectorStoreArgs(
                store=data.vector_store, context=context, oidc=cluster.oidc, ready=cluster.ready,
                volume_key_arn=cluster.volume_key_arn, external_secrets=[addons.external_secrets],
                agents_namespace=addons.namespace, job_image=config.data_tier.bootstrap.aws_cli_image),
                self.component_opts())
            data = dataclasses.replace(data, vector_store_host=store.host, vector_store_peer=store.peer)
        return {
            name: AgentService(f"service-{name}", AgentServiceArgs(
                service_name=name, config=service, context=context, oidc=cluster.oidc, addons=addons,
                data=data, callers=callers_of(name, config.services),
                callee_ports={callee: config.services[callee].port for callee in service.calls},
                edge_cidrs=edge_cidrs, depends_on=cluster.ready, metrics_server=cluster.metrics_server,
                image_pull=config.delivery.image_pull),
                self.component_opts())
            for name, service in config.services.items()
        }

    def _addons(self) -> ServicePlatform:
        if self._service_platform is None:
            raise RuntimeError("deploy_services must run before the edge and observability are built")
        return self._service_platform

    def edge_backend(self) -> EdgeBackend:
        cluster = self.cluster
        return EksEdgeBackend(cluster_name=cluster.name, oidc=cluster.oidc, ready=cluster.ready,
                              workload_security_group_id=cluster.workload_security_group_id,
                              route_dependencies=[self._addons().namespace_resource])

    def monitoring_target(self) -> MonitoringTarget:
        cluster, addons = self.cluster, self._addons()
        return KubernetesMonitoring(oidc=cluster.oidc, ready=cluster.ready,
                                    storage_class=cluster.storage_class, external_secrets=[addons.external_secrets],
                                    agents_namespace=addons.namespace_resource)

    def component_opts(self) -> pulumi.ResourceOptions | None:
        return pulumi.ResourceOptions(providers={"kubernetes": self._provider})

    def exports(self, observability: ObservabilityStack) -> Mapping[str, Any]:
        return {"clusterName": self.cluster.name, "clusterEndpoint": self.cluster.endpoint,
                "grafanaAdminSecretArn": observability.grafana_secret_arn,
                "monitoringNamespace": observability.prometheus_namespace}
