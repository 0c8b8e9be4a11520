"""The seam between the edge and the runtime: what stands behind the load balancer's routes.

Edge builds what every runtime shares (ALB, its security group, certificate, WAF, DNS) and hands the
rest to its backend: on EKS, one ``ip`` target group per route kept equal to the Service's pods by the AWS
Load Balancer Controller; on VMs, the target group each service's Auto Scaling group registers into.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_aws as aws

from components.core.context import StackContext
from components.core.irsa import OidcIssuer
from components.core.namespace import kubernetes_provider
from components.edge.lbc import LoadBalancerController
from components.edge.listeners import COMPONENT, VmTarget, listeners, route_rules, vm_listeners
from config.edge import EdgeConfig, Route
from config.services import MONITORING_NAMESPACE, SERVICES_NAMESPACE, ServiceConfig

# EKS listener rules start here (1-50,000 allowed). Clear of the priorities the ingress-nginx era used (100+), so
# on migration the new rules are created beside the old host rule, which keeps routing to the nodes until Pulumi
# deletes it at the end of the update (a listener refuses two rules with one priority).
FIRST_EKS_RULE_PRIORITY = 1000


@dataclass(frozen=True)
class EdgeSite:
    """What the edge built and the backend plugs into; ``parent`` is the Edge component."""

    name: str
    parent: pulumi.Resource
    config: EdgeConfig
    context: StackContext
    routes: Sequence[Route]
    services: Mapping[str, ServiceConfig]
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    alb: aws.lb.LoadBalancer
    lb_sg: aws.ec2.SecurityGroup
    cert_arn: pulumi.Input[str]


@dataclass(frozen=True)
class Wiring:
    """What the backend reports back for alarms and dashboards (CloudWatch ``TargetGroup`` dimensions).

    ``target_group_arn_suffixes`` are the per-service target groups the edge alarms on; on VMs each service's
    alarms come with its Auto Scaling group instead (VmServiceRefs), so the VM backend publishes none.
    """

    target_group_arn_suffixes: Mapping[str, pulumi.Output[str]]
    first_target_group_arn_suffix: pulumi.Output[str] | None
    # Whether the WAF carries the per-route limits and is alarmed on (on VMs nginx on the instances applies them).
    waf_route_rules: bool


class EdgeBackend(Protocol):
    def wire(self, site: EdgeSite) -> Wiring:
        """Register listeners, routing and security-group rules from the ALB to the runtime's targets."""
        ...

    def after_waf(self, site: EdgeSite, wiring: Wiring) -> None:
        """Register what must follow the web ACL (nothing on VMs)."""
        ...


@dataclass(frozen=True)
class EksEdgeBackend:
    """Pods behind `ip` target groups, bound to their Services by the AWS Load Balancer Controller.

    ``route_dependencies`` are what the TargetGroupBindings need first (the services' namespace and Services).
    """

    cluster_name: pulumi.Input[str]
    oidc: OidcIssuer
    ready: Sequence[pulumi.Resource]
    workload_security_group_id: pulumi.Input[str]
    route_dependencies: Sequence[pulumi.Resource] = field(default_factory=tuple)
    _target_groups: dict[str, aws.lb.TargetGroup] = field(default_factory=dict, compare=False)

    def wire(self, site: EdgeSite) -> Wiring:
        tags = site.context.tags(COMPONENT)
        self._target_groups.update({route.service: _target_group(site, route, site.services[route.service], tags)
                                    for route in site.routes})
        https = listeners(site.name, site.config, alb=site.alb, cert_arn=site.cert_arn, tags=tags)
        route_rules(site.name, site.routes, {s: tg.arn for s, tg in self._target_groups.items()}, https=https,
                    tags=tags, health_rules=True, first_priority=FIRST_EKS_RULE_PRIORITY)
        _pod_security_group_rules(site, self.workload_security_group_id, tags)
        suffixes = {s: tg.arn_suffix for s, tg in self._target_groups.items()}
        first = suffixes[site.routes[0].service] if site.routes else None
        return Wiring(suffixes, first, waf_route_rules=True)

    def after_waf(self, site: EdgeSite, wiring: Wiring) -> None:
        name, target_groups = site.name, self._target_groups
        controller = LoadBalancerController(
            f"{name}-lb-controller", site.config.controller, oidc=self.oidc, cluster_name=self.cluster_name,
            region=site.context.region, vpc_id=site.vpc_id,
            target_group_arns=[tg.arn for tg in target_groups.values()], monitoring_namespace=MONITORING_NAMESPACE,
            tags=site.context.tags(COMPONENT), provider=kubernetes_provider(site.parent), ready=self.ready,
            parent=site.parent)
        for route in site.routes:
            controller.bind(f"{name}-{route.service}-binding", service=route.service, namespace=SERVICES_NAMESPACE,
                            port=route.port, target_group_arn=target_groups[route.service].arn, vpc_id=site.vpc_id,
                            depends_on=self.route_dependencies)


