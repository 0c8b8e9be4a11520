"""Edge policies: HTTPS-only load balancers with modern TLS, access logs, invalid headers dropped, deletion
protection, a WAF in front of every internet-facing ALB with rate limits, managed rules and redacted logs, and
DNS-validated certificates. Each is shown passing, catching, and silent on values unknown during preview."""

from __future__ import annotations

import json
from typing import Any

from tests.policies.support import TAGS, UNKNOWN, found, res, secret, stack_config

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
CERT = "aws:acm/certificate:Certificate"
REDIRECT = {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
FORWARD = {"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/1"}
MANAGED = ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet",
           "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet"]


def alb(name: str = "alb", **inputs: Any):
    props = {"loadBalancerType": "application", "internal": False, "dropInvalidHeaderFields": True,
             "enableDeletionProtection": True, "accessLogs": {"bucket": "logs", "prefix": "alb", "enabled": True},
             "subnets": ["subnet-1", "subnet-2"], "tags": TAGS}
    props.update(inputs)
    return res(LB, name, {k: v for k, v in props.items() if v is not None})


def listener(name: str, of, *, protocol: str = "HTTPS", **inputs: Any):
    props: dict[str, Any] = {"loadBalancerArn": UNKNOWN, "protocol": protocol, "tags": TAGS,
                             "port": 443 if protocol == "HTTPS" else 80}
    if protocol == "HTTPS":
        props.update(sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06", certificateArn=UNKNOWN,
                     defaultActions=[FORWARD])
    else:
        props["defaultActions"] = [REDIRECT]
    props.update(inputs)
    return res(LISTENER, name, {k: v for k, v in props.items() if v is not None},
               prop_deps={"loadBalancerArn": [of]})


def rate_rule(limit: Any = 2000, key: str = "IP", action: dict | None = None, name: str = "rate-per-ip"):
    return {"name": name, "priority": 10, "action": action or {"block": {"customResponse": {"responseCode": 429}}},
            "statement": {"rateBasedStatement": {"limit": limit, "aggregateKeyType": key}},
            "visibilityConfig": {"cloudwatchMetricsEnabled": True, "metricName": name, "sampledRequestsEnabled": True}}


def managed_rule(group: str, override: str = "none"):
    return {"name": group, "priority": 20, "overrideAction": {override: {}},
            "statement": {"managedRuleGroupStatement": {"vendorName": "AWS", "name": group}},
            "visibilityConfig": {"cloudwatchMetricsEnabled": True, "metricName": group,
                                 "sampledRequestsEnabled": True}}


def web_acl(rules: Any = None, name: str = "waf", **inputs: Any):
    if rules is None:
        rules = [rate_rule(), *(managed_rule(g) for g in MANAGED)]
    return res(WEB_ACL, name, {"scope": "REGIONAL", "defaultAction": {"allow": {}}, "rules": rules, "tags": TAGS,
                               **inputs})


def common_rules_counting(*rules: str):
    rule = managed_rule("AWSManagedRulesCommonRuleSet")
    rule["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"] = [
        {"name": r, "actionToUse": {"count": {}}} for r in rules]
    return web_acl([rate_rule(), rule, *(managed_rule(g) for g in MANAGED if g != "AWSManagedRulesCommonRuleSet")])


def test_counting_only_size_rules_passes():
    assert found("waf-injection-rules-enforced", common_rules_counting("SizeRestrictions_BODY")) == []
    assert found("waf-injection-rules-enforced", web_acl()) == []


def test_counting_an_injection_rule_is_reported():
    acl = common_rules_counting("SizeRestrictions_BODY", "CrossSiteScripting_BODY", "EC2MetaDataSSRF_BODY")
    (violation,) = found("waf-injection-rules-enforced", acl)
    assert "CrossSiteScripting_BODY, EC2MetaDataSSRF_BODY only count" in violation.message


