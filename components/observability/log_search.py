"""Log search: an Amazon OpenSearch Service domain for systems that expect ELK (seed 004 runs Elasticsearch,
Logstash and Kibana), fed by the platform's Fluent Bit.

VPC-only in the isolated subnets behind a security group that admits HTTPS from the workload groups only (Fluent
Bit runs on the nodes); encrypted at rest with its own CMK and between nodes; HTTPS only with TLS 1.2+ and forward
secrecy; fine-grained access control with an IAM master role and no internal users; audit, application and slow
logs to encrypted CloudWatch log groups the domain may write through a log resource policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from agent_contract.aws import OPENSEARCH_TLS_POLICY

from components.core import iam, kms
from components.core.context import StackContext
from components.core.logs import log_group
from components.data.naming import physical_name
from config.observability import LogSearchConfig

COMPONENT = "observability"
HTTPS_PORT = 443
# LogPublishingOptions keys (OpenSearch API LogType: INDEX_SLOW_LOGS | SEARCH_SLOW_LOGS | ES_APPLICATION_LOGS |
# AUDIT_LOGS) and the suffix of the log group each one writes to.
LOG_TYPES: Mapping[str, str] = {"AUDIT_LOGS": "audit", "ES_APPLICATION_LOGS": "application",
                                "SEARCH_SLOW_LOGS": "search-slow", "INDEX_SLOW_LOGS": "index-slow"}
# Domain names: 3-28 characters, lowercase letters, digits and hyphens, starting with a letter (CreateDomain).
DOMAIN_NAME_LIMIT = 28


@dataclass(frozen=True)
class LogSearchNetwork:
    """Where the domain lives and who may reach or administer it: the VPC, its isolated subnets, the workload
    groups, and the admin roles (the first is the fine-grained access control master user)."""

    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    source_security_group_ids: Mapping[str, pulumi.Input[str]]
    # The fine-grained access control master: the first of these roles.
    admin_role_arns: Sequence[str] = ()


@dataclass(frozen=True)
class LogSearch:
    domain: aws.opensearch.Domain
    endpoint: pulumi.Output[str]
    domain_arn: pulumi.Output[str]
    master_role_arn: pulumi.Output[str]


def log_search_domain(parent: pulumi.Resource, name: str, cfg: LogSearchConfig, context: StackContext, *,
                      network: LogSearchNetwork, logs_key_arn: pulumi.Input[str],
                      log_retention_days: int) -> LogSearch:
    tags = context.tags(COMPONENT)
    child = pulumi.ResourceOptions(parent=parent)
    domain_name = physical_name(context.name, "logs", DOMAIN_NAME_LIMIT)
    domain_arn = pulumi.Output.format("arn:{0}:es:{1}:{2}:domain/{3}", context.partition, context.region,
                                      context.account_id, domain_name)

    key = kms.customer_key(f"{name}-log-search-key", "log-search", account_id=context.account_id,
                           partition=context.partition, tags=tags, protect=context.protect, parent=parent)
    group = aws.ec2.SecurityGroup(
        f"{name}-log-search-sg", vpc_id=network.vpc_id, description="OpenSearch HTTPS from the workloads only",
        tags=context.tags(COMPONENT, Name=f"{context.name}-log-search"), opts=child)
    for source_name, source in network.source_security_group_ids.items():
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-log-search-from-{source_name}", security_group_id=group.id, referenced_security_group_id=source,
            ip_protocol="tcp", from_port=HTTPS_PORT, to_port=HTTPS_PORT,
            description=f"HTTPS from workload group {source_name} (Fluent Bit)", tags=tags,
            opts=pulumi.ResourceOptions(parent=group))

    groups = {kind: log_group(f"{name}-log-search-{suffix}-logs", f"/aws/opensearch/{domain_name}/{suffix}",
                              retention_days=log_retention_days, kms_key_arn=logs_key_arn, tags=tags, parent=parent)
              for kind, suffix in LOG_TYPES.items()}
    # The domain writes its logs through this policy (OpenSearch "Enabling log publishing": the service principal
    # needs logs:PutLogEvents and logs:CreateLogStream), limited to this account and this domain.
    log_policy = aws.cloudwatch.LogResourcePolicy(
        f"{name}-log-search-log-policy",
        policy_name=physical_name(context.name, "opensearch-logs", 255),
        policy_document=iam.document(iam.statement(
            ["logs:PutLogEvents", "logs:CreateLogStream"],
            [pulumi.Output.concat(g.arn, ":*") for g in groups.values()],
            sid="OpenSearchPublishesLogs", principal={"Service": "es.amazonaws.com"},
            condition={"StringEquals": {"aws:SourceAccount": context.account_id},
                       "ArnLike": {"aws:SourceArn": domain_arn}})),
        opts=child)

    if not network.admin_role_arns:
        raise ValueError("log search needs an admin role (observability.logSearch.adminRoleArns or deployRoleArns)")
    # The master user is an existing admin role, so no new role with a cross-account trust is created; further
    # admins are mapped inside OpenSearch (security plugin role all_access) by the master.
    master_arn = network.admin_role_arns[0]
    zones = cfg.availability_zones if cfg.zone_awareness else 1
    domain = aws.opensearch.Domain(
        f"{name}-log-search",
        domain_name=domain_name,
        engine_version=cfg.engine_version,
        cluster_config={
            "instance_type": cfg.instance_type,
            "instance_count": cfg.instance_count,
            "zone_awareness_enabled": cfg.zone_awareness,
            **({"zone_awareness_config": {"availability_zone_count": zones}} if cfg.zone_awareness else {}),
        },
        ebs_options={"ebs_enabled": True, "volume_type": "gp3", "volume_size": cfg.volume_size_gib},
        # One subnet per zone the domain spans (CreateDomain rejects more subnets than zones).
        vpc_options={"subnet_ids": list(network.subnet_ids)[:zones], "security_group_ids": [group.id]},
        encrypt_at_rest={"enabled": True, "kms_key_id": key.arn},
        node_to_node_encryption={"enabled": True},
        domain_endpoint_options={"enforce_https": True, "tls_security_policy": OPENSEARCH_TLS_POLICY},
        advanced_security_options={
            "enabled": True,
            "internal_user_database_enabled": False,
            "master_user_options": {"master_user_arn": master_arn},
        },
        # IAM decides who may call the domain at all (this account's principals allowed es:ESHttp* by their own
        # policies); fine-grained access control then maps each IAM role to what it may do inside.
        access_policies=iam.document(iam.statement(
            ["es:ESHttp*"], pulumi.Output.concat(domain_arn, "/*"), sid="AccountPrincipals",
            principal={"AWS": pulumi.Output.concat("arn:", context.partition, ":iam::", context.account_id,
                                                   ":root")})),
        log_publishing_options=[{"log_type": kind, "cloudwatch_log_group_arn": g.arn, "enabled": True}
                                for kind, g in groups.items()],
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=context.protect, depends_on=[log_policy]),
    )
    return LogSearch(domain=domain, endpoint=domain.endpoint, domain_arn=domain.arn,
                     master_role_arn=pulumi.Output.from_input(master_arn))