@dataclass(frozen=True)
class VmEdgeBackend:
    """Each api service's own target group, which its Auto Scaling group registers instances into."""

    targets: Mapping[str, VmTarget]

    def wire(self, site: EdgeSite) -> Wiring:
        missing = sorted(r.service for r in site.routes if r.service not in self.targets)
        if missing:
            raise ValueError(f"Edge on the VM runtime has no target group for {', '.join(missing)}")
        vm_listeners(site.name, site.config, site.routes, self.targets, alb=site.alb, lb_sg=site.lb_sg,
                     cert_arn=site.cert_arn, vpc_cidr=site.vpc_cidr, context=site.context)
        first = self.targets[site.routes[0].service].target_group.arn_suffix if site.routes else None
        return Wiring({}, first, waf_route_rules=False)

    def after_waf(self, site: EdgeSite, wiring: Wiring) -> None:
        return None


def _target_group(site: EdgeSite, route: Route, svc: ServiceConfig, tags: Mapping[str, str]) -> aws.lb.TargetGroup:
    """Pod IPs on the service port, health-checked on its readiness path like the kubelet does."""
    return aws.lb.TargetGroup(
        f"{site.name}-{route.service}-targets",
        target_type="ip",
        ip_address_type="ipv4",
        protocol="HTTP",
        port=route.port,
        vpc_id=site.vpc_id,
        # A terminating pod keeps serving in-flight LLM calls while the ALB drains it.
        deregistration_delay=svc.termination_grace_period_seconds - svc.pre_stop_delay_seconds,
        health_check={"enabled": True, "protocol": "HTTP", "port": "traffic-port",
                      "path": svc.probes.readiness_path, "matcher": "200", "interval": 15, "timeout": 5,
                      "healthy_threshold": 2, "unhealthy_threshold": 3},
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=site.parent),
    )


def _pod_security_group_rules(site: EdgeSite, workload_sg_id: pulumi.Input[str], tags: Mapping[str, str]) -> None:
    """The ALB may reach the pods (which use the nodes' workload group) on the service ports, nothing else."""
    name, lb_sg = site.name, site.lb_sg
    rule_opts = pulumi.ResourceOptions(parent=lb_sg)
    for port in sorted({r.port for r in site.routes}):
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-pods-{port}", security_group_id=lb_sg.id, cidr_ipv4=site.vpc_cidr,
            ip_protocol="tcp", from_port=port, to_port=port,
            description=f"To agent service pods on port {port}", tags=dict(tags), opts=rule_opts)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-pods-from-alb-{port}", security_group_id=workload_sg_id,
            referenced_security_group_id=lb_sg.id, ip_protocol="tcp", from_port=port, to_port=port,
            description=f"Edge load balancer to agent service pods on port {port}", tags=dict(tags),
            opts=rule_opts)