def test_countable_rules_come_from_config_and_unknown_rules_report_nothing():
    config = {"waf-injection-rules-enforced": {"countableRules": ["SizeRestrictions_BODY", "GenericRFI_BODY"]}}
    assert found("waf-injection-rules-enforced", common_rules_counting("GenericRFI_BODY"), config=config) == []
    assert found("waf-injection-rules-enforced", web_acl(UNKNOWN)) == []


def association(lb, acl, name: str = "waf-association"):
    return res(ASSOCIATION, name, {"resourceArn": UNKNOWN, "webAclArn": UNKNOWN},
               prop_deps={"resourceArn": [lb], "webAclArn": [acl]})


def logging(acl, headers: Any = ("authorization", "cookie", "x-api-key"), name: str = "waf-logging"):
    redacted = headers if not isinstance(headers, tuple) else [{"singleHeader": {"name": h}} for h in headers]
    return res(LOGGING, name, {"resourceArn": UNKNOWN, "logDestinationConfigs": [UNKNOWN],
                               "redactedFields": redacted}, prop_deps={"resourceArn": [acl]})


# --- alb-https-only ---------------------------------------------------------------------------------------------


def test_http_listener_that_redirects_to_https_passes():
    lb = alb()
    assert found("alb-https-only", lb, listener("http", lb, protocol="HTTP"), listener("https", lb)) == []


def test_http_listener_that_forwards_is_reported():
    lb = alb()
    http = listener("http", lb, protocol="HTTP", defaultActions=[FORWARD])
    (violation,) = found("alb-https-only", lb, http)
    assert violation.urn == http.urn and "redirect to HTTPS" in violation.message


def test_redirect_that_keeps_the_protocol_is_reported():
    lb = alb()
    keep = {"type": "redirect", "redirect": {"host": "example.com", "statusCode": "HTTP_301"}}
    assert len(found("alb-https-only", lb, listener("http", lb, protocol="HTTP", defaultActions=[keep]))) == 1


def test_forwarding_rule_on_the_http_listener_is_reported_but_not_on_https():
    lb = alb()
    http, https = listener("http", lb, protocol="HTTP"), listener("https", lb)
    on_http = res(LISTENER_RULE, "leak", {"listenerArn": UNKNOWN, "priority": 1, "actions": [FORWARD]},
                  prop_deps={"listenerArn": [http]})
    on_https = res(LISTENER_RULE, "hosts", {"listenerArn": UNKNOWN, "priority": 1, "actions": [FORWARD]},
                   prop_deps={"listenerArn": [https]})
    assert [v.resource_name for v in found("alb-https-only", lb, http, https, on_http, on_https)] == ["leak"]


def test_http_listener_with_unknown_actions_reports_nothing():
    lb = alb()
    assert found("alb-https-only", lb, listener("http", lb, protocol="HTTP", defaultActions=UNKNOWN)) == []
    assert found("alb-https-only", lb, listener("http", lb, protocol=UNKNOWN, defaultActions=[FORWARD])) == []


# --- alb-tls-policy-allowed -------------------------------------------------------------------------------------


def test_tls13_policy_passes():
    lb = alb()
    assert found("alb-tls-policy-allowed", lb, listener("https", lb)) == []


def test_old_or_missing_tls_policy_is_reported():
    lb = alb()
    old = listener("old", lb, sslPolicy="ELBSecurityPolicy-2016-08")
    missing = listener("missing", lb, sslPolicy=None)
    violations = {v.resource_name: v.message for v in found("alb-tls-policy-allowed", lb, old, missing)}
    assert set(violations) == {"old", "missing"}
    assert "not allowed" in violations["old"] and "TLS 1.0" in violations["missing"]


def test_allowed_tls_policies_come_from_config_and_plain_http_is_out_of_scope():
    lb = alb()
    https = listener("https", lb)
    config = {"alb-tls-policy-allowed": {"allowedPolicies": ["ELBSecurityPolicy-TLS13-1-3-2021-06"]}}
    assert len(found("alb-tls-policy-allowed", lb, https, config=config)) == 1
    assert found("alb-tls-policy-allowed", lb, listener("http", lb, protocol="HTTP"), config=config) == []


