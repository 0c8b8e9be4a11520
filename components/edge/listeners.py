"""The edge's listeners on the VM runtime: the ALB itself routes each host/path to its service's target group.

Each target group points at nginx on the service's instances (``vm_proxy``), which applies the route's
rate and connection limits, body size, timeouts and the headers the ALB cannot add. The ALB adds HSTS,
X-Frame-Options, X-Content-Type-Options and Content-Security-Policy as listener attributes, so its own
responses (404, redirects) carry them too; the WAF stays in front of both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core.context import StackContext
from components.edge.priorities import HEALTH, PREFIX, rule_priorities
from components.services.vm.nginx import ALB_HEADERS
from config.edge import EdgeConfig, Route

COMPONENT = "edge"
LB_ROLE = "load-balancer"
# Where the VM runtime's listener rules start (components/edge/priorities.py numbers them from here).
FIRST_VM_RULE_PRIORITY = 100


@dataclass(frozen=True)
class VmTarget:
    """An api service on the VM runtime: its own target group and the security group of its instances."""

    target_group: aws.lb.TargetGroup
    security_group_id: pulumi.Input[str]
    port: int


def load_balancer_group(name: str, vpc_id: pulumi.Input[str], *, tags: Callable[..., dict[str, str]],
                        parent: pulumi.Resource) -> aws.ec2.SecurityGroup:
    """The ALB's security group: HTTPS (and HTTP, which only redirects) from anywhere, IPv4 and IPv6."""
    sg = aws.ec2.SecurityGroup(
        f"{name}-alb-sg",
        vpc_id=vpc_id,
        description="Edge load balancer: HTTPS from the internet, HTTP only to redirect",
        tags=tags(COMPONENT, role=LB_ROLE),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for port, label in ((443, "https"), (80, "http")):
        for family, cidr in (("ipv4", "0.0.0.0/0"), ("ipv6", "::/0")):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-{label}-{family}",
                security_group_id=sg.id,
                ip_protocol="tcp", from_port=port, to_port=port,
                **{f"cidr_{family}": cidr},
                description=f"{label.upper()} from the internet ({family})",
                tags=tags(COMPONENT),
                opts=pulumi.ResourceOptions(parent=sg),
            )
    return sg


def header_attributes(cfg: EdgeConfig) -> dict[str, str | bool]:
    """The security headers the ALB adds itself, as aws.lb.Listener arguments (nginx adds the others)."""
    base = cfg.headers.rendered_base()
    attributes = {f"routing_http_response_{name.lower().replace('-', '_')}_header_value": base[name]
                  for name in ALB_HEADERS}
    # A boolean in pulumi-aws 7.51 (lb.Listener routing_http_response_server_enabled: Input[bool]); the string
    # "false" only passed because the mock engine accepts any value.
    return {**attributes, "routing_http_response_server_enabled": False}


def _path_patterns(path: str) -> list[str]:
    return ["/*"] if path == "/" else [path, f"{path}/*"]


def listeners(name: str, cfg: EdgeConfig, *, alb: aws.lb.LoadBalancer, cert_arn: pulumi.Input[str],
              tags: Mapping[str, str]) -> aws.lb.Listener:
    """HTTP only redirects; HTTPS adds the security headers and answers 404 to anything no rule routes."""
    aws.lb.Listener(
        f"{name}-http", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
        default_actions=[{"type": "redirect",
                          "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}],
        tags=dict(tags), opts=pulumi.ResourceOptions(parent=alb))
    return aws.lb.Listener(
        f"{name}-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS", ssl_policy=cfg.tls_policy,
        certificate_arn=cert_arn,
        default_actions=[{"type": "fixed-response", "fixed_response": {
            "content_type": "text/plain", "message_body": "Not Found", "status_code": "404"}}],
        **header_attributes(cfg),
        tags=dict(tags), opts=pulumi.ResourceOptions(parent=alb))


def route_rules(name: str, routes: Sequence[Route], target_groups: Mapping[str, pulumi.Input[str]], *,
                https: aws.lb.Listener, tags: Mapping[str, str], health_rules: bool = False,
                first_priority: int = FIRST_VM_RULE_PRIORITY) -> None:
    """One rule per route (host + path prefix); with ``health_rules``, each health path first (exact match).

    ALB evaluates rules by ascending priority: health paths come first (the route's prefix would also match
    them), then deeper prefixes before shallower ones; each rule keeps its number when routes are added or removed
    (components/edge/priorities.py).
    """
    ordered = sorted(routes, key=lambda r: (r.host, -len(r.path), r.service))
    priorities = rule_priorities(ordered, first=first_priority, health_rules=health_rules)
    if health_rules:
        for route in ordered:
            aws.lb.ListenerRule(
                f"{name}-route-{route.service}-health",
                listener_arn=https.arn,
                priority=priorities[(route.service, HEALTH)],
                conditions=[{"host_header": {"values": [route.host]}},
                            {"path_pattern": {"values": [route.health_path]}}],
                actions=[{"type": "forward", "target_group_arn": target_groups[route.service]}],
                tags=dict(tags),
                opts=pulumi.ResourceOptions(parent=https),
            )
    for route in ordered:
        aws.lb.ListenerRule(
            f"{name}-route-{route.service}",
            listener_arn=https.arn,
            priority=priorities[(route.service, PREFIX)],
            conditions=[{"host_header": {"values": [route.host]}},
                        {"path_pattern": {"values": _path_patterns(route.path)}}],
            actions=[{"type": "forward", "target_group_arn": target_groups[route.service]}],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=https),
        )


def vm_listeners(name: str, cfg: EdgeConfig, routes: Sequence[Route], targets: Mapping[str, VmTarget], *,
                 alb: aws.lb.LoadBalancer, lb_sg: aws.ec2.SecurityGroup, cert_arn: pulumi.Input[str],
                 vpc_cidr: str, context: StackContext) -> aws.lb.Listener:
    """HTTP redirects; HTTPS forwards each route (host + path) to its service's target group, 404 otherwise."""
    tags = context.tags(COMPONENT)
    https = listeners(name, cfg, alb=alb, cert_arn=cert_arn, tags=tags)
    route_rules(name, routes, {s: t.target_group.arn for s, t in targets.items()}, https=https, tags=tags)
    rule_opts = pulumi.ResourceOptions(parent=lb_sg)
    for port in sorted({t.port for t in targets.values()}):
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-services-{port}", security_group_id=lb_sg.id, cidr_ipv4=vpc_cidr, ip_protocol="tcp",
            from_port=port, to_port=port, description=f"To agent service instances on port {port}",
            tags=dict(tags), opts=rule_opts)
    for service, target in sorted(targets.items()):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-{service}-from-alb", security_group_id=target.security_group_id,
            referenced_security_group_id=lb_sg.id, ip_protocol="tcp", from_port=target.port, to_port=target.port,
            description="Edge load balancer to the service port", tags=dict(tags), opts=rule_opts)
    return https
