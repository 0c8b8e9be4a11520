"""Log search (observability.logSearch): an OpenSearch Service domain fed by Fluent Bit, off by default.

Planned with overrides of the committed stacks: VPC-only, encrypted, HTTPS with TLS 1.2+ and forward secrecy,
fine-grained access control with an IAM master, logs to encrypted CloudWatch groups; Fluent Bit gets the chart's
opensearch output and es:ESHttp* on this domain only; the review passes and the estimate prices it.
"""

from __future__ import annotations

import json

import pytest

from planning.cost_report import stack_report
from planning.engine import read_stack_config, with_paths
from tests.harness import STACKS, config_error, plan, review

DOMAIN = "aws:opensearch/domain:Domain"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_POLICY = "aws:cloudwatch/logResourcePolicy:LogResourcePolicy"
KEY = "aws:kms/key:Key"
RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ON = {"observability.logSearch": {"enabled": True}}


@pytest.mark.parametrize("stack", STACKS)
def test_log_search_is_off_in_the_committed_stacks(stack: str):
    p = plan(stack)
    assert p.of_type(DOMAIN) == []
    assert "logSearchEndpoint" not in p.outputs


def test_prod_gets_a_private_encrypted_zone_aware_domain_with_fine_grained_access_control():
    p = plan("prod", ON)
    domain = p.one(DOMAIN)
    props = domain.props
    assert props["engineVersion"] == "OpenSearch_2.19"
    cluster = props["clusterConfig"]
    assert cluster["instanceType"] == "r6g.large.search" and cluster["instanceCount"] == 3
    assert cluster["zoneAwarenessEnabled"] is True and cluster["zoneAwarenessConfig"]["availabilityZoneCount"] == 3
    assert len(props["vpcOptions"]["subnetIds"]) == 3
    isolated = {s.urn for s in p.of_type("aws:ec2/subnet:Subnet") if "isolated" in s.name}
    subnet_deps = {u for u in domain.property_dependencies["vpcOptions"] if u in isolated}
    assert len(subnet_deps) == 3
    assert props["encryptAtRest"]["enabled"] is True
    assert p.one(KEY, "observability-log-search-key").urn in domain.property_dependencies["encryptAtRest"]
    assert props["nodeToNodeEncryption"] == {"enabled": True}
    assert props["domainEndpointOptions"] == {"enforceHttps": True,
                                              "tlsSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10"}
    security = props["advancedSecurityOptions"]
    assert security["enabled"] is True and security["internalUserDatabaseEnabled"] is False
    deploy_roles = read_stack_config("prod")["agent-platform:deployRoleArns"]
    assert security["masterUserOptions"]["masterUserArn"] == deploy_roles[0]
    assert p.outputs["logSearchAdminRoleArn"] == deploy_roles[0]
    assert {o["logType"] for o in props["logPublishingOptions"]} == {
        "AUDIT_LOGS", "ES_APPLICATION_LOGS", "SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS"}
    assert domain.protect is True
    access = json.loads(props["accessPolicies"])
    assert [s["Principal"] for s in access["Statement"]] == [{"AWS": "arn:aws:iam::123456789012:root"}]


def test_only_the_workloads_reach_it_on_443_and_only_the_domain_writes_its_logs():
    p = plan("prod", ON)
    group = p.one(SG, "observability-log-search-sg")
    assert group.urn in p.one(DOMAIN).property_dependencies["vpcOptions"]
    rules = [r for r in p.of_type(INGRESS) if group.urn in r.property_dependencies.get("securityGroupId", ())]
    assert rules and all(r.props["fromPort"] == r.props["toPort"] == 443 and "cidrIpv4" not in r.props
                         for r in rules)
    groups = [g for g in p.of_type(LOG_GROUP) if g.name.startswith("observability-log-search-")]
    assert len(groups) == 4 and all(g.property_dependencies.get("kmsKeyId") for g in groups)
    (statement,) = json.loads(p.one(LOG_POLICY).props["policyDocument"])["Statement"]
    assert statement["Principal"] == {"Service": "es.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(
        ":domain/" + p.one(DOMAIN).props["domainName"])


def test_fluent_bit_ships_to_the_domain_with_the_chart_opensearch_output_and_may_call_only_it():
    p = plan("prod", ON)
    values = p.one(RELEASE, "observability-fluent-bit").props["values"]
    output = values["opensearch"]
    assert output["enabled"] is True and output["host"] == p.outputs["logSearchEndpoint"]
    assert (output["port"], output["tls"], output["awsAuth"], output["awsRegion"]) == ("443", "On", "On",
                                                                                       "us-east-1")
    assert values["cloudWatchLogs"]["enabled"] is True  # CloudWatch stays the record; search is a copy
    policy = json.loads(p.one(ROLE_POLICY, "observability-fluent-bit-role-policy").props["policy"])
    ship = next(s for s in policy["Statement"] if s["Sid"] == "ShipToLogSearch")
    arn = f"arn:aws:es:us-east-1:123456789012:domain/{p.one(DOMAIN).props['domainName']}"
    assert sorted(ship["Resource"]) == [arn, f"{arn}/*"]
    assert all(a.startswith("es:ESHttp") for a in ship["Action"])
    assert plan("prod").one(RELEASE, "observability-fluent-bit").props["values"]["opensearch"] == {"enabled": False}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_stack_with_log_search_passes_its_review(stack: str):
    assert review(plan(stack, ON)).mandatory == []


def test_the_estimate_prices_the_data_nodes_and_their_volumes():
    report = stack_report(plan("prod", ON), with_paths("prod", ON))
    lines = [line for line in report.lines if line.price_key.startswith("opensearch.")]
    nodes = next(line for line in lines if line.price_key == "opensearch.r6g.large.search")
    assert nodes.quantity == 3 * 730 and nodes.monthly_usd > 0
    storage = next(line for line in lines if line.price_key == "opensearch.storage.gp3")
    assert storage.quantity == 3 * 100 and storage.monthly_usd > 0
    assert not [u for u in report.unpriced if "opensearch" in str(u)]


@pytest.mark.parametrize(("stack", "overrides", "key"), [
    ("dev", ON, "observability.logSearch.enabled"),  # dev runs on VMs: no Fluent Bit to feed it
    ("prod", {"observability.logSearch": {"enabled": True, "zoneAwareness": False}},
     "observability.logSearch.zoneAwareness"),
    ("prod", {"observability.logSearch": {"enabled": True, "instanceCount": 4}},
     "observability.logSearch.instanceCount"),
    ("prod", {"observability.logSearch": {"enabled": True, "instanceType": "t2.small.search"}},
     "observability.logSearch.instanceType"),
    ("prod", {"observability.logSearch": {"enabled": True, "engineVersion": "Elasticsearch_7.10"}},
     "observability.logSearch.engineVersion"),
])
def test_a_log_search_domain_that_cannot_work_is_refused_before_anything_is_registered(stack, overrides, key):
    assert key in str(config_error(stack, overrides))


def test_a_red_domain_or_blocked_writes_raise_an_alarm():
    p = plan("prod", ON)
    alarms = {a.props["metricName"]: a for a in p.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
              if a.props.get("namespace") == "AWS/ES"}
    assert set(alarms) == {"ClusterStatus.red", "ClusterIndexWritesBlocked"}
    for alarm in alarms.values():
        assert alarm.props["dimensions"] == {"DomainName": p.one(DOMAIN).props["domainName"],
                                             "ClientId": "123456789012"}
        assert alarm.props["threshold"] == 1 and alarm.props["alarmActions"]