def test_unknown_tls_policy_reports_nothing():
    lb = alb()
    assert found("alb-tls-policy-allowed", lb, listener("https", lb, sslPolicy=UNKNOWN)) == []


# --- alb-access-logs-enabled / alb-drop-invalid-headers / alb-deletion-protection -------------------------------


def test_hardened_alb_passes_every_load_balancer_policy():
    lb = alb()
    for policy in ("alb-access-logs-enabled", "alb-drop-invalid-headers", "alb-deletion-protection"):
        assert found(policy, lb) == [], policy


def test_alb_without_access_logs_is_reported():
    assert len(found("alb-access-logs-enabled", alb(accessLogs=None))) == 1
    assert len(found("alb-access-logs-enabled", alb(accessLogs={"bucket": "logs", "enabled": False}))) == 1


def test_alb_keeping_invalid_headers_is_reported():
    (violation,) = found("alb-drop-invalid-headers", alb(dropInvalidHeaderFields=None))
    assert "smuggling" in violation.message


def test_network_load_balancers_are_out_of_scope_for_http_only_settings():
    nlb = alb(loadBalancerType="network", dropInvalidHeaderFields=None, accessLogs=None)
    assert found("alb-drop-invalid-headers", nlb) == [] and found("alb-access-logs-enabled", nlb) == []


def test_deletion_protection_is_required_only_in_protected_environments():
    unprotected = alb(enableDeletionProtection=False)
    assert len(found("alb-deletion-protection", unprotected, config=stack_config("prod"))) == 1
    assert found("alb-deletion-protection", unprotected, config=stack_config("dev")) == []


def test_unknown_load_balancer_settings_report_nothing():
    lb = alb(accessLogs=UNKNOWN, dropInvalidHeaderFields=UNKNOWN, enableDeletionProtection=UNKNOWN)
    for policy in ("alb-access-logs-enabled", "alb-drop-invalid-headers", "alb-deletion-protection"):
        assert found(policy, lb) == [], policy


# --- alb-waf-associated -----------------------------------------------------------------------------------------


def test_internet_facing_alb_with_a_web_acl_passes():
    lb, acl = alb(), web_acl()
    assert found("alb-waf-associated", lb, acl, association(lb, acl)) == []


def test_internet_facing_alb_without_a_web_acl_is_reported():
    covered, bare, acl = alb("covered"), alb("bare"), web_acl()
    (violation,) = found("alb-waf-associated", covered, bare, acl, association(covered, acl))
    assert violation.resource_name == "bare" and "WebAclAssociation" in violation.message


def test_internal_alb_needs_no_web_acl_and_unknown_scheme_reports_nothing():
    assert found("alb-waf-associated", alb(internal=True)) == []
    assert found("alb-waf-associated", alb(internal=UNKNOWN)) == []


# --- waf-rate-based-rule ----------------------------------------------------------------------------------------


def test_web_acl_with_a_blocking_per_ip_rate_rule_passes():
    assert found("waf-rate-based-rule", web_acl()) == []


def test_web_acl_without_a_per_ip_rate_rule_is_reported():
    per_key = rate_rule(key="CUSTOM_KEYS", name="per-key")
    (violation,) = found("waf-rate-based-rule", web_acl([per_key, *(managed_rule(g) for g in MANAGED)]))
    assert "per client IP" in violation.message


def test_rate_rule_that_only_counts_or_is_too_loose_is_reported():
    counting = web_acl([rate_rule(action={"count": {}})], name="counting")
    loose = web_acl([rate_rule(limit=50_000)], name="loose")
    messages = {v.resource_name: v.message for v in found("waf-rate-based-rule", counting, loose)}
    assert "only count" in messages["counting"] and "at most 10000" in messages["loose"]
    assert found("waf-rate-based-rule", loose, config={"waf-rate-based-rule": {"maxLimit": 100_000}}) == []


