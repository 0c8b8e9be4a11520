"""VPC flow logs, the default security group, public ingress and internet paths to data ports."""

from __future__ import annotations

from typing import Any

from tests.policies.support import LB_TAGS, TAGS, UNKNOWN, found, res, secret

VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"


def vpc(name: str = "vpc"):
    return res(VPC, name, {"cidrBlock": "10.0.0.0/16", "tags": TAGS})


def flow_log(of, traffic: Any = "ALL", name: str = "flow-log"):
    return res(FLOW_LOG, name, {"vpcId": UNKNOWN, "trafficType": traffic, "logDestinationType": "cloud-watch-logs",
                                "tags": TAGS}, prop_deps={"vpcId": [of]})


def group(name: str, tags: Any = None, **inputs: Any):
    return res(SG, name, {"vpcId": UNKNOWN, "tags": TAGS if tags is None else tags, **inputs})


def rule(name: str, sg, *, port: int | None = 443, to_port: int | None = None, protocol: str = "tcp",
         cidr: str | None = None, cidr6: str | None = None, source=None, **inputs: Any):
    props: dict[str, Any] = {"securityGroupId": UNKNOWN, "ipProtocol": protocol, "tags": TAGS, **inputs}
    if port is not None:
        props.update(fromPort=port, toPort=to_port if to_port is not None else port)
    if cidr is not None:
        props["cidrIpv4"] = cidr
    if cidr6 is not None:
        props["cidrIpv6"] = cidr6
    prop_deps = {"securityGroupId": [sg]}
    if source is not None:
        props["referencedSecurityGroupId"] = UNKNOWN
        prop_deps["referencedSecurityGroupId"] = [source]
    return res(RULE, name, props, prop_deps=prop_deps, parent=sg)


# --- vpc-flow-logs-enabled ---------------------------------------------------------------------------------------


def test_vpc_with_a_flow_log_of_all_traffic_passes():
    v = vpc()
    assert found("vpc-flow-logs-enabled", v, flow_log(v)) == []


def test_vpc_without_flow_log_is_reported():
    v = vpc()
    (violation,) = found("vpc-flow-logs-enabled", v)
    assert violation.urn == v.urn and "no flow log" in violation.message


def test_flow_log_capturing_only_rejected_traffic_is_reported():
    v = vpc()
    (violation,) = found("vpc-flow-logs-enabled", v, flow_log(v, "REJECT"))
    assert "REJECT" in violation.message


def test_flow_log_of_another_vpc_does_not_count():
    a, b = vpc("a"), vpc("b")
    violations = found("vpc-flow-logs-enabled", a, b, flow_log(a))
    assert [v.resource_name for v in violations] == ["b"]


def test_flow_log_with_unknown_traffic_type_reports_nothing():
    v = vpc()
    assert found("vpc-flow-logs-enabled", v, flow_log(v, UNKNOWN)) == []


# --- default-security-group-no-rules / vpc-default-security-group-managed -----------------------------------------


def test_default_security_group_without_rules_passes():
    v = vpc()
    sg = res(DEFAULT_SG, "default-sg", {"vpcId": UNKNOWN, "ingress": [], "egress": [], "tags": TAGS},
             prop_deps={"vpcId": [v]})
    assert found("default-security-group-no-rules", sg) == []
    assert found("vpc-default-security-group-managed", v, sg) == []


def test_default_security_group_with_rules_is_reported():
    sg = res(DEFAULT_SG, "default-sg", {
        "vpcId": "vpc-1", "tags": TAGS,
        "ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}],
        "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}],
    })
    messages = sorted(v.message for v in found("default-security-group-no-rules", sg))
    assert len(messages) == 2 and "egress" in messages[0] and "ingress" in messages[1]


def test_default_security_group_with_unknown_rules_reports_nothing():
    sg = res(DEFAULT_SG, "default-sg", {"vpcId": "vpc-1", "ingress": UNKNOWN, "egress": [], "tags": TAGS})
    assert found("default-security-group-no-rules", sg) == []


def test_vpc_without_managed_default_security_group_is_reported():
    v = vpc()
    (violation,) = found("vpc-default-security-group-managed", v)
    assert violation.urn == v.urn


# --- security-group-no-public-ingress ---------------------------------------------------------------------------


def test_load_balancer_group_may_open_web_ports_to_the_internet():
    lb = group("lb-sg", LB_TAGS)
    rules = [rule("https", lb, port=443, cidr="0.0.0.0/0"), rule("http", lb, port=80, cidr6="::/0")]
    assert found("security-group-no-public-ingress", lb, *rules) == []


def test_internal_rules_pass():
    app = group("app-sg")
    assert found("security-group-no-public-ingress", app, rule("https", app, cidr="10.0.0.0/16")) == []


def test_web_port_open_to_internet_on_a_non_load_balancer_group_is_reported():
    app = group("app-sg")
    https = rule("https", app, cidr="0.0.0.0/0")
    (violation,) = found("security-group-no-public-ingress", app, https)
    assert violation.urn == https.urn and "load balancer" in violation.message


def test_load_balancer_role_tag_without_edge_component_is_not_trusted():
    sg = group("lb-sg", {**LB_TAGS, "component": "data"})
    assert len(found("security-group-no-public-ingress", sg, rule("https", sg, cidr="0.0.0.0/0"))) == 1


