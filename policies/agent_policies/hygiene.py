"""Lower-severity settings scanners report on the data and edge tiers.

Each is a one-flag fix that an FSBP or Checkov run would otherwise raise on every review: snapshots that lose
their tags, databases without enhanced monitoring, caches without logs or minor upgrades, the ALB's desync
mitigation, WAF metrics, certificate transparency logging and target group health checks.
"""

from __future__ import annotations

from pulumi_policy import Policy, ResourceValidationArgs, Severity

from ._common import (
    Report,
    Settings,
    as_list,
    checkov,
    fsbp,
    get,
    known,
    resource_policy,
    soc2,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
WEB_ACL = "aws:wafv2/webAcl:WebAcl"


def _check_copy_tags(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "copyTagsToSnapshot") is not True:
        report("copyTagsToSnapshot is not true: snapshots lose the cost-allocation and backup tags.")


def _check_enhanced_monitoring(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    interval = get(args.props, "monitoringInterval", default=0)
    maximum = int(settings["maxIntervalSeconds"])
    if not interval or int(interval) > maximum:
        report(f"monitoringInterval is {int(interval or 0)}: enhanced monitoring is off or coarser than {maximum}s, so "
               "OS-level memory, swap and I/O are invisible during an incident.")
    elif not get(args.props, "monitoringRoleArn"):
        report("monitoringInterval is set but monitoringRoleArn is not: RDS cannot publish the metrics.")


def _check_cache_logs(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    required = {str(t) for t in settings["requiredLogTypes"]}
    delivered = set()
    for entry in as_list(get(args.props, "logDeliveryConfigurations")):
        kind = known(lambda e=entry: get(e, "logType"))
        if isinstance(kind, str):
            delivered.add(kind)
    missing = sorted(required - delivered)
    if missing:
        report(f"logDeliveryConfigurations lacks {', '.join(missing)}: slow commands and engine events are not kept.")


def _check_cache_minor(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "autoMinorVersionUpgrade", default=True) is False:
        report("autoMinorVersionUpgrade is false: security patches of the engine are never applied.")


def _check_desync(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "loadBalancerType", default="application") != "application":
        return
    mode = get(args.props, "desyncMitigationMode", default="defensive")
    if mode not in ("defensive", "strictest"):
        report(f"desyncMitigationMode is {mode}: HTTP request smuggling reaches the targets. Use defensive or "
               "strictest.")


def _check_waf_metrics(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "visibilityConfig", "cloudwatchMetricsEnabled") is not True:
        report("visibilityConfig.cloudwatchMetricsEnabled is not true: the web ACL's blocked and allowed counts are "
               "not in CloudWatch.")
    rules = get(args.props, "rules", default=[])
    for i in range(len(rules)):
        enabled = known(lambda i=i: get(rules[i], "visibilityConfig", "cloudwatchMetricsEnabled"))
        if enabled is False:
            name = known(lambda i=i: get(rules[i], "name"), f"#{i + 1}")
            report(f"Rule {name} has cloudwatchMetricsEnabled=false: its matches cannot be alarmed on.")


def _check_ct_logging(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "options", "certificateTransparencyLoggingPreference") == "DISABLED":
        report("certificateTransparencyLoggingPreference is DISABLED: browsers reject certificates that are not in "
               "CT logs, and mis-issued certificates for the domain go unnoticed.")


def _check_target_group(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    target_type = get(args.props, "targetType", default="instance")
    if target_type == "lambda":
        return
    protocol = str(get(args.props, "protocol", default="HTTP") or "HTTP").upper()
    check = get(args.props, "healthCheck")
    if check is None:
        report("healthCheck is not set: the load balancer probes \"/\" with its defaults instead of a readiness "
               "endpoint.")
        return
    if get(check, "enabled") is False:
        report("healthCheck.enabled is false: failed targets keep receiving traffic.")
        return
    if protocol in ("HTTP", "HTTPS") and not get(check, "path"):
        report("healthCheck.path is not set: probe the service's readiness endpoint, not \"/\".")
    threshold = get(check, "unhealthyThreshold")
    if threshold is not None and int(threshold) > int(settings["maxUnhealthyThreshold"]):
        report(f"healthCheck.unhealthyThreshold is {int(threshold)}: a dead target keeps traffic for too long.")


POLICIES: list[Policy] = [
    resource_policy(
        "rds-copy-tags-to-snapshot",
        description="RDS instances copy their tags to snapshots.",
        resource_types=[RDS_INSTANCE],
        check=_check_copy_tags,
        severity=Severity.LOW,
        remediation="Set copy_tags_to_snapshot=True.",
        topic=("governance",),
        refs=[fsbp("RDS.17"), checkov("CKV2_AWS_60")],
    ),
    resource_policy(
        "rds-enhanced-monitoring",
        description="RDS instances publish enhanced monitoring at least every 60 seconds.",
        resource_types=[RDS_INSTANCE],
        check=_check_enhanced_monitoring,
        severity=Severity.LOW,
        remediation="Set monitoring_interval (1-60) and monitoring_role_arn to a role with "
                    "AmazonRDSEnhancedMonitoringRole.",
        topic=("availability",),
        refs=[fsbp("RDS.6"), checkov("CKV_AWS_118")],
        config={"maxIntervalSeconds": {"type": "integer", "minimum": 1, "maximum": 60, "default": 60,
                                       "description": "Coarsest allowed monitoring interval."}},
    ),
    resource_policy(
        "elasticache-log-delivery",
        description="ElastiCache replication groups deliver their slow and engine logs.",
        resource_types=[REPLICATION_GROUP],
        check=_check_cache_logs,
        severity=Severity.LOW,
        remediation="Add log_delivery_configurations for slow-log and engine-log to CloudWatch Logs groups.",
        topic=("security", "availability"),
        refs=[soc2("CC7.2")],
        config={"requiredLogTypes": {"type": "array", "items": {"type": "string", "enum": ["slow-log",
                                                                                          "engine-log"]},
                                     "default": ["slow-log", "engine-log"],
                                     "description": "Log types that must be delivered."}},
    ),
    resource_policy(
        "elasticache-auto-minor-upgrade",
        description="ElastiCache replication groups take minor engine upgrades automatically.",
        resource_types=[REPLICATION_GROUP, "aws:elasticache/cluster:Cluster"],
        check=_check_cache_minor,
        severity=Severity.LOW,
        remediation="Leave auto_minor_version_upgrade at true (the default).",
        refs=[fsbp("ElastiCache.2")],
    ),
    resource_policy(
        "alb-desync-mitigation",
        description="Application Load Balancers use defensive or strictest HTTP desync mitigation.",
        resource_types=list(LOAD_BALANCERS),
        check=_check_desync,
        severity=Severity.LOW,
        remediation="Leave desync_mitigation_mode at defensive (the default) or set strictest.",
        refs=[fsbp("ELB.12"), checkov("CKV_AWS_328")],
    ),
    resource_policy(
        "waf-metrics-enabled",
        description="WAF web ACLs and each of their rules publish CloudWatch metrics.",
        resource_types=[WEB_ACL],
        check=_check_waf_metrics,
        severity=Severity.LOW,
        remediation="Set visibility_config.cloudwatch_metrics_enabled=True on the web ACL and every rule.",
        topic=("security", "availability"),
        refs=[fsbp("WAF.12")],
    ),
    resource_policy(
        "acm-certificate-transparency-logging",
        description="ACM certificates are logged to certificate transparency logs.",
        resource_types=["aws:acm/certificate:Certificate"],
        check=_check_ct_logging,
        severity=Severity.LOW,
        remediation="Leave options.certificate_transparency_logging_preference at ENABLED.",
        refs=[checkov("CKV_AWS_234", "Verify logging preference for ACM certificates")],
    ),
    resource_policy(
        "target-group-health-check",
        description="Every load balancer target group checks a readiness path and drops failed targets quickly.",
        resource_types=list(TARGET_GROUPS),
        check=_check_target_group,
        severity=Severity.MEDIUM,
        remediation="Set health_check with enabled=True, path=<readiness endpoint>, matcher and an "
                    "unhealthy_threshold of a few checks.",
        topic=("availability",),
        refs=[checkov("CKV_AWS_261", "Ensure HTTP HTTPS Target group defines Healthcheck")],
        config={"maxUnhealthyThreshold": {"type": "integer", "minimum": 2, "maximum": 10, "default": 5,
                                          "description": "Most failed checks before a target is taken out."}},
    ),
]
