"""EdgeProxy: the one public entry point of an environment.

Internet -> ALB (TLS 1.2+, WAF, HTTP only redirects) -> fixed NodePort on every node -> ingress-nginx
(security headers, per-route rate limits, long timeouts) -> the `api` services. One ALB per environment:
services share it and are told apart by host and path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.cluster import Cluster
from components.context import Platform
from components.data_buckets import LOAD_BALANCER_PREFIX
from components.edge_ingress import HEALTHZ_PATH, IngressController
from components.edge_tls import alias_records, certificate_arn, hosted_zone_id
from components.edge_vm import COMPONENT, load_balancer_group, vm_listeners
from components.edge_waf import waf_logging, web_acl
from config.edge import EdgeConfig, Route, routes
from config.services import ServiceConfig

# The logs bucket's policy lets load balancers write under this prefix only.
ACCESS_LOGS_PREFIX = LOAD_BALANCER_PREFIX
# An ALB listener rule matches at most five host names.
HOSTS_PER_RULE = 5
FIRST_RULE_PRIORITY = 100


@dataclass(frozen=True)
class VmTarget:
    """An api service on the VM runtime: its own target group and the security group of its instances."""

    target_group: aws.lb.TargetGroup
    security_group_id: pulumi.Input[str]
    port: int


@dataclass(frozen=True)
class EdgeProxyArgs:
    """The edge's config, the services it routes to, and where it plugs into network, cluster and logging.

    ``logs_bucket_name`` receives ALB access logs under ``ACCESS_LOGS_PREFIX``: its bucket policy must let
    the load balancer log delivery put objects there (SSE-S3; ALB logs cannot use KMS). ``logs_bucket_ready``
    are the resources that make that true (the bucket policy itself: a dependency on the data tier component
    does not reach resources parented to its bucket), so the ALB, which tests delivery when it is created,
    comes after them. ``route_dependencies`` are what the Ingresses need first (the services' namespace).
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
    """ALB + ACM + Route 53 + WAF in front of ingress-nginx, which routes to every `api` service."""

    load_balancer_arn_suffix: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str] | None
    load_balancer_dns_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    web_acl_arn: pulumi.Output[str]
    routes: list[Route]

    def __init__(self, name: str, args: EdgeProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:edge:EdgeProxy", name, None, opts)
        cfg, platform = args.config, args.platform
        if not cfg.enabled:
            raise ValueError("EdgeProxy needs edge.domain; the config validation should have required it")
        self._name, self._cfg, self._platform = name, cfg, platform
        self.routes = routes(cfg, args.services)
        tags = platform.tags(COMPONENT)
        child = pulumi.ResourceOptions(parent=self)
        node_port = cfg.controller.node_port

        lb_sg = self._security_groups(args, node_port) if args.cluster is not None else load_balancer_group(
            name, args.vpc_id, tags=platform.tags, parent=self)
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
            idle_timeout=cfg.idle_timeout_seconds,
            enable_deletion_protection=platform.protect,
            enable_http2=True,
            # nginx trusts the last X-Forwarded-For hop from the VPC: the ALB must append the client address.
            xff_header_processing_mode="append",
            enable_waf_fail_open=False,
            access_logs={"bucket": args.logs_bucket_name, "prefix": ACCESS_LOGS_PREFIX, "enabled": True},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.logs_bucket_ready)),
        )
        if args.cluster is None:
            self._vm_edge(args, alb, lb_sg, cert_arn, tags)
            return
        target_group = aws.lb.TargetGroup(
            f"{name}-nodes",
            target_type="instance",
            protocol="HTTP",
            port=node_port,
            vpc_id=args.vpc_id,
            # Nodes leaving the group keep serving in-flight LLM calls for as long as the ALB would wait.
            deregistration_delay=cfg.idle_timeout_seconds,
            health_check={"enabled": True, "protocol": "HTTP", "port": "traffic-port", "path": HEALTHZ_PATH,
                          "matcher": "200", "interval": 15, "timeout": 5, "healthy_threshold": 2,
                          "unhealthy_threshold": 3},
            tags=tags,
            opts=child,
        )
        for group_name, node_group in zip(platform.config.cluster.node_groups, args.cluster.node_groups, strict=True):
            aws.autoscaling.Attachment(
                f"{name}-{group_name}-targets",
                autoscaling_group_name=node_group.resources.apply(lambda r: r[0].autoscaling_groups[0].name),
                lb_target_group_arn=target_group.arn,
                opts=pulumi.ResourceOptions(parent=target_group),
            )
        self._listeners(alb, target_group, cert_arn, tags)

        acl = self._waf_and_dns(args, alb)

        controller = IngressController(
            f"{name}-ingress-nginx", cfg, vpc_cidr=args.vpc_cidr, status_address=alb.dns_name,
            provider=args.cluster.provider, ready=args.cluster.ready, parent=self)
        for route in self.routes:
            controller.route(route, args.route_dependencies)

        self._finish(alb, target_group.arn_suffix, lb_sg, acl)

    def _waf_and_dns(self, args: EdgeProxyArgs, alb: aws.lb.LoadBalancer) -> aws.wafv2.WebAcl:
        name, cfg, platform, tags = self._name, self._cfg, self._platform, self._platform.tags(COMPONENT)
        acl = web_acl(name, cfg.waf, health_paths=[r.health_path for r in self.routes],
                      metric_prefix=platform.config.name, tags=tags, parent=self)
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
            "load_balancer_dns_name": self.load_balancer_dns_name,
            "security_group_id": self.security_group_id,
            "web_acl_arn": self.web_acl_arn,
        })

    def _security_groups(self, args: EdgeProxyArgs, node_port: int) -> aws.ec2.SecurityGroup:
        """The ALB's group (web ports from anywhere, out only to the nodePort) and the one door into the nodes."""
        name, tags = self._name, self._platform.tags
        assert args.cluster is not None
        sg = load_balancer_group(name, args.vpc_id, tags=tags, parent=self)
        rule_opts = pulumi.ResourceOptions(parent=sg)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-nodes",
            security_group_id=sg.id,
            cidr_ipv4=args.vpc_cidr,
            ip_protocol="tcp", from_port=node_port, to_port=node_port,
            description="To the ingress controller's nodePort on the cluster nodes",
            tags=tags(COMPONENT),
            opts=rule_opts,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-nodes-from-alb",
            security_group_id=args.cluster.workload_security_group_id,
            referenced_security_group_id=sg.id,
            ip_protocol="tcp", from_port=node_port, to_port=node_port,
            description="Edge load balancer to the ingress controller's nodePort",
            tags=tags(COMPONENT),
            opts=rule_opts,
        )
        return sg

    def _listeners(self, alb: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup,
                   cert_arn: pulumi.Input[str], tags: Mapping[str, str]) -> None:
        """HTTP only redirects; HTTPS forwards configured hosts and answers 404 to anything else."""
        name = self._name
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[{"type": "redirect",
                              "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=alb),
        )
        https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=self._cfg.tls_policy,
            certificate_arn=cert_arn,
            default_actions=[{"type": "fixed-response", "fixed_response": {
                "content_type": "text/plain", "message_body": "Not Found", "status_code": "404"}}],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=alb),
        )
        hosts = sorted({r.host for r in self.routes})
        # Named by slot on purpose, unlike other list-built resources: slot i always holds priority
        # FIRST_RULE_PRIORITY + i, so a new host updates a slot's host list in place. Naming rules by host would
        # replace rules whose priority another rule still holds (ALB answers PriorityInUse).
        for i in range(0, len(hosts), HOSTS_PER_RULE):
            chunk = hosts[i:i + HOSTS_PER_RULE]
            aws.lb.ListenerRule(
                f"{name}-hosts-{i // HOSTS_PER_RULE}",
                listener_arn=https.arn,
                priority=FIRST_RULE_PRIORITY + i // HOSTS_PER_RULE,
                conditions=[{"host_header": {"values": chunk}}],
                actions=[{"type": "forward", "target_group_arn": target_group.arn}],
                tags=dict(tags),
                opts=pulumi.ResourceOptions(parent=https),
            )
