"""edge.exposure: private (dev): nothing reachable from the internet; the pack demands the edge a stack declares."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from planning.model import Plan
from planning.review import load_policy_config
from tests.harness import config_error, eks_plan, plan, review
from tests.policies.planting import add, drop, violations

SHARED = {"runtime": "vm", "vm": {"placement": "shared"},
          **{f"services.{s}.vm": {} for s in ("api", "context", "worker")}}
PRIVATE = {**SHARED, "edge": {"exposure": "private"}}
PUBLIC = {**SHARED, "edge": {"exposure": "public", "domain": "dev.agents.example.com",
                             "hostedZoneName": "example.com"}}
POLICY = "edge-matches-exposure"
EDGE_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:wafv2/webAcl:WebAcl", "aws:acm/certificate:Certificate",
              "aws:route53/record:Record", "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener")


def _private() -> Plan:
    return plan("dev", PRIVATE)


def _config(exposure: str, routed: list[str]) -> dict[str, Any]:
    return {"all": "disabled", POLICY: {"enforcementLevel": "mandatory", "exposure": exposure,
                                        "routedServices": routed}}


def _found(result: Plan, exposure: str, routed: list[str]) -> list[str]:
    return [v.message for v in review(result, _config(exposure, routed), only={POLICY}).violations]


def test_a_private_edge_builds_no_load_balancer_waf_certificate_or_dns():
    types = {r.type for r in _private().resources}
    assert not types & set(EDGE_TYPES)
    assert _private().of_type("agent-platform:edge:EdgeProxy") == []


def test_nothing_admits_the_internet():
    for rule in _private().of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        assert rule.props.get("cidrIpv4") != "0.0.0.0/0" and rule.props.get("cidrIpv6") != "::/0", rule.name


def test_the_host_is_checked_by_ec2_and_nginx_adds_every_header_itself():
    group = next(g for g in _private().of_type("aws:autoscaling/group:Group") if g.name == "shared-host-asg")
    assert group.props["healthCheckType"] == "EC2" and not group.props.get("targetGroupArns")
    template = next(t for t in _private().of_type("aws:ec2/launchTemplate:LaunchTemplate")
                    if t.name == "shared-host-template")
    text = base64.b64decode(template.props["userData"]).decode()
    # No ALB listener adds them: nginx writes HSTS, X-Frame-Options, X-Content-Type-Options and CSP itself.
    for header in ("Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options",
                   "Content-Security-Policy", "Referrer-Policy"):
        assert f"add_header {header} " in text, header


def test_no_load_balancer_alarm_is_left_behind():
    names = [a.name for a in _private().of_type("aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert not [n for n in names if "alb" in n or "unhealthy-hosts" in n or "waf" in n]
    assert "observability-alarm-vm-shared-host-in-service" in names


def test_the_outputs_name_the_local_urls_of_a_port_forward():
    assert _private().outputs["servicePortForwards"] == {"api": "http://localhost:8000",
                                                         "context": "http://localhost:8001"}
    assert "loadBalancerDnsName" not in _private().outputs


def test_the_private_dev_stack_passes_the_pack_with_its_own_facts():
    config = {**load_policy_config("dev"), POLICY: {"exposure": "private", "routedServices": ["api", "context"]}}
    assert [v for v in review(_private(), config).violations if v.enforcement == "mandatory"] == []


def test_a_public_edge_must_have_its_load_balancer_https_and_waf():
    public = plan("dev", PUBLIC)
    assert _found(public, "public", ["api", "context"]) == []
    assert _found(_private(), "public", ["api", "context"])  # declared public, built nothing
    no_waf = drop("aws:wafv2/webAclAssociation:WebAclAssociation")(public)
    assert any("web ACL" in m for m in _found(no_waf, "public", ["api", "context"]))
    no_https = drop("aws:lb/listener:Listener", "edge-https")(public)
    assert any("HTTPS" in m for m in _found(no_https, "public", ["api", "context"]))


def test_a_private_edge_must_not_have_one():
    public = plan("dev", PUBLIC)
    assert _found(_private(), "private", ["api", "context"]) == []
    assert _found(public, "private", ["api", "context"])
    opened = add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "open",
                 {"securityGroupId": "sg-1", "cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 8000,
                  "toPort": 8000}, {})(_private())
    assert _found(opened, "private", ["api", "context"])


def test_the_committed_stacks_declare_their_exposure():
    assert load_policy_config("prod")[POLICY]["exposure"] == "public"
    assert load_policy_config("prod")[POLICY]["routedServices"]
    assert violations(plan("prod"), POLICY) == []


def test_dev_on_eks_with_a_private_edge_has_no_load_balancer():
    types = {r.type for r in eks_plan("dev", {"edge": {"exposure": "private"}}).resources}
    assert not types & set(EDGE_TYPES)


@pytest.mark.parametrize(("stack", "overrides", "path"), [
    ("staging", {"edge": {"exposure": "private"}}, "edge.exposure"),
    ("dev", {"runtime": "vm", "edge": {"exposure": "private"}, "vm": {"placement": "dedicated"}}, "edge.exposure"),
    ("dev", {**PRIVATE, "edge": {"exposure": "private", "domain": "dev.agents.example.com"}}, "edge.exposure"),
])
def test_a_private_edge_outside_dev_or_without_a_shared_host_is_refused(stack, overrides, path):
    error = config_error(stack, overrides)
    assert path in [p for p, _ in error.issues], error.issues