def test_rate_rule_given_as_rule_json_is_understood():
    def acl(action: str):
        rules = json.dumps([{"Name": "rate", "Priority": 1, "Action": {action: {}},
                             "Statement": {"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}}}])
        return res(WEB_ACL, f"json-{action.lower()}", {"scope": "REGIONAL", "ruleJson": rules, "tags": TAGS})

    assert found("waf-rate-based-rule", acl("Block")) == []
    (violation,) = found("waf-rate-based-rule", acl("Count"))
    assert "only count" in violation.message


def test_unknown_rules_report_nothing():
    assert found("waf-rate-based-rule", web_acl(UNKNOWN)) == []
    assert found("waf-rate-based-rule", web_acl([rate_rule(limit=UNKNOWN)])) == []


# --- waf-managed-rule-groups ------------------------------------------------------------------------------------


def test_web_acl_enforcing_every_required_group_passes():
    assert found("waf-managed-rule-groups", web_acl()) == []


def test_missing_or_counting_group_is_reported():
    rules = [rate_rule(), managed_rule(MANAGED[0]), managed_rule(MANAGED[1], override="count")]
    messages = sorted(v.message for v in found("waf-managed-rule-groups", web_acl(rules)))
    assert messages == [
        "AWS managed rule group(s) missing: AWSManagedRulesKnownBadInputsRuleSet, AWSManagedRulesSQLiRuleSet.",
        "AWS managed rule group(s) only count (overrideAction count): AWSManagedRulesCommonRuleSet.",
    ]


def test_required_groups_come_from_config():
    config = {"waf-managed-rule-groups": {"requiredRuleGroups": ["AWSManagedRulesBotControlRuleSet"]}}
    assert len(found("waf-managed-rule-groups", web_acl(), config=config)) == 1


# --- waf-logging-enabled ----------------------------------------------------------------------------------------


def test_web_acl_logging_with_credentials_redacted_passes():
    acl = web_acl()
    assert found("waf-logging-enabled", acl, logging(acl)) == []


def test_web_acl_without_logging_is_reported():
    logged, silent = web_acl(name="logged"), web_acl(name="silent")
    (violation,) = found("waf-logging-enabled", logged, silent, logging(logged))
    assert violation.resource_name == "silent"


def test_logging_that_keeps_authorization_in_clear_is_reported():
    acl = web_acl()
    config = logging(acl, ("cookie",))
    (violation,) = found("waf-logging-enabled", acl, config)
    assert violation.urn == config.urn and "authorization" in violation.message


def test_unknown_redaction_reports_nothing():
    acl = web_acl()
    assert found("waf-logging-enabled", acl, logging(acl, UNKNOWN)) == []


# --- acm-certificate-dns-validation -----------------------------------------------------------------------------


def test_dns_validated_certificate_passes():
    cert = res(CERT, "cert", {"domainName": "agents.example.com", "validationMethod": "DNS", "tags": TAGS})
    assert found("acm-certificate-dns-validation", cert) == []


def test_email_validated_certificate_is_reported():
    cert = res(CERT, "cert", {"domainName": "agents.example.com", "validationMethod": "EMAIL", "tags": TAGS})
    (violation,) = found("acm-certificate-dns-validation", cert)
    assert "'EMAIL'" in violation.message


def test_imported_and_private_ca_certificates_are_out_of_scope():
    imported = res(CERT, "imported", {"certificateBody": "-----BEGIN CERTIFICATE-----",
                                      "privateKey": secret("-----BEGIN PRIVATE KEY-----"), "tags": TAGS})
    private = res(CERT, "private", {"domainName": "internal.example", "tags": TAGS,
                                    "certificateAuthorityArn": "arn:aws:acm-pca:us-east-1:1:certificate-authority/x"})
    assert found("acm-certificate-dns-validation", imported, private) == []


def test_unknown_validation_method_reports_nothing():
    cert = res(CERT, "cert", {"domainName": "agents.example.com", "validationMethod": UNKNOWN, "tags": TAGS})
    assert found("acm-certificate-dns-validation", cert) == []
