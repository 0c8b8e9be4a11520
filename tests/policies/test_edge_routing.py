"""Edge routing policies: ALB-added security headers, TargetGroupBindings by IP without controller-managed
security groups, every `ip` target group bound, no retired routing chart. Each passes the compliant shape,
catches the violating one and stays silent on values unknown during preview."""

from __future__ import annotations

from typing import Any

from tests.policies.support import TAGS, UNKNOWN, found, res

LISTENER = "aws:lb/listener:Listener"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
RELEASE = "kubernetes:helm.sh/v3:Release"
HEADERS = {
    "routingHttpResponseStrictTransportSecurityHeaderValue": "max-age=31536000; includeSubDomains; preload",
    "routingHttpResponseXContentTypeOptionsHeaderValue": "nosniff",
    "routingHttpResponseXFrameOptionsHeaderValue": "DENY",
    "routingHttpResponseServerEnabled": False,
}
TG_ARN = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/edge-chat/0123456789abcdef"


def https(**changes: Any):
    props = {"protocol": "HTTPS", "port": 443, "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "tags": TAGS,
             **HEADERS, **changes}
    return res(LISTENER, "https", {k: v for k, v in props.items() if v is not None})


def binding(name: str = "chat", deps=(), **spec_changes: Any):
    spec = {"serviceRef": {"name": name, "port": 8000}, "targetGroupARN": TG_ARN, "targetType": "ip",
            "ipAddressType": "ipv4", **spec_changes}
    return res(BINDING, f"edge-{name}-binding", {
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
        "metadata": {"name": name, "namespace": "agents"},
        "spec": {k: v for k, v in spec.items() if v is not None}}, prop_deps={"spec": list(deps)})


def target_group(name: str = "edge-chat-targets", target_type: Any = "ip"):
    return res(TARGET_GROUP, name, {"targetType": target_type, "protocol": "HTTP", "port": 8000, "tags": TAGS})


# --- alb-security-headers ---------------------------------------------------------------------------------------


def test_https_listener_with_every_header_attribute_passes():
    assert found("alb-security-headers", https()) == []


def test_missing_or_weak_headers_are_each_reported():
    messages = [v.message for v in found("alb-security-headers", https(
        routingHttpResponseStrictTransportSecurityHeaderValue="max-age=300",
        routingHttpResponseXContentTypeOptionsHeaderValue=None,
        routingHttpResponseXFrameOptionsHeaderValue="ALLOW-FROM https://example.com",
        routingHttpResponseServerEnabled=None))]
    assert len(messages) == 4
    assert any("max-age=300" in m for m in messages) and any("nosniff" in m for m in messages)
    bare = found("alb-security-headers", https(routingHttpResponseStrictTransportSecurityHeaderValue=None))
    assert len(bare) == 1 and "Strict-Transport-Security" in bare[0].message


def test_thresholds_are_configurable_and_http_listeners_are_out_of_scope():
    short = https(routingHttpResponseStrictTransportSecurityHeaderValue="max-age=86400",
                  routingHttpResponseServerEnabled=True)
    config = {"alb-security-headers": {"minHstsMaxAgeSeconds": 86400, "requireServerHeaderOff": False}}
    assert found("alb-security-headers", short, config=config) == []
    (server,) = found("alb-security-headers", https(routingHttpResponseServerEnabled=True))
    assert "Server" not in server.message or "routingHttpResponseServerEnabled" in server.message
    plain_http = res(LISTENER, "http", {"protocol": "HTTP", "port": 80, "tags": TAGS})
    assert found("alb-security-headers", plain_http) == []


def test_unknown_header_values_report_nothing():
    assert found("alb-security-headers", https(routingHttpResponseStrictTransportSecurityHeaderValue=UNKNOWN,
                                               routingHttpResponseServerEnabled=UNKNOWN)) == []


# --- target-group-binding-ip ------------------------------------------------------------------------------------


def test_an_ip_binding_by_arn_without_networking_passes():
    assert found("target-group-binding-ip", binding()) == []


def test_instance_targets_name_lookups_and_controller_security_groups_are_caught():
    networking = {"ingress": [{"from": [{"securityGroup": {"groupID": "sg-0123"}}],
                               "ports": [{"port": 8000, "protocol": "TCP"}]}]}
    messages = [v.message for v in found("target-group-binding-ip", binding(
        targetType="instance", targetGroupARN=None, targetGroupName="edge-chat", networking=networking))]
    assert len(messages) == 3
    assert any("targetType" in m for m in messages) and any("networking" in m for m in messages)
    assert found("target-group-binding-ip", binding(targetType=None))[0].message.startswith("spec.targetType")
    allowed = {"target-group-binding-ip": {"allowNetworking": True}}
    assert found("target-group-binding-ip", binding(networking=networking), config=allowed) == []


def test_an_unknown_target_group_arn_is_not_reported():
    assert found("target-group-binding-ip", binding(targetGroupARN=UNKNOWN)) == []


# --- alb-ip-target-groups-bound ----------------------------------------------------------------------------------


def test_an_ip_target_group_with_a_binding_passes_and_one_without_is_caught():
    group = target_group()
    assert found("alb-ip-target-groups-bound", group, binding(deps=[group])) == []
    (violation,) = found("alb-ip-target-groups-bound", group, binding(deps=[]))
    assert "edge-chat-targets" in violation.message and "503" in violation.message


def test_instance_target_groups_and_unknown_types_are_out_of_scope():
    assert found("alb-ip-target-groups-bound", target_group(target_type="instance")) == []
    assert found("alb-ip-target-groups-bound", target_group(target_type=UNKNOWN)) == []


# --- helm-chart-not-retired --------------------------------------------------------------------------------------


def release(chart: str, name: str = "edge-router"):
    return res(RELEASE, name, {"chart": chart, "version": "1.0.0", "namespace": "edge",
                               "repositoryOpts": {"repo": "https://charts.example.com"}})


def test_ingress_nginx_is_refused_and_the_load_balancer_controller_is_not():
    (violation,) = found("helm-chart-not-retired", release("ingress-nginx"))
    assert "retired" in violation.message
    assert len(found("helm-chart-not-retired", release("oci://registry.example.com/charts/ingress-nginx"))) == 1
    assert found("helm-chart-not-retired", release("aws-load-balancer-controller")) == []


def test_retired_charts_come_from_config_and_unknown_charts_are_skipped():
    config = {"helm-chart-not-retired": {"retiredCharts": ["old-chart"]}}
    assert found("helm-chart-not-retired", release("ingress-nginx"), config=config) == []
    assert len(found("helm-chart-not-retired", release("old-chart"), config=config)) == 1
    assert found("helm-chart-not-retired", res(RELEASE, "x", {"chart": UNKNOWN, "version": "1.0.0"})) == []
