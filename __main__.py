"""agent-platform: LLM-agent systems on AWS, one stack per environment.

Validate the whole config first (nothing is registered if it is wrong), then compose components.
"""

import pulumi
import pulumi_aws as aws

from components.backup.images import ImageReplication, ImageReplicationArgs
from components.backup.vault import BackupVault, BackupVaultArgs
from components.core.alerts import AlertTopic, AlertTopicArgs
from components.core.context import StackContext
from components.core.keys import LogsKey, LogsKeyArgs
from components.data.replication import DrTarget, StandbyRefs
from components.data.tier import DataTier, DataTierArgs
from components.delivery.ci_runner import CiRunner, CiRunnerArgs
from components.edge.edge import Edge, EdgeArgs
from components.network.standby import StandbyNetwork, StandbyNetworkArgs
from components.network.vpc import Network, NetworkArgs
from components.observability.log_search import LogSearchNetwork
from components.observability.stack import DataTierRefs, EdgeRefs, ObservabilityStack, ObservabilityStackArgs
from components.runtime.seam import RuntimeInputs
from components.runtime.select import runtime_for
from components.services.contract import ServiceDataRefs
from config import load_config
from config.edge import routes

config = load_config()
context = StackContext.from_config(config)

keys = LogsKey("keys", LogsKeyArgs(context))
alerts = AlertTopic("alerts", AlertTopicArgs(context=context, emails=config.observability.alert_emails))
network = Network("network", NetworkArgs(config=config.network, context=context, logs_key_arn=keys.logs_key_arn,
                                         instance_type_choices=config.instance_type_choices()))
# The runtime (EKS or VMs, `runtime` in the stack config) is chosen once; components below never ask which.
runtime = runtime_for(RuntimeInputs(config=config, context=context, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
                                    public_cidrs=network.public_cidrs, private_subnet_ids=network.private_subnet_ids,
                                    logs_key_arn=keys.logs_key_arn))
# CI jobs of this stack (previews, deploys, drift checks) run here when its Kubernetes API is private (docs/ci.md).
ci_runner = CiRunner("ci-runner", CiRunnerArgs(
    config=config.delivery.ci_runner, context=context, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
    private_subnet_ids=network.private_subnet_ids, logs_key_arn=keys.logs_key_arn,
    log_retention_days=config.observability.log_retention_days,
)) if config.ci_runner_enabled else None
# Recovery points are copied, and the data stores replicated, to a second region through its own provider (only when
# backup.drRegion is set); the provider is created before the stores that replicate through it.
dr_provider = aws.Provider("aws-dr", region=config.backup.dr_region) if config.backup.dr_region else None
# The DR region's standby network (isolated subnets only): for the document store's global-cluster secondary and the
# restore tests that restore databases from the DR vault there.
standby = StandbyNetwork("standby", StandbyNetworkArgs(
    context=context, region=config.backup.dr_region, provider=dr_provider, cidr=config.backup.replication.standby_cidr,
    flow_log_retention_days=config.network.flow_logs.retention_days,
)) if dr_provider is not None and config.backup.dr_region and config.needs_standby_network else None
dr_target = DrTarget(region=config.backup.dr_region, provider=dr_provider, config=config.backup.replication,
                     standby=StandbyRefs(vpc_id=standby.vpc_id, subnet_ids=standby.subnet_ids,
                                         logs_key_arn=standby.logs_key_arn) if standby else None) \
    if dr_provider is not None and config.backup.replicates and config.backup.dr_region else None
data = DataTier("data", DataTierArgs(
    config=config.data_tier,
    context=context,
    vpc_id=network.vpc_id,
    vpc_cidr=network.vpc_cidr,
    isolated_subnet_ids=network.isolated_subnet_ids,
    private_subnet_ids=network.private_subnet_ids,
    database_cidrs=network.isolated_cidrs,
    workload_security_group_ids=runtime.workload_security_groups,
    alert_topic_arn=alerts.topic_arn,
    logs_key_arn=keys.logs_key_arn,
    bootstrap=runtime.database_bootstrap,
    dr=dr_target,
    recovery=config.recovery,
), runtime.component_opts())
services = runtime.deploy_services(ServiceDataRefs.of(data))

# One public entry point per environment (only when edge.domain is set): ALB + WAF, routing to each api service.
# A private edge (dev) has none: developers reach the shared host through Session Manager (docs/edge.md).
edge = None
if config.edge.public:
    edge = Edge("edge", EdgeArgs(
        config=config.edge,
        context=context,
        services=config.services,
        vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr,
        public_subnet_ids=network.public_subnet_ids,
        backend=runtime.edge_backend(),
        logs_bucket_name=data.logs_bucket_name,
        logs_bucket_ready=data.logs_bucket_ready,
        logs_key_arn=keys.logs_key_arn,
        take_over_dns=config.recovery is not None,
    ), runtime.component_opts())

