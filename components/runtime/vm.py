"""The VM runtime: each service on its own Auto Scaling group; the bootstrap a one-shot instance; no cluster."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pulumi

from components.data.bootstrap_vm import VmBootstrap
from components.edge.backends import EdgeBackend, VmEdgeBackend
from components.edge.listeners import VmTarget
from components.observability.alarms import VmServiceRefs
from components.observability.stack import CloudWatchMonitoring, MonitoringTarget, ObservabilityStack
from components.runtime.seam import DeployedService, RuntimeInputs
from components.services.contract import ServiceDataRefs
from components.services.vm.nginx import ProxySpec
from components.services.vm.service import (
    SharedHostRefs,
    VmAgentService,
    VmAgentServiceArgs,
    VmShared,
    VmSharedArgs,
)
from components.services.vm.shared_host import VmSharedHost, VmSharedHostArgs
from components.services.vm.vector_store import VmVectorStore, VmVectorStoreArgs
from config.edge import routes


class VmRuntime:
    """Builds the keys and workload group every VM service shares on construction; the rest when asked."""

    def __init__(self, inputs: RuntimeInputs) -> None:
        self._inputs = inputs
        self.shared = shared = VmShared("vm-runtime", VmSharedArgs(inputs.context, inputs.vpc_id))
        self.workload_security_groups = {"vm-workloads": shared.workload_security_group_id}
        # No cluster to run the bootstrap Job: a one-shot instance runs it (its root volume uses the VM key).
        self.database_bootstrap = VmBootstrap(vpc_id=inputs.vpc_id, private_subnet_ids=inputs.private_subnet_ids,
                                              volume_key_arn=shared.volume_key_arn, logs_key_arn=inputs.logs_key_arn)
        self._services: dict[str, VmAgentService] = {}
        self.shared_host: VmSharedHost | None = None

    def deploy_services(self, data: ServiceDataRefs) -> Mapping[str, DeployedService]:
        inputs, config, shared = self._inputs, self._inputs.config, self.shared
        edge_routes = {r.service: r for r in routes(config.edge, config.services)}
        route_urls = {name: r.url for name, r in edge_routes.items()}
        shared_refs = None
        if config.vm.shared:
            # Side by side on one docker network: a callee is reached by its container name, not the edge.
            route_urls = {name: f"http://{name}:{svc.port}" for name, svc in config.services.items()}
        if data.vector_store is not None:
            # Qdrant or Weaviate on its own instance in the first private subnet (its volume's zone).
            store = VmVectorStore("vector-store", VmVectorStoreArgs(
                store=data.vector_store, context=inputs.context, vpc_id=inputs.vpc_id, vpc_cidr=inputs.vpc_cidr,
                subnet_id=inputs.private_subnet_ids[0], volume_key_arn=shared.volume_key_arn,
                workload_security_group_id=shared.workload_security_group_id))
            data = dataclasses.replace(data, vector_store_host=store.host, vector_store_peer=store.peer)
        if config.vm.shared:
            self.shared_host = VmSharedHost("shared-host", VmSharedHostArgs(
                config=config.vm, context=inputs.context, data=data, vpc_id=inputs.vpc_id, vpc_cidr=inputs.vpc_cidr,
                private_subnet_ids=inputs.private_subnet_ids, volume_key_arn=shared.volume_key_arn,
                workload_security_group_id=shared.workload_security_group_id, logs_key_arn=inputs.logs_key_arn,
                log_retention_days=config.observability.log_retention_days,
                mongodb=any("mongodb" in s.secrets for s in config.services.values())))
            shared_refs = SharedHostRefs(self.shared_host.role_arn, self.shared_host.security_group_id)
        self._services = {
            name: VmAgentService(f"service-{name}", VmAgentServiceArgs(
                service_name=name, config=service, context=inputs.context, data=data, vpc_id=inputs.vpc_id,
                vpc_cidr=inputs.vpc_cidr, private_subnet_ids=inputs.private_subnet_ids,
                ecr_key_arn=shared.ecr_key_arn, volume_key_arn=shared.volume_key_arn,
                workload_security_group_id=shared.workload_security_group_id,
                logs_key_arn=inputs.logs_key_arn, log_retention_days=config.observability.log_retention_days,
                callee_urls={c: route_urls[c] for c in service.calls if c in route_urls},
                proxy=ProxySpec(config.edge, edge_routes[name], service.probes.readiness_path, inputs.vpc_cidr,
                                alb_in_front=config.edge.public)
                if name in edge_routes else None, image_pull=config.delivery.image_pull, shared_host=shared_refs))
            for name, service in config.services.items()
        }
        if self.shared_host is not None:
            self.shared_host.place([s.placed for s in self._services.values() if s.placed is not None],
                                   [s.target_group.arn for s in self._services.values() if s.target_group is not None])
        return dict(self._services)

    def edge_backend(self) -> EdgeBackend:
        return VmEdgeBackend({name: VmTarget(svc.target_group, svc.security_group_id, svc.target_port)
                              for name, svc in self._services.items() if svc.target_group is not None})

    def monitoring_target(self) -> MonitoringTarget:
        host = self.shared_host
        if host is not None:
            # One group to watch; each api service's target group still has its own unhealthy-hosts alarm.
            refs = [VmServiceRefs(name, host.autoscaling_group_name, 0, svc.target_group.arn_suffix)
                    for name, svc in self._services.items()
                    if svc.target_group is not None and host.autoscaling_group_name is not None]
            if host.autoscaling_group_name is not None:
                refs.insert(0, VmServiceRefs("shared-host", host.autoscaling_group_name, host.min_size))
            return CloudWatchMonitoring(vm_services=refs)
        # A service with no image yet has no group to watch (docs/first-deploy.md).
        return CloudWatchMonitoring(vm_services=[
            VmServiceRefs(name, svc.autoscaling_group_name, svc.min_size,
                          svc.target_group.arn_suffix if svc.target_group is not None else None)
            for name, svc in self._services.items() if svc.autoscaling_group_name is not None])

    def component_opts(self) -> pulumi.ResourceOptions | None:
        return None

    def exports(self, observability: ObservabilityStack) -> Mapping[str, Any]:
        groups = {n: s.autoscaling_group_name for n, s in self._services.items()
                  if s.autoscaling_group_name is not None}
        host = self.shared_host
        if host is not None and host.autoscaling_group_name is not None:
            groups = {n: host.autoscaling_group_name for n, s in self._services.items() if s.placed is not None}
        return {"serviceAutoScalingGroups": groups} if self._services else {}