def test_load_balancer_recognition_is_configurable():
    sg = group("lb-sg", {**TAGS, "tier": "public-lb"})
    https = rule("https", sg, cidr="0.0.0.0/0")
    config = {"security-group-no-public-ingress": {"loadBalancerRoleTag": "tier", "loadBalancerRoleValue": "public-lb",
                                                   "loadBalancerComponents": []}}
    assert found("security-group-no-public-ingress", sg, https) != []
    assert found("security-group-no-public-ingress", sg, https, config=config) == []


def test_other_ports_all_protocols_and_ranges_on_load_balancer_group_are_reported():
    lb = group("lb-sg", LB_TAGS)
    rules = [
        rule("ssh", lb, port=22, cidr="0.0.0.0/0"),
        rule("range", lb, port=80, to_port=443, cidr="0.0.0.0/0"),
        rule("all", lb, port=None, protocol="-1", cidr6="::/0"),
        rule("udp", lb, port=443, protocol="udp", cidr="0.0.0.0/0"),
    ]
    names = sorted(v.resource_name for v in found("security-group-no-public-ingress", lb, *rules))
    assert names == ["all", "range", "ssh", "udp"]


def test_allowed_public_ports_come_from_config():
    lb = group("lb-sg", LB_TAGS)
    http = rule("http", lb, port=80, cidr="0.0.0.0/0")
    config = {"security-group-no-public-ingress": {"allowedPublicPorts": [443]}}
    assert found("security-group-no-public-ingress", lb, http) == []
    assert len(found("security-group-no-public-ingress", lb, http, config=config)) == 1


def test_inline_and_legacy_rules_are_checked():
    inline = group("inline-sg", ingress=[{"protocol": "tcp", "fromPort": 5000, "toPort": 5000,
                                          "cidrBlocks": ["10.0.0.0/8", "0.0.0.0/0"]}])
    target = group("target-sg")
    legacy = res(LEGACY_RULE, "legacy", {"type": "ingress", "securityGroupId": UNKNOWN, "protocol": "tcp",
                                         "fromPort": 8080, "toPort": 8080, "ipv6CidrBlocks": ["::/0"]},
                 prop_deps={"securityGroupId": [target]})
    egress = res(LEGACY_RULE, "egress", {"type": "egress", "securityGroupId": UNKNOWN, "protocol": "-1",
                                         "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]},
                 prop_deps={"securityGroupId": [target]})
    names = sorted(v.resource_name for v in found("security-group-no-public-ingress", inline, target, legacy, egress))
    assert names == ["inline-sg", "legacy"]


def test_rule_with_unknown_source_reports_nothing():
    app = group("app-sg")
    assert found("security-group-no-public-ingress", app, rule("https", app, cidr=UNKNOWN)) == []


def test_secret_tags_are_read_like_plain_ones():
    lb = group("lb-sg", {k: secret(v) for k, v in LB_TAGS.items()})
    assert found("security-group-no-public-ingress", lb, rule("https", lb, cidr="0.0.0.0/0")) == []


# --- no-internet-path-to-data-ports ---------------------------------------------------------------------------


def test_data_port_reachable_only_from_internal_groups_passes():
    lb, app, db = group("lb-sg", LB_TAGS), group("app-sg"), group("db-sg")
    resources = [lb, app, db, rule("lb-https", lb, cidr="0.0.0.0/0"), rule("app-from-lb", app, port=8080, source=lb),
                 rule("db-from-app", db, port=5432, source=app), rule("redis-from-vpc", db, port=6379,
                                                                     cidr="10.0.0.0/16")]
    assert found("no-internet-path-to-data-ports", *resources) == []


def test_data_port_open_to_the_internet_is_reported():
    db = group("db-sg")
    public = rule("db-public", db, port=5432, cidr="0.0.0.0/0")
    (violation,) = found("no-internet-path-to-data-ports", db, public)
    assert violation.urn == public.urn and "5432" in violation.message and violation.severity == "critical"


def test_data_port_from_a_group_that_admits_the_internet_is_reported():
    # The rule's source group id is unknown during preview: the dependency graph still identifies it.
    lb, cache = group("lb-sg", LB_TAGS), group("cache-sg")
    from_lb = rule("cache-from-lb", cache, port=6379, source=lb)
    (violation,) = found("no-internet-path-to-data-ports", lb, cache, rule("lb-https", lb, cidr="0.0.0.0/0"), from_lb)
    assert violation.urn == from_lb.urn and "lb-sg" in violation.message


def test_all_traffic_from_an_exposed_group_covers_data_ports():
    lb, db = group("lb-sg", LB_TAGS), group("db-sg")
    everything = rule("db-all-from-lb", db, port=None, protocol="-1", source=lb)
    violations = found("no-internet-path-to-data-ports", lb, db, rule("lb-https", lb, cidr="0.0.0.0/0"), everything)
    assert [v.resource_name for v in violations] == ["db-all-from-lb"]
    assert "5432, 6379" in violations[0].message


def test_data_ports_come_from_config():
    db = group("db-sg")
    public = rule("mysql-public", db, port=3306, cidr="0.0.0.0/0")
    assert found("no-internet-path-to-data-ports", db, public) == []
    config = {"no-internet-path-to-data-ports": {"dataPorts": [3306]}}
    assert len(found("no-internet-path-to-data-ports", db, public, config=config)) == 1
