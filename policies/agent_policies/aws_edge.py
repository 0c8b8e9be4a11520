"""Edge policies: load balancers serve HTTPS only with modern TLS, log, resist request smuggling and sit behind a
WAF that rate-limits and logs; certificates are validated through DNS."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from agent_contract.aws import TLS12_PLUS_POLICIES
from agent_contract.aws import WAF_COUNTABLE_RULES as COUNTABLE_RULES
from pulumi_policy import (
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from ._common import (
    Report,
    Settings,
    as_list,
    depends_on,
    get,
    known,
    of_type,
    pci_dss,
    plain,
    resource_policy,
    soc2,
    stack_policy,
)

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
CERTIFICATE = "aws:acm/certificate:Certificate"

# What AWS applies to an HTTPS listener that names no policy (it still accepts TLS 1.0).
AWS_DEFAULT_TLS_POLICY = "ELBSecurityPolicy-2016-08"
MANAGED_RULE_GROUPS = [
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
]
CLIENT_KEYS = ("IP", "FORWARDED_IP")


def _application(props: Mapping[str, Any]) -> bool:
    return get(props, "loadBalancerType", default="application") == "application"


def _protocol(listener: Mapping[str, Any]) -> str:
    return str(get(listener, "protocol", default="HTTP")).upper()


def _redirects_to_https(actions: Any) -> bool:
    items = as_list(actions)
    return bool(items) and all(
        get(a, "type") == "redirect" and str(get(a, "redirect", "protocol", default="#{protocol}")).upper() == "HTTPS"
        for a in items
    )


# --- load balancers --------------------------------------------------------------------------------------------------


def _check_https_only(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    http_listeners: dict[str, PolicyResource] = {}
    for listener in of_type(args.resources, *LISTENERS):
        if known(lambda listener=listener: _protocol(listener.props)) != "HTTP":
            continue
        http_listeners[listener.urn] = listener
        if known(lambda listener=listener: _redirects_to_https(get(listener.props, "defaultActions")), True):
            continue
        report(f"Listener {listener.name} serves plain HTTP: its default action must redirect to HTTPS "
               "(type redirect, protocol HTTPS).", listener.urn)
    for rule in of_type(args.resources, *LISTENER_RULES):
        on_http = [d for d in depends_on(rule, "listenerArn") if d.urn in http_listeners]
        if not on_http:
            continue
        if known(lambda rule=rule: _redirects_to_https(get(rule.props, "actions")), True):
            continue
        report(f"Listener rule {rule.name} on the HTTP listener {on_http[0].name} does something other than "
               "redirect to HTTPS, so content is served unencrypted.", rule.urn)


def _check_tls_policy(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if _protocol(args.props) not in ("HTTPS", "TLS"):
        return
    policy = get(args.props, "sslPolicy")
    allowed = [str(p) for p in settings["allowedPolicies"]]
    if policy is None:
        report(f"sslPolicy is not set, so AWS applies {AWS_DEFAULT_TLS_POLICY} (TLS 1.0 and 1.1 included); set one "
               f"of {', '.join(allowed)}.")
    elif policy not in allowed:
        report(f"sslPolicy {policy} is not allowed; use one of {', '.join(allowed)}.")


def _check_access_logs(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _application(args.props):
        return
    logs = get(args.props, "accessLogs")
    if logs is None or get(logs, "enabled") is not True:
        report("Access logs are off: set access_logs={\"bucket\": ..., \"enabled\": True}.")
    elif not get(logs, "bucket"):
        report("accessLogs names no bucket.")


def _check_invalid_headers(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if _application(args.props) and get(args.props, "dropInvalidHeaderFields") is not True:
        report("dropInvalidHeaderFields is not true: header names that are not valid HTTP reach the targets, a "
               "request-smuggling vector.")


def _check_deletion_protection(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if settings["protectedEnvironment"] and get(args.props, "enableDeletionProtection") is not True:
        report("enableDeletionProtection is not true; deleting the load balancer would take every service offline "
               "and change its DNS name.")


def _internet_facing(lb: PolicyResource) -> bool:
    return _application(lb.props) and get(lb.props, "internal", default=False) is not True


def _check_waf_association(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    protected = {d.urn for assoc in of_type(args.resources, WEB_ACL_ASSOCIATION)
                 for d in depends_on(assoc, "resourceArn")}
    for lb in of_type(args.resources, *LOAD_BALANCERS):
        if lb.urn in protected or not known(lambda lb=lb: _internet_facing(lb), False):
            continue
        report(f"Internet-facing load balancer {lb.name} has no web ACL: add an aws.wafv2.WebAclAssociation with "
               f"resource_arn={lb.name}.arn.", lb.urn)


# --- WAF -------------------------------------------------------------------------------------------------------------


def _rules(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The web ACL's rules in the provider's camelCase, whether given as `rules` or as `ruleJson` (PascalCase)."""
    raw_json = get(props, "ruleJson")
    if raw_json:

        def camel(value: Any) -> Any:
            if isinstance(value, dict):
                return {k[:1].lower() + k[1:]: camel(v) for k, v in value.items()}
            if isinstance(value, list):
                return [camel(v) for v in value]
            return value

        try:
            parsed = json.loads(raw_json)
        except ValueError:
            return []
        return [r for r in camel(parsed) if isinstance(r, dict)] if isinstance(parsed, list) else []
    return [r for r in plain(get(props, "rules", default=[])) if isinstance(r, dict)]


