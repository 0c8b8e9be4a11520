"""EdgeProxy: the one public entry point of an environment.

EKS: Internet -> ALB (TLS 1.2+, WAF, security headers, HTTP only redirects) -> one `ip` target group per `api`
service -> its pods directly. The AWS Load Balancer Controller keeps each target group's targets equal to the
Service's ready pod IPs (TargetGroupBinding) and nothing else; the ALB, its rules, the WAF, the certificate,
DNS and the security-group rules stay in this program. VM runtime: the same ALB forwards to nginx on each
service's instances (edge_vm.py). One ALB per environment: services share it and are told apart by host and path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.cluster.eks import Cluster
from components.core.context import Platform
from components.data.buckets import LOAD_BALANCER_PREFIX
from components.edge.lbc import LoadBalancerController
from components.edge.listeners import COMPONENT, VmTarget, listeners, load_balancer_group, route_rules, vm_listeners
from components.edge.tls import alias_records, certificate_arn, hosted_zone_id
from components.edge.waf import waf_logging, web_acl
from config.edge import EdgeConfig, Route, routes
from config.services import MONITORING_NAMESPACE, SERVICES_NAMESPACE, ServiceConfig

# The logs bucket's policy lets load balancers write under this prefix only.
ACCESS_LOGS_PREFIX = LOAD_BALANCER_PREFIX
# EKS listener rules start here (1-50,000 allowed). Clear of the priorities the ingress-nginx era used (100+), so
# on migration the new rules are created beside the old host rule, which keeps routing to the nodes until Pulumi
# deletes it at the end of the update (a listener refuses two rules with one priority).
FIRST_EKS_RULE_PRIORITY = 1000


@dataclass(frozen=True)
class EdgeProxyArgs:
    """The edge's config, the services it routes to, and where it plugs into network, cluster and logging.

    ``logs_bucket_name`` receives ALB access logs under ``ACCESS_LOGS_PREFIX``: its bucket policy must let
    the load balancer log delivery put objects there (SSE-S3; ALB logs cannot use KMS). ``logs_bucket_ready``
    are the resources that make that true (the bucket policy itself: a dependency on the data tier component
    does not reach resources parented to its bucket), so the ALB, which tests delivery when it is created,
    comes after them. ``route_dependencies`` are what the TargetGroupBindings need first (the services'
    namespace and Services).
    """

    config: EdgeConfig
    platform: Platform
    services: Mapping[str, ServiceConfig]
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    public_subnet_ids: Sequence[pulumi.Input[str]]
    cluster: Cluster | None
    logs_bucket_name: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    logs_bucket_ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    route_dependencies: Sequence[pulumi.Resource] = field(default_factory=tuple)
    # runtime: vm (no cluster): the ALB forwards each route to its service's target group (edge_vm.py).
    vm_targets: Mapping[str, VmTarget] | None = None


class EdgeProxy(pulumi.ComponentResource):
    """ALB + ACM + Route 53 + WAF, routing each `api` service's host and path to its own target group."""

    load_balancer_arn_suffix: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str] | None
    # Route's service -> its target group's ARN suffix (CloudWatch TargetGroup dimension).
    target_group_arn_suffixes: dict[str, pulumi.Output[str]]
    load_balancer_dns_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    web_acl_arn: pulumi.Output[str]
    # EKS only (the VM runtime's alarms are unchanged): the web ACL's name, the AWS/WAFV2 WebACL dimension.
    web_acl_name: pulumi.Output[str] | None
    routes: list[Route]

    def __init__(self, name: str, args: EdgeProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:edge:EdgeProxy", name, None, opts)
        cfg, platform = args.config, args.platform
        if not cfg.enabled:
            raise ValueError("EdgeProxy needs edge.domain; the config validation should have required it")
        self._name, self._cfg, self._platform = name, cfg, platform
        self.routes = routes(cfg, args.services)
        tags = platform.tags(COMPONENT)
        self.target_group_arn_suffixes = {}
        self.web_acl_name = None

        lb_sg = load_balancer_group(name, args.vpc_id, tags=platform.tags, parent=self)
        zone_id = hosted_zone_id(cfg)
        self._zone_id = zone_id
        cert_arn = certificate_arn(name, cfg, self.routes, zone_id=zone_id, tags=tags, parent=self)

        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            ip_address_type=cfg.ip_address_type,
            security_groups=[lb_sg.id],
            subnets=list(args.public_subnet_ids),
            drop_invalid_header_fields=True,
            # Also the limit of a streamed response's silences and of idle WebSockets (edge.idleTimeoutSeconds).
            idle_timeout=cfg.idle_timeout_seconds,
            enable_deletion_protection=platform.protect,
            enable_http2=True,
            # Services (and nginx on VMs) read the client address from the last X-Forwarded-For hop.
            xff_header_processing_mode="append",
            enable_waf_fail_open=False,
            access_logs={"bucket": args.logs_bucket_name, "prefix": ACCESS_LOGS_PREFIX, "enabled": True},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.logs_bucket_ready)),
        )
        if args.cluster is None:
            self._vm_edge(args, alb, lb_sg, cert_arn, tags)
            return
        self._eks_edge(args, alb, lb_sg, cert_arn, tags)

    def _eks_edge(self, args: EdgeProxyArgs, alb: aws.lb.LoadBalancer, lb_sg: aws.ec2.SecurityGroup,
                  cert_arn: pulumi.Input[str], tags: Mapping[str, str]) -> None:
        """One `ip` target group per route, bound to its Service by the controller; rules per host/path/health."""
        name, cfg, platform, cluster = self._name, self._cfg, self._platform, args.cluster
        assert cluster is not None
        target_groups = {route.service: self._target_group(route, args.services[route.service], args.vpc_id, tags)
                         for route in self.routes}
        https = listeners(name, cfg, alb=alb, cert_arn=cert_arn, tags=tags)
        route_rules(name, self.routes, {s: tg.arn for s, tg in target_groups.items()}, https=https, tags=tags,
                    health_rules=True, first_priority=FIRST_EKS_RULE_PRIORITY)
        self._pod_security_group_rules(args, lb_sg, cluster.workload_security_group_id)
        acl = self._waf_and_dns(args, alb)

        controller = LoadBalancerController(
            f"{name}-lb-controller", cfg.controller, oidc=cluster.oidc, cluster_name=cluster.name,
            region=platform.region, vpc_id=args.vpc_id, target_group_arns=[tg.arn for tg in target_groups.values()],
            monitoring_namespace=MONITORING_NAMESPACE, tags=tags, provider=cluster.provider, ready=cluster.ready,
            parent=self)
        for route in self.routes:
            controller.bind(f"{name}-{route.service}-binding", service=route.service, namespace=SERVICES_NAMESPACE,
                            port=route.port, target_group_arn=target_groups[route.service].arn, vpc_id=args.vpc_id,
                            depends_on=args.route_dependencies)
        self.target_group_arn_suffixes = {s: tg.arn_suffix for s, tg in target_groups.items()}
        self.web_acl_name = acl.name
        first = target_groups[self.routes[0].service].arn_suffix if self.routes else None
        self._finish(alb, first, lb_sg, acl)

    def _target_group(self, route: Route, svc: ServiceConfig, vpc_id: pulumi.Input[str],
                      tags: Mapping[str, str]) -> aws.lb.TargetGroup:
        """Pod IPs on the service port, health-checked on its readiness path like the kubelet does."""
        return aws.lb.TargetGroup(
            f"{self._name}-{route.service}-targets",
            target_type="ip",
            ip_address_type="ipv4",
            protocol="HTTP",
            port=route.port,
            vpc_id=vpc_id,
            # A terminating pod keeps serving in-flight LLM calls while the ALB drains it.
            deregistration_delay=svc.termination_grace_period_seconds - svc.pre_stop_delay_seconds,
            health_check={"enabled": True, "protocol": "HTTP", "port": "traffic-port",
                          "path": svc.probes.readiness_path, "matcher": "200", "interval": 15, "timeout": 5,
                          "healthy_threshold": 2, "unhealthy_threshold": 3},
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _pod_security_group_rules(self, args: EdgeProxyArgs, lb_sg: aws.ec2.SecurityGroup,
                                  workload_sg_id: pulumi.Input[str]) -> None:
        """The ALB may reach the pods (which use the nodes' workload group) on the service ports, nothing else."""
        name, tags = self._name, self._platform.tags(COMPONENT)
        rule_opts = pulumi.ResourceOptions(parent=lb_sg)
        for port in sorted({r.port for r in self.routes}):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-alb-to-pods-{port}", security_group_id=lb_sg.id, cidr_ipv4=args.vpc_cidr,
                ip_protocol="tcp", from_port=port, to_port=port,
                description=f"To agent service pods on port {port}", tags=dict(tags), opts=rule_opts)
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-pods-from-alb-{port}", security_group_id=workload_sg_id,
                referenced_security_group_id=lb_sg.id, ip_protocol="tcp", from_port=port, to_port=port,
                description=f"Edge load balancer to agent service pods on port {port}", tags=dict(tags),
                opts=rule_opts)

    def _waf_and_dns(self, args: EdgeProxyArgs, alb: aws.lb.LoadBalancer) -> aws.wafv2.WebAcl:
        """The web ACL (on EKS also carrying the per-route limits nginx applied) and the routes' DNS names."""
        name, cfg, platform, tags = self._name, self._cfg, self._platform, self._platform.tags(COMPONENT)
        acl = web_acl(name, cfg.waf, health_paths=[r.health_path for r in self.routes],
                      metric_prefix=platform.config.name, tags=tags, parent=self,
                      routes=self.routes if args.cluster is not None else ())
        aws.wafv2.WebAclAssociation(f"{name}-waf-association", resource_arn=alb.arn, web_acl_arn=acl.arn,
                                    opts=pulumi.ResourceOptions(parent=acl))
        waf_logging(name, acl, cfg.waf, log_group_name=f"aws-waf-logs-{platform.config.name}",
                    kms_key_arn=args.logs_key_arn, tags=tags, parent=self)
        alias_records(name, [r.host for r in self.routes], zone_id=self._zone_id, dns_name=alb.dns_name,
                      lb_zone_id=alb.zone_id, ipv6=cfg.ip_address_type == "dualstack", parent=self)
        return acl

    def _vm_edge(self, args: EdgeProxyArgs, alb: aws.lb.LoadBalancer, lb_sg: aws.ec2.SecurityGroup,
                 cert_arn: pulumi.Input[str], tags: Mapping[str, str]) -> None:
        targets = dict(args.vm_targets or {})
        missing = sorted(r.service for r in self.routes if r.service not in targets)
        if missing:
            raise ValueError(f"EdgeProxy on the VM runtime has no target group for {', '.join(missing)}")
        vm_listeners(self._name, self._cfg, self.routes, targets, alb=alb, lb_sg=lb_sg, cert_arn=cert_arn,
                     vpc_cidr=args.vpc_cidr, platform=self._platform)
        acl = self._waf_and_dns(args, alb)
        first = targets[self.routes[0].service].target_group.arn_suffix if self.routes else None
        self._finish(alb, first, lb_sg, acl)

    def _finish(self, alb: aws.lb.LoadBalancer, target_group_arn_suffix: pulumi.Output[str] | None,
                lb_sg: aws.ec2.SecurityGroup, acl: aws.wafv2.WebAcl) -> None:
        self.load_balancer_arn_suffix = alb.arn_suffix
        self.target_group_arn_suffix = target_group_arn_suffix  # type: ignore[assignment]
        self.load_balancer_dns_name = alb.dns_name
        self.security_group_id = lb_sg.id
        self.web_acl_arn = acl.arn
        self.register_outputs({
            "load_balancer_arn_suffix": self.load_balancer_arn_suffix,
            "target_group_arn_suffix": self.target_group_arn_suffix,
            "target_group_arn_suffixes": self.target_group_arn_suffixes,
            "load_balancer_dns_name": self.load_balancer_dns_name,
            "security_group_id": self.security_group_id,
            "web_acl_arn": self.web_acl_arn,
        })
