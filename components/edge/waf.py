"""The edge's web application firewall: AWS managed rules, per-client rate limits and redacted logging.

The WAF sees every request the load balancer accepts and the client's real address, so its limits hold
across every target. On the VM runtime nginx applies the finer per-route limits behind it; on EKS nothing
sits between the ALB and the pods, so the WAF also carries (``route_rules``):

- one rate rule per route: the route's per-client rate (`rateLimit`) over a 60 s window, keyed on the client
  IP and scoped to the route's host and path prefix, health path exempt (nginx's `burst` has no equivalent:
  a 60 s window already absorbs short bursts);
- a body-size rule on the health routes (nginx's 1 KB there). WAF on an ALB sees only the first 8 KB of a body
  (fixed; 16-64 KB is for CloudFront, API Gateway and a few others), so larger limits (`maxBodySize`, 50m by
  default) are the application's to enforce.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.core.logs import log_group
from components.core.nginx import HEALTH_BODY_SIZE
from config.edge import MANAGED_RULE_GROUPS, Route, WafConfig

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
# Headers that carry credentials: never written to WAF logs.
REDACTED_HEADERS = ("authorization", "cookie", "x-api-key")
RATE_LIMIT_STATUS = 429
BODY_TOO_LARGE_STATUS = 413
# AWS WAF inspects at most the first 8 KB (8,192 bytes) of a body behind an ALB (API_Body, OversizeHandling).
ALB_BODY_INSPECTION_BYTES = 8192
# Per-route rate rules count over one minute (evaluation windows are 60, 120, 300 or 600 s).
ROUTE_RATE_WINDOW_SECONDS = 60
FIRST_ROUTE_RULE_PRIORITY = 60

# Evaluation order: drop known-bad sources first, then floods, then inspect what is left.
_PRIORITIES = {
    "AWSManagedRulesAmazonIpReputationList": 0,
    "health-body-size": 5,
    "rate-per-ip": 10,
    "rate-per-api-key": 20,
    "AWSManagedRulesKnownBadInputsRuleSet": 30,
    "AWSManagedRulesCommonRuleSet": 40,
    "AWSManagedRulesSQLiRuleSet": 50,
}


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


def _path_is(path: str) -> dict[str, Any]:
    return {"byte_match_statement": {
        "field_to_match": {"uri_path": {}},
        "positional_constraint": "EXACTLY",
        "search_string": path,
        "text_transformations": [{"priority": 0, "type": "NONE"}],
    }}


def _not_health(health_paths: Sequence[str]) -> dict[str, Any] | None:
    """Scope-down statement matching everything except the health routes (exact paths)."""
    paths = sorted(set(health_paths))
    if not paths:
        return None
    matches = [_path_is(p) for p in paths]
    inner = matches[0] if len(matches) == 1 else {"or_statement": {"statements": matches}}
    return {"not_statement": {"statement": inner}}


def _block_with_429() -> dict[str, Any]:
    return {"block": {"custom_response": {"response_code": RATE_LIMIT_STATUS}}}


def waf_rules(cfg: WafConfig, health_paths: Sequence[str], metric_prefix: str) -> list[dict[str, Any]]:
    """The web ACL's rules, in evaluation order."""
    rules: list[dict[str, Any]] = []
    for group in MANAGED_RULE_GROUPS:
        statement: dict[str, Any] = {"vendor_name": "AWS", "name": group}
        if group == COMMON_RULE_SET and cfg.count_only_rules:
            statement["rule_action_overrides"] = [
                {"name": rule, "action_to_use": {"count": {}}} for rule in cfg.count_only_rules]
        rules.append({
            "name": group,
            "priority": _PRIORITIES[group],
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": statement},
            "visibility_config": _visibility(f"{metric_prefix}-{group}"),
        })

    per_ip: dict[str, Any] = {"limit": cfg.rate_limit, "aggregate_key_type": "IP",
                              "evaluation_window_sec": cfg.rate_limit_window_seconds}
    scope = _not_health(health_paths)
    if scope is not None:
        per_ip["scope_down_statement"] = scope
    rules.append({
        "name": "rate-per-ip",
        "priority": _PRIORITIES["rate-per-ip"],
        "action": _block_with_429(),
        "statement": {"rate_based_statement": per_ip},
        "visibility_config": _visibility(f"{metric_prefix}-rate-per-ip"),
    })
    if cfg.api_key_header:
        rules.append({
            "name": "rate-per-api-key",
            "priority": _PRIORITIES["rate-per-api-key"],
            "action": _block_with_429(),
            "statement": {"rate_based_statement": {
                "limit": cfg.api_key_rate_limit,
                "aggregate_key_type": "CUSTOM_KEYS",
                "evaluation_window_sec": cfg.rate_limit_window_seconds,
                "custom_keys": [{"header": {
                    "name": cfg.api_key_header,
                    "text_transformations": [{"priority": 0, "type": "NONE"}],
                }}],
            }},
            "visibility_config": _visibility(f"{metric_prefix}-rate-per-api-key"),
        })
    return sorted(rules, key=lambda r: r["priority"])