backup = BackupVault("backup", BackupVaultArgs(
    config=config.backup,
    context=context,
    alert_topic_arn=alerts.topic_arn,
    vpc_id=network.vpc_id,
    isolated_subnet_ids=network.isolated_subnet_ids,
    dr_provider=dr_provider,
    dr_vpc_id=standby.vpc_id if standby else None,
    dr_isolated_subnet_ids=standby.subnet_ids if standby else (),
    deploy_role_arns=config.deploy_role_arns,
    volume_backups=config.data_tier.dedicated_vector_store is not None,
    data_resource_types=["DocumentDB"] if config.data_tier.document_store is not None else [],
))

# The registry's one replication configuration: only the stack that opts in owns it (docs/disaster-recovery.md).
if dr_target is not None and dr_target.config.images and config.backup.dr_region:
    ImageReplication("images", ImageReplicationArgs(context=context, dr_region=config.backup.dr_region,
                                                    dr_provider=dr_target.provider))

# What is watched besides CloudWatch metrics depends on the runtime (in-cluster Prometheus on EKS).
observability = ObservabilityStack("observability", ObservabilityStackArgs(
    context=context,
    config=config.observability,
    services=config.services,
    target=runtime.monitoring_target(),
    monthly_budget_usd=config.cost.monthly_budget_usd,
    secret_recovery_window_days=config.data_tier.secrets.recovery_window_days,
    alert_topic_arn=alerts.topic_arn,
    alert_key_arn=alerts.key_arn,
    logs_key_arn=keys.logs_key_arn,
    slack_webhook_url=pulumi.Config().get_secret("alertSlackWebhookUrl"),
    data=DataTierRefs.of(data),
    edge=EdgeRefs.of(edge),
    log_search_network=LogSearchNetwork(vpc_id=network.vpc_id, subnet_ids=network.isolated_subnet_ids,
                                        source_security_group_ids=runtime.workload_security_groups,
                                        admin_role_arns=config.observability.log_search.admin_role_arns
                                        or config.deploy_role_arns),
), runtime.component_opts())

pulumi.export("environment", config.environment)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("postgresHost", data.postgres_host)
pulumi.export("appDbSecretArn", data.app_db_secret_arn)
pulumi.export("redisHost", data.redis_host)
pulumi.export("redisAuthSecretArn", data.redis_auth_secret_arn)
if data.mongodb_host is not None:
    pulumi.export("mongodbHost", data.mongodb_host)
    pulumi.export("mongodbSecretArn", data.mongodb_secret_arn)
pulumi.export("dataBucketName", data.data_bucket_name)
pulumi.export("logsBucketName", data.logs_bucket_name)
pulumi.export("llmKeySecretArns", data.llm_key_secret_arns)
pulumi.export("jwtSecretArn", data.jwt_secret_arn)
pulumi.export("encryptionKeySecretArn", data.encryption_key_secret_arn)
pulumi.export("serviceInternalUrls", {name: svc.url for name, svc in services.items()})
pulumi.export("serviceImageRepositories", {name: svc.repository_url for name, svc in services.items()})
# Only released services run an image; the others have their repository and wait for a digest.
pulumi.export("serviceImages", {name: svc.image_ref for name, svc in services.items() if svc.image_ref is not None})
pulumi.export("serviceRoleArns", {name: svc.role_arn for name, svc in services.items()})
pulumi.export("backupVaultName", backup.vault_name)
pulumi.export("backupPlanId", backup.plan_id)
pulumi.export("backupRoleArn", backup.role_arn)
for key, value in runtime.exports(observability).items():
    pulumi.export(key, value)
if edge is not None:
    pulumi.export("loadBalancerDnsName", edge.load_balancer_dns_name)
    pulumi.export("serviceUrls", {r.service: r.url for r in edge.routes})
elif config.edge.private:
    # Local URLs once a Session Manager port forward to the shared host runs (docs/edge.md, "Private edge").
    pulumi.export("servicePortForwards", {r.service: r.url for r in routes(config.edge, config.services)})
if ci_runner is not None:
    pulumi.export("ciRunnerProject", ci_runner.project_name)
if observability.log_search is not None:
    pulumi.export("logSearchEndpoint", observability.log_search.endpoint)
    pulumi.export("logSearchAdminRoleArn", observability.log_search.master_role_arn)
if backup.dr_vault_arn is not None:
    pulumi.export("backupDrVaultArn", backup.dr_vault_arn)
if data.dr_state is not None:
    # What a DR stack's `recovery` section takes (docs/runbooks/disaster-recovery.md); ARNs and names only.
    pulumi.export("drState", data.dr_state)