def _blocks(rule: Mapping[str, Any]) -> bool:
    action = rule.get("action") or {}
    return "block" in action or "captcha" in action or "challenge" in action


def _check_rate_rule(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    limit_max = int(settings["maxLimit"])
    rate_rules = [r for r in _rules(args.props) if "rateBasedStatement" in (r.get("statement") or {})]
    per_client = [r for r in rate_rules if r["statement"]["rateBasedStatement"].get("aggregateKeyType") in CLIENT_KEYS]
    if not per_client:
        report("The web ACL has no rate-based rule per client IP (aggregateKeyType IP or FORWARDED_IP).")
        return
    enforcing = [r for r in per_client if _blocks(r)]
    if not enforcing:
        report(f"Rate-based rule(s) {', '.join(str(r.get('name')) for r in per_client)} only count; the action must "
               "be block (or captcha/challenge).")
        return
    limits = [int(r["statement"]["rateBasedStatement"].get("limit", 0)) for r in enforcing]
    if min(limits) > limit_max:
        report(f"The per-IP rate limit is {min(limits)} requests per window; at most {limit_max} is allowed.")


def _managed_groups(props: Mapping[str, Any]) -> dict[str, str]:
    """AWS managed rule group name to how it is applied ("enforce" or "count")."""
    found = {}
    for rule in _rules(props):
        statement = (rule.get("statement") or {}).get("managedRuleGroupStatement") or {}
        if statement.get("vendorName") != "AWS" or not statement.get("name"):
            continue
        override = rule.get("overrideAction") or {}
        found[statement["name"]] = "count" if "count" in override else "enforce"
    return found


def _check_managed_groups(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    groups = _managed_groups(args.props)
    missing = [g for g in settings["requiredRuleGroups"] if g not in groups]
    counting = [g for g in settings["requiredRuleGroups"] if groups.get(g) == "count"]
    if missing:
        report(f"AWS managed rule group(s) missing: {', '.join(missing)}.")
    if counting:
        report(f"AWS managed rule group(s) only count (overrideAction count): {', '.join(counting)}.")


def _counted_rules(props: Mapping[str, Any]) -> list[str]:
    """Rules of AWS managed rule groups switched to count by a rule action override."""
    counted = []
    for rule in _rules(props):
        statement = (rule.get("statement") or {}).get("managedRuleGroupStatement") or {}
        if statement.get("vendorName") != "AWS":
            continue
        for override in statement.get("ruleActionOverrides") or []:
            if isinstance(override, dict) and "count" in (override.get("actionToUse") or {}):
                counted.append(str(override.get("name")))
    return counted


def _check_counted_rules(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    allowed = set(settings["countableRules"])
    risky = [r for r in _counted_rules(args.props) if r not in allowed]
    if risky:
        report(f"Managed rule(s) {', '.join(risky)} only count: requests they match (SSRF, file inclusion, XSS) "
               f"reach the services. Only {', '.join(sorted(allowed))} may count.")


def _redacted(config: PolicyResource) -> set[str]:
    fields = as_list(get(config.props, "redactedFields"))
    return {str(get(f, "singleHeader", "name", default="")).lower() for f in fields} - {""}


def _check_waf_logging(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    required = [str(h).lower() for h in settings["requiredRedactedHeaders"]]
    configs: dict[str, list[PolicyResource]] = {}
    for config in of_type(args.resources, WEB_ACL_LOGGING):
        for dep in depends_on(config, "resourceArn"):
            configs.setdefault(dep.urn, []).append(config)
    for acl in of_type(args.resources, WEB_ACL):
        attached = configs.get(acl.urn, [])
        if not attached:
            report(f"Web ACL {acl.name} has no logging configuration: add an aws.wafv2.WebAclLoggingConfiguration "
                   "sending to an aws-waf-logs-* destination.", acl.urn)
            continue
        for config in attached:
            redacted = known(lambda config=config: _redacted(config))
            if redacted is None:
                continue
            missing = [h for h in required if h not in redacted]
            if missing:
                report(f"WAF logging {config.name} writes credential headers in clear: redact "
                       f"{', '.join(missing)} (redacted_fields single_header).", config.urn)


# --- certificates ----------------------------------------------------------------------------------------------------


def _check_dns_validation(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    props = args.props
    if get(props, "certificateBody") or get(props, "privateKey") or get(props, "certificateAuthorityArn"):
        return  # imported or issued by a private CA: nothing to validate
    method = get(props, "validationMethod")
    if method != "DNS":
        report(f"validationMethod is {method!r}: use \"DNS\" so ACM renews the certificate without anyone answering "
               "an email.")


def _list_schema(default: Iterable[str], description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "default": list(default), "description": description}


POLICIES: list[Policy] = [
    stack_policy(
        "alb-https-only",
        description="Load balancer HTTP listeners (and their rules) only redirect to HTTPS.",
        check=_check_https_only,
        severity=Severity.HIGH,
        remediation="Give the port-80 listener a single default action {type: redirect, redirect: {protocol: HTTPS, "
                    "port: \"443\", status_code: HTTP_301}} and attach forwarding rules to the HTTPS listener only.",
        refs=[pci_dss("4.2.1", "Strong cryptography protects data during transmission over open, public networks"),
              soc2("CC6.7")],
    ),
    resource_policy(
        "alb-tls-policy-allowed",
        description="HTTPS and TLS listeners use a security policy from the allowed list (TLS 1.2+).",
        resource_types=LISTENERS,
        check=_check_tls_policy,
        severity=Severity.HIGH,
        remediation="Set ssl_policy to ELBSecurityPolicy-TLS13-1-2-2021-06 (TLS 1.3 and 1.2) or another policy from "
                    "allowedPolicies.",
        refs=[pci_dss("4.2.1", "Strong cryptography protects data during transmission over open, public networks"),
              soc2("CC6.7")],
        config={"allowedPolicies": _list_schema(TLS12_PLUS_POLICIES, "ELB security policies listeners may use.")},
    ),
    resource_policy(
        "alb-access-logs-enabled",
        description="Application load balancers write access logs to S3.",
        resource_types=LOAD_BALANCERS,
        check=_check_access_logs,
        severity=Severity.MEDIUM,
        remediation="Set access_logs={\"bucket\": <logs bucket>, \"prefix\": \"alb\", \"enabled\": True}; the bucket "
                    "uses SSE-S3 and its policy lets logdelivery.elasticloadbalancing.amazonaws.com write the prefix.",
        refs=[pci_dss("10.2.1", "Audit logs are enabled and active for all system components"), soc2("CC7.2")],
    ),
    resource_policy(
        "alb-drop-invalid-headers",
        description="Application load balancers drop header fields that are not valid HTTP.",
        resource_types=LOAD_BALANCERS,
        check=_check_invalid_headers,
        severity=Severity.MEDIUM,
        remediation="Set drop_invalid_header_fields=True on the load balancer.",
        refs=[soc2("CC6.6")],
    ),
    resource_policy(
        "alb-deletion-protection",
        description="In protected environments, load balancers have deletion protection on.",
        resource_types=LOAD_BALANCERS,
        check=_check_deletion_protection,
        severity=Severity.MEDIUM,
        remediation="Set enable_deletion_protection=True (the edge does so when the stack's protect is true).",
        topic=("availability",),
        refs=[soc2("A1.2")],
        config={"protectedEnvironment": {"type": "boolean", "default": True,
                                         "description": "Whether this stack's load balancers must be protected "
                                                        "(false only for disposable environments)."}},
    ),
    stack_policy(
        "alb-waf-associated",
        description="Every internet-facing application load balancer is associated with a WAF web ACL.",
        check=_check_waf_association,
        severity=Severity.HIGH,
        remediation="Create an aws.wafv2.WebAcl (scope REGIONAL) and an aws.wafv2.WebAclAssociation with "
                    "resource_arn=<load balancer>.arn.",
        refs=[pci_dss("6.4.2", "An automated technical solution detects and prevents web-based attacks in front "
                               "of public-facing web applications"),
              soc2("CC6.6")],
    ),
    resource_policy(
        "waf-rate-based-rule",
        description="Web ACLs block clients that exceed a per-IP request rate.",
        resource_types=[WEB_ACL],
        check=_check_rate_rule,
        severity=Severity.MEDIUM,
        remediation="Add a rule with statement.rate_based_statement {aggregate_key_type: IP, limit: <n>} and "
                    "action block (exempt health checks with a scope-down statement).",
        topic=("security", "availability"),
        refs=[pci_dss("6.4.2"), soc2("A1.1")],
        config={"maxLimit": {"type": "integer", "minimum": 10, "default": 10000,
                             "description": "Largest per-IP limit (requests per evaluation window) accepted."}},
    ),
    resource_policy(
        "waf-managed-rule-groups",
        description="Web ACLs enforce the required AWS managed rule groups.",
        resource_types=[WEB_ACL],
        check=_check_managed_groups,
        severity=Severity.MEDIUM,
        remediation="Add each required group as a managed_rule_group_statement (vendor AWS) with override_action "
                    "none; tune false positives per rule with rule_action_overrides instead of counting the group.",
        refs=[pci_dss("6.4.2")],
        config={"requiredRuleGroups": _list_schema(MANAGED_RULE_GROUPS, "AWS managed rule groups every web ACL "
                                                                         "enforces.")},
    ),
    resource_policy(
        "waf-injection-rules-enforced",
        description="Rules of the AWS managed groups that stop injection (SSRF, LFI/RFI, XSS) block; only size and "
                    "user-agent rules may be switched to count.",
        resource_types=[WEB_ACL],
        check=_check_counted_rules,
        severity=Severity.HIGH,
        remediation="Remove the rule from edge.waf.countOnlyRules (rule_action_overrides with count); answer a false "
                    "positive with a scope-down statement or a label-matching rule instead of counting the rule.",
        refs=[pci_dss("6.4.2")],
        config={"countableRules": _list_schema(COUNTABLE_RULES, "Managed rules that may be set to count.")},
    ),
    stack_policy(
        "waf-logging-enabled",
        description="Every web ACL logs, with credential headers redacted.",
        check=_check_waf_logging,
        severity=Severity.MEDIUM,
        remediation="Add an aws.wafv2.WebAclLoggingConfiguration for the web ACL to a KMS-encrypted aws-waf-logs-* "
                    "log group, with redacted_fields single_header for each of requiredRedactedHeaders.",
        refs=[pci_dss("10.2.1", "Audit logs are enabled and active for all system components"), soc2("CC7.2")],
        config={"requiredRedactedHeaders": _list_schema(
            ["authorization", "cookie"], "Request headers WAF logs must redact (lowercase).")},
    ),
    resource_policy(
        "acm-certificate-dns-validation",
        description="ACM certificates are validated through DNS, so they renew without manual steps.",
        resource_types=[CERTIFICATE],
        check=_check_dns_validation,
        severity=Severity.MEDIUM,
        remediation="Set validation_method=\"DNS\", create the validation CNAMEs in Route 53 and wait for them with "
                    "aws.acm.CertificateValidation.",
        topic=("security", "availability"),
        refs=[soc2("CC6.7")],
    ),
]