def size_bytes(size: str) -> int:
    """An nginx size (50m, 1k, 4096) in bytes."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)


def route_rate_limit(route: Route) -> int:
    """The route's per-client rate as requests per ``ROUTE_RATE_WINDOW_SECONDS``."""
    limit = route.rate_limit
    return limit.requests * (ROUTE_RATE_WINDOW_SECONDS if limit.per == "second" else ROUTE_RATE_WINDOW_SECONDS // 60)


def _host_is(host: str) -> dict[str, Any]:
    return {"byte_match_statement": {
        "field_to_match": {"single_header": {"name": "host"}},
        "positional_constraint": "EXACTLY",
        "search_string": host,
        "text_transformations": [{"priority": 0, "type": "LOWERCASE"}],
    }}


def _path_starts_with(path: str) -> dict[str, Any]:
    return {"byte_match_statement": {
        "field_to_match": {"uri_path": {}},
        "positional_constraint": "STARTS_WITH",
        "search_string": path,
        "text_transformations": [{"priority": 0, "type": "NONE"}],
    }}


def _any_path(paths: Sequence[str]) -> dict[str, Any]:
    matches = [_path_is(p) for p in sorted(set(paths))]
    return matches[0] if len(matches) == 1 else {"or_statement": {"statements": matches}}


def route_rules(routes: Sequence[Route], metric_prefix: str) -> list[dict[str, Any]]:
    """EKS: what nginx did per route, as WAF rules (module docstring). Rules are named after the service."""
    rules: list[dict[str, Any]] = []
    for i, route in enumerate(sorted(routes, key=lambda r: r.service)):
        scope = [_host_is(route.host)]
        if route.path != "/":
            scope.append(_path_starts_with(route.path))
        scope.append({"not_statement": {"statement": _path_is(route.health_path)}})
        rules.append({
            "name": f"rate-route-{route.service}",
            "priority": FIRST_ROUTE_RULE_PRIORITY + i,
            "action": _block_with_429(),
            "statement": {"rate_based_statement": {
                "limit": route_rate_limit(route), "aggregate_key_type": "IP",
                "evaluation_window_sec": ROUTE_RATE_WINDOW_SECONDS,
                "scope_down_statement": {"and_statement": {"statements": scope}}}},
            "visibility_config": _visibility(f"{metric_prefix}-rate-route-{route.service}"),
        })
    if routes:
        rules.append({
            "name": "health-body-size",
            "priority": _PRIORITIES["health-body-size"],
            "action": {"block": {"custom_response": {"response_code": BODY_TOO_LARGE_STATUS}}},
            "statement": {"and_statement": {"statements": [
                _any_path([r.health_path for r in routes]),
                {"size_constraint_statement": {
                    # Oversize (beyond what WAF sees) is certainly too large for a health check.
                    "field_to_match": {"body": {"oversize_handling": "MATCH"}},
                    "comparison_operator": "GT",
                    "size": size_bytes(HEALTH_BODY_SIZE),
                    "text_transformations": [{"priority": 0, "type": "NONE"}],
                }},
            ]}},
            "visibility_config": _visibility(f"{metric_prefix}-health-body-size"),
        })
    return rules


def redacted_headers(cfg: WafConfig) -> list[str]:
    extra = [cfg.api_key_header] if cfg.api_key_header and cfg.api_key_header not in REDACTED_HEADERS else []
    return [*REDACTED_HEADERS, *extra]


def web_acl(
    name: str,
    cfg: WafConfig,
    *,
    health_paths: Sequence[str],
    metric_prefix: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    routes: Sequence[Route] = (),
) -> aws.wafv2.WebAcl:
    """``routes``: the EKS routes whose per-route limits the WAF carries (none on VMs, where nginx does)."""
    return aws.wafv2.WebAcl(
        f"{name}-waf",
        description="Edge load balancer: AWS managed rules and per-client rate limits",
        scope="REGIONAL",
        default_action={"allow": {}},
        rules=sorted([*waf_rules(cfg, health_paths, metric_prefix), *route_rules(routes, metric_prefix)],
                     key=lambda r: r["priority"]),
        visibility_config=_visibility(f"{metric_prefix}-web-acl"),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def waf_logging(
    name: str,
    acl: aws.wafv2.WebAcl,
    cfg: WafConfig,
    *,
    log_group_name: str,
    kms_key_arn: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.wafv2.WebAclLoggingConfiguration:
    """WAF logs to an encrypted, expiring log group; credentials are redacted before they are written."""
    group = log_group(f"{name}-waf-logs", log_group_name, retention_days=cfg.log_retention_days,
                      kms_key_arn=kms_key_arn, tags=tags, parent=parent)
    logging_filter = None
    if not cfg.log_allowed_requests:
        logging_filter = {
            "default_behavior": "DROP",
            "filters": [{
                "behavior": "KEEP",
                "requirement": "MEETS_ANY",
                "conditions": [{"action_condition": {"action": action}}
                               for action in ("BLOCK", "COUNT", "CAPTCHA", "CHALLENGE")],
            }],
        }
    return aws.wafv2.WebAclLoggingConfiguration(
        f"{name}-waf-logging",
        resource_arn=acl.arn,
        log_destination_configs=[group.arn],
        redacted_fields=[{"single_header": {"name": header}} for header in redacted_headers(cfg)],
        logging_filter=logging_filter,
        opts=pulumi.ResourceOptions(parent=acl),
    )
