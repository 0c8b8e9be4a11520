"""Edge routing policies for the shape that replaced ingress-nginx: the ALB adds the security headers itself,
TargetGroupBindings register pod IPs in `ip` target groups without touching security groups, every `ip` target
group has something registering targets, and retired routing charts are not installed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs, Severity, StackValidationArgs

from ._common import Report, Settings, depends_on, get, known, of_type, pci_dss, resource_policy, soc2, stack_policy
from .aws_edge import LISTENERS

TARGET_GROUP_BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
TARGET_GROUP_ATTACHMENTS = ("aws:lb/targetGroupAttachment:TargetGroupAttachment",
                            "aws:alb/targetGroupAttachment:TargetGroupAttachment",
                            "aws:autoscaling/attachment:Attachment",
                            "aws:autoscaling/group:Group")
HELM_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v4:Chart")
# ingress-nginx: retired upstream (best-effort maintenance ended March 2026, no further security fixes).
RETIRED_CHARTS = ["ingress-nginx"]
_MAX_AGE = re.compile(r"max-age=(\d+)")

# Listener attribute (pulumi-aws 7.x Listener input) -> header it makes the ALB add.
HSTS = "routingHttpResponseStrictTransportSecurityHeaderValue"
NOSNIFF = "routingHttpResponseXContentTypeOptionsHeaderValue"
FRAME = "routingHttpResponseXFrameOptionsHeaderValue"
SERVER = "routingHttpResponseServerEnabled"


def _check_security_headers(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    props = args.props
    if str(get(props, "protocol", default="HTTP")).upper() != "HTTPS":
        return
    hsts = get(props, HSTS)
    match = _MAX_AGE.search(str(hsts)) if hsts else None
    minimum = int(settings["minHstsMaxAgeSeconds"])
    if match is None:
        report(f"{HSTS} is not set: browsers are not told to refuse plain HTTP (Strict-Transport-Security).")
    elif int(match[1]) < minimum:
        report(f"Strict-Transport-Security max-age={match[1]} is below {minimum} seconds.")
    if get(props, NOSNIFF) != "nosniff":
        report(f"{NOSNIFF} is not 'nosniff': browsers may sniff responses into executable content.")
    if get(props, FRAME) not in ("DENY", "SAMEORIGIN"):
        report(f"{FRAME} is not DENY or SAMEORIGIN: pages can be framed by any site (clickjacking).")
    if settings["requireServerHeaderOff"] and str(get(props, SERVER)).lower() != "false":
        report(f"{SERVER} is not false: every response advertises the load balancer (nginx's server-tokens off).")


def _check_binding(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    spec: Mapping[str, Any] = get(args.props, "spec", default={}) or {}
    if get(spec, "targetType") != "ip":
        report("spec.targetType is not 'ip': set it explicitly so pods are registered by IP (readiness gates, no "
               "NodePort hop); without it the webhook copies whatever the target group says.")
    if not get(spec, "targetGroupARN"):
        report("spec.targetGroupARN is not set: name the program's target group by ARN, not by a name lookup.")
    if not settings["allowNetworking"] and get(spec, "networking") is not None:
        report("spec.networking is set: the controller would add security-group rules outside the program; "
               "declare the load balancer-to-pod rules as aws.vpc.SecurityGroupIngressRule instead.")
    if not get(spec, "serviceRef", "name"):
        report("spec.serviceRef.name is not set.")


def _check_ip_groups_bound(args: StackValidationArgs, settings: Settings, report: Report) -> None:
    registered: set[str] = set()
    for res in of_type(args.resources, TARGET_GROUP_BINDING, *TARGET_GROUP_ATTACHMENTS):
        registered.update(r.urn for r in depends_on(res))
    for group in of_type(args.resources, *TARGET_GROUPS):
        if known(lambda group=group: get(group.props, "targetType")) != "ip":
            continue
        if group.urn not in registered:
            report(f"Target group {group.name} (ip) has no TargetGroupBinding or attachment: nothing registers "
                   "targets, so every request routed to it gets a 503.", group.urn)


def _chart(props: Mapping[str, Any]) -> str:
    chart = str(get(props, "chart", default="") or "")
    return chart.rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]


def _check_not_retired(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = _chart(args.props)
    if chart in [str(c) for c in settings["retiredCharts"]]:
        report(f"Chart {chart} is retired upstream and receives no security fixes; move its job elsewhere (the "
               "edge uses ALB listener rules and TargetGroupBindings instead of ingress-nginx).")


POLICIES: list[Policy] = [
    resource_policy(
        "alb-security-headers",
        description="HTTPS listeners make the load balancer add HSTS, nosniff and frame options and hide its "
                    "Server header.",
        resource_types=LISTENERS,
        check=_check_security_headers,
        severity=Severity.MEDIUM,
        remediation="Set routing_http_response_strict_transport_security_header_value, "
                    "routing_http_response_x_content_type_options_header_value=\"nosniff\", "
                    "routing_http_response_x_frame_options_header_value=\"DENY\" and "
                    "routing_http_response_server_enabled=False on the HTTPS listener (from edge.headers).",
        refs=[soc2("CC6.6")],
        config={"minHstsMaxAgeSeconds": {"type": "integer", "minimum": 0, "default": 31_536_000,
                                         "description": "Smallest Strict-Transport-Security max-age accepted."},
                "requireServerHeaderOff": {"type": "boolean", "default": True,
                                           "description": "Require the Server response header to be off."}},
    ),
    resource_policy(
        "target-group-binding-ip",
        description="TargetGroupBindings register pods by IP in a target group named by ARN and leave security "
                    "groups to the program.",
        resource_types=[TARGET_GROUP_BINDING],
        check=_check_binding,
        severity=Severity.MEDIUM,
        remediation="Set spec.targetType: ip, spec.targetGroupARN: <aws.lb.TargetGroup>.arn and spec.serviceRef; "
                    "omit spec.networking and declare the ALB-to-pod security-group rules in the program.",
        refs=[soc2("CC6.6")],
        config={"allowNetworking": {"type": "boolean", "default": False,
                                    "description": "Allow spec.networking (controller-managed security-group "
                                                   "rules)."}},
    ),
    stack_policy(
        "alb-ip-target-groups-bound",
        description="Every `ip` target group has a TargetGroupBinding (or attachment) registering its targets.",
        check=_check_ip_groups_bound,
        severity=Severity.MEDIUM,
        remediation="Create a TargetGroupBinding (elbv2.k8s.aws/v1beta1) whose spec.targetGroupARN is the target "
                    "group's arn, or attach targets with aws.lb.TargetGroupAttachment.",
        topic=("availability",),
        refs=[soc2("A1.2")],
    ),
    resource_policy(
        "helm-chart-not-retired",
        description="No Helm chart that is retired upstream (no more security fixes) is installed.",
        resource_types=HELM_TYPES,
        check=_check_not_retired,
        severity=Severity.HIGH,
        remediation="Replace the chart: ingress-nginx's routing moved to ALB listener rules, TargetGroupBindings "
                    "and WAF rules (docs/edge.md).",
        refs=[pci_dss("6.3.3", "All system components are protected from known vulnerabilities by installing "
                               "applicable security patches/updates"),
              soc2("CC7.1")],
        config={"retiredCharts": {"type": "array", "items": {"type": "string"}, "default": RETIRED_CHARTS,
                                  "description": "Chart names that must not be installed."}},
    ),
]
