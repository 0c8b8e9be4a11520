"""Edge: the one public entry point of an environment.

EKS: Internet -> ALB (TLS 1.2+, WAF, security headers, HTTP only redirects) -> one `ip` target group per `api`
service -> its pods directly. The AWS Load Balancer Controller keeps each target group's targets equal to the
Service's ready pod IPs (TargetGroupBinding) and nothing else; the ALB, its rules, the WAF, the certificate,
DNS and the security-group rules stay in this program. VM runtime: the same ALB forwards to nginx on each
service's instances. What stands behind the routes is the runtime's EdgeBackend (backends.py). One ALB per
environment: services share it and are told apart by host and path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.core.context import StackContext
from components.data.buckets import LOAD_BALANCER_PREFIX
from components.edge.backends import EdgeBackend, EdgeSite
from components.edge.listeners import COMPONENT, load_balancer_group
from components.edge.tls import alias_records, certificate_arn, hosted_zone_id
from components.edge.waf import waf_logging, web_acl
from config.edge import EdgeConfig, Route, routes
from config.services import ServiceConfig

# The logs bucket's policy lets load balancers write under this prefix only.
ACCESS_LOGS_PREFIX = LOAD_BALANCER_PREFIX


@dataclass(frozen=True)
class EdgeArgs:
    """The edge's config, the services it routes to, and where it plugs into network, cluster and logging.

    ``logs_bucket_name`` receives ALB access logs under ``ACCESS_LOGS_PREFIX``: its bucket policy must let
    the load balancer log delivery put objects there (SSE-S3; ALB logs cannot use KMS). ``logs_bucket_ready``
    are the resources that make that true (the bucket policy itself: a dependency on the data tier component
    does not reach resources parented to its bucket), so the ALB, which tests delivery when it is created,
    comes after them. ``backend`` is what stands behind the routes on this stack's runtime (backends.py).
    """

    config: EdgeConfig
    context: StackContext
    services: Mapping[str, ServiceConfig]
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    public_subnet_ids: Sequence[pulumi.Input[str]]
    backend: EdgeBackend
    logs_bucket_name: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    logs_bucket_ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    # A DR stack takes over the source stack's public names: its alias records overwrite the source's (the DNS
    # failover of docs/runbooks/disaster-recovery.md); every other stack refuses to overwrite an existing record.
    take_over_dns: bool = False


class Edge(pulumi.ComponentResource):
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

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:edge:EdgeProxy", name, None, opts)
        cfg, context = args.config, args.context
        if not cfg.enabled:
            raise ValueError("Edge needs edge.domain; the config validation should have required it")
        self._name, self._cfg, self._context = name, cfg, context
        self.routes = routes(cfg, args.services)
        tags = context.tags(COMPONENT)
        self.target_group_arn_suffixes = {}
        self.web_acl_name = None

        lb_sg = load_balancer_group(name, args.vpc_id, tags=context.tags, parent=self)
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
            enable_deletion_protection=context.protect,
            enable_http2=True,
            # Services (and nginx on VMs) read the client address from the last X-Forwarded-For hop.
            xff_header_processing_mode="append",
            enable_waf_fail_open=False,
            access_logs={"bucket": args.logs_bucket_name, "prefix": ACCESS_LOGS_PREFIX, "enabled": True},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.logs_bucket_ready)),
        )
        site = EdgeSite(name, self, cfg, context, self.routes, args.services, args.vpc_id, args.vpc_cidr, alb, lb_sg,
                        cert_arn)
        wiring = args.backend.wire(site)
        acl = self._waf_and_dns(args, alb, per_route=wiring.waf_route_rules)
        args.backend.after_waf(site, wiring)
        self.target_group_arn_suffixes = dict(wiring.target_group_arn_suffixes)
        self.web_acl_name = acl.name if wiring.waf_route_rules else None
        self._finish(alb, wiring.first_target_group_arn_suffix, lb_sg, acl)

    def _waf_and_dns(self, args: EdgeArgs, alb: aws.lb.LoadBalancer, *, per_route: bool) -> aws.wafv2.WebAcl:
        """The web ACL (on EKS also carrying the per-route limits nginx applied) and the routes' DNS names."""
        name, cfg, context, tags = self._name, self._cfg, self._context, self._context.tags(COMPONENT)
        acl = web_acl(name, cfg.waf, health_paths=[r.health_path for r in self.routes],
                      metric_prefix=context.name, tags=tags, parent=self,
                      routes=self.routes if per_route else ())
        aws.wafv2.WebAclAssociation(f"{name}-waf-association", resource_arn=alb.arn, web_acl_arn=acl.arn,
                                    opts=pulumi.ResourceOptions(parent=acl))
        waf_logging(name, acl, cfg.waf, log_group_name=f"aws-waf-logs-{context.name}",
                    kms_key_arn=args.logs_key_arn, tags=tags, parent=self)
        alias_records(name, [r.host for r in self.routes], zone_id=self._zone_id, dns_name=alb.dns_name,
                      lb_zone_id=alb.zone_id, ipv6=cfg.ip_address_type == "dualstack", parent=self,
                      overwrite=args.take_over_dns)
        return acl

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
