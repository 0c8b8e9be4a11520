"""agent-platform: LLM-agent systems on AWS, one stack per environment.

Validate the whole config first (nothing is registered if it is wrong), then compose components.
"""

import pulumi
import pulumi_aws as aws

from components.agent_service import AgentService, AgentServiceArgs, ServiceDataRefs, edge_subnet_cidrs
from components.alerts import AlertTopic, AlertTopicArgs
from components.backup_vault import BackupVault, BackupVaultArgs
from components.cluster import Cluster, ClusterArgs
from components.context import Platform
from components.data_tier import DataTier, DataTierArgs
from components.delivery.ci_runner import CiRunner, CiRunnerArgs
from components.edge_proxy import EdgeProxy, EdgeProxyArgs, VmTarget
from components.network import Network, NetworkArgs
from components.node_autoscaler import NodeAutoscaler, NodeAutoscalerArgs
from components.observability import DataTierRefs, EdgeRefs, ObservabilityStack, ObservabilityStackArgs
from components.observability_alarms import VmServiceRefs
from components.service_platform import ServicePlatform, ServicePlatformArgs
from components.shared_keys import SharedKeys
from components.vm_proxy import ProxySpec
from components.vm_service import VmAgentService, VmAgentServiceArgs, VmRuntime
from config import load_config
from config.edge import routes

config = load_config()
platform = Platform.from_config(config)

keys = SharedKeys("keys", platform)
alerts = AlertTopic("alerts", AlertTopicArgs(platform=platform, emails=config.observability.alert_emails))
network = Network("network", NetworkArgs(config=config.network, platform=platform, logs_key_arn=keys.logs_key_arn,
                                         instance_type_choices=config.instance_type_choices()))
# runtime: vm runs each service on its own Auto Scaling group; nothing Kubernetes is constructed.
on_eks = config.runtime == "eks"
vm_runtime = None if on_eks else VmRuntime("vm-runtime", platform, network.vpc_id)
cluster = None if not on_eks else Cluster("cluster", ClusterArgs(
    config=config.cluster,
    platform=platform,
    vpc_id=network.vpc_id,
    private_subnet_ids=network.private_subnet_ids,
    logs_key_arn=keys.logs_key_arn,
    deploy_role_arns=config.deploy_role_arns,
    preview_role_arns=config.delivery.preview_role_arns,
))
# CI jobs of this stack (previews, deploys, drift checks) run here when its Kubernetes API is private (docs/ci.md).
ci_runner = CiRunner("ci-runner", CiRunnerArgs(
    config=config.delivery.ci_runner, platform=platform, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
    private_subnet_ids=network.private_subnet_ids, logs_key_arn=keys.logs_key_arn,
    log_retention_days=config.observability.log_retention_days,
)) if config.delivery.ci_runner.is_enabled(config.runtime, config.environment) else None
# Grows and shrinks the node groups within their minSize/maxSize as pods become unschedulable or nodes idle.
if cluster is not None and config.cluster.node_autoscaler.enabled:
    NodeAutoscaler("cluster-autoscaler", NodeAutoscalerArgs(
        config=config.cluster, platform=platform, cluster_name=cluster.name, oidc=cluster.oidc,
        provider=cluster.provider, node_groups=cluster.node_groups, ready=cluster.ready))
data = DataTier("data", DataTierArgs(
    config=config.data_tier,
    platform=platform,
    vpc_id=network.vpc_id,
    vpc_cidr=network.vpc_cidr,
    isolated_subnet_ids=network.isolated_subnet_ids,
    private_subnet_ids=network.private_subnet_ids,
    workload_security_group_ids={"eks-cluster": cluster.workload_security_group_id} if cluster is not None
    else {"vm-workloads": vm_runtime.workload_security_group_id},
    alert_topic_arn=alerts.topic_arn,
    logs_key_arn=keys.logs_key_arn,
    cluster=cluster,
    # No cluster to run the bootstrap Job: a one-shot instance runs it (its root volume uses the VM key).
    vm_volume_key_arn=vm_runtime.volume_key_arn if vm_runtime is not None else None,
))

# Agent services share one namespace and its add-ons (ESO, KEDA); each entry under `services` is one AgentService.
service_data = ServiceDataRefs.of(data, config.network)
service_platform = None
vm_services: dict[str, VmAgentService] = {}
if cluster is not None:
    service_platform = ServicePlatform("services", ServicePlatformArgs(
        platform=platform, provider=cluster.provider, ready=cluster.ready,
        pod_readiness_gates=config.edge.enabled))
    services: dict[str, AgentService | VmAgentService] = {
        name: AgentService(f"service-{name}", AgentServiceArgs(
            service_name=name, config=service, platform=platform, oidc=cluster.oidc, addons=service_platform,
            data=service_data, edge_cidrs=edge_subnet_cidrs(config.network) if config.edge.enabled else (),
            depends_on=cluster.ready, metrics_server=cluster.metrics_server))
        for name, service in config.services.items()
    }
else:
    assert vm_runtime is not None
    edge_routes = {r.service: r for r in routes(config.edge, config.services)}
    route_urls = {name: r.url for name, r in edge_routes.items()}
    vm_services = {
        name: VmAgentService(f"service-{name}", VmAgentServiceArgs(
            service_name=name, config=service, platform=platform, data=service_data, vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr, private_subnet_ids=network.private_subnet_ids,
            ecr_key_arn=vm_runtime.ecr_key_arn, volume_key_arn=vm_runtime.volume_key_arn,
            workload_security_group_id=vm_runtime.workload_security_group_id,
            logs_key_arn=keys.logs_key_arn, log_retention_days=config.observability.log_retention_days,
            callee_urls={c: route_urls[c] for c in service.calls if c in route_urls},
            proxy=ProxySpec(config.edge, edge_routes[name], service.probes.readiness_path, network.vpc_cidr)
            if name in edge_routes else None))
        for name, service in config.services.items()
    }
    services = dict(vm_services)

# One public entry point per environment (only when edge.domain is set): ALB + WAF, routing to each api service.
edge = None
if config.edge.enabled:
    edge = EdgeProxy("edge", EdgeProxyArgs(
        config=config.edge,
        platform=platform,
        services=config.services,
        vpc_id=network.vpc_id,
        vpc_cidr=network.vpc_cidr,
        public_subnet_ids=network.public_subnet_ids,
        cluster=cluster,
        logs_bucket_name=data.logs_bucket_name,
        logs_bucket_ready=data.logs_bucket_ready,
        logs_key_arn=keys.logs_key_arn,
        route_dependencies=[service_platform.namespace_resource] if service_platform is not None else [],
        vm_targets={name: VmTarget(svc.target_group, svc.security_group_id, svc.target_port)
                    for name, svc in vm_services.items() if svc.target_group is not None},
    ), pulumi.ResourceOptions(providers={"kubernetes": cluster.provider}) if cluster is not None else None)

# Recovery points are copied to a second region through its own provider (only when backup.drRegion is set).
dr_provider = aws.Provider("aws-dr", region=config.backup.dr_region) if config.backup.dr_region else None
backup = BackupVault("backup", BackupVaultArgs(
    config=config.backup,
    platform=platform,
    alert_topic_arn=alerts.topic_arn,
    vpc_id=network.vpc_id,
    isolated_subnet_ids=network.isolated_subnet_ids,
    dr_provider=dr_provider,
    deploy_role_arns=config.deploy_role_arns,
))

# Under runtime: vm only the CloudWatch side is built (alarms, budget); there is no cluster to monitor.
observability = ObservabilityStack("observability", ObservabilityStackArgs(
    platform=platform,
    cluster=cluster,
    alert_topic_arn=alerts.topic_arn,
    alert_key_arn=alerts.key_arn,
    logs_key_arn=keys.logs_key_arn,
    slack_webhook_url=pulumi.Config().get_secret("alertSlackWebhookUrl"),
    external_secrets=[service_platform.external_secrets] if service_platform is not None else [],
    agents_namespace=service_platform.namespace_resource if service_platform is not None else None,
    data=DataTierRefs.of(data),
    edge=EdgeRefs.of(edge),
    # A service with no image yet has no group to watch (docs/first-deploy.md).
    vm_services=[VmServiceRefs(name, svc.autoscaling_group_name, svc.min_size,
                               svc.target_group.arn_suffix if svc.target_group is not None else None)
                 for name, svc in vm_services.items() if svc.autoscaling_group_name is not None],
), pulumi.ResourceOptions(providers={"kubernetes": cluster.provider}) if cluster is not None else None)

pulumi.export("environment", config.environment)
pulumi.export("vpcId", network.vpc_id)
if cluster is not None:
    pulumi.export("clusterName", cluster.name)
    pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("postgresHost", data.postgres_host)
pulumi.export("appDbSecretArn", data.app_db_secret_arn)
pulumi.export("redisHost", data.redis_host)
pulumi.export("redisAuthSecretArn", data.redis_auth_secret_arn)
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
if cluster is not None:
    pulumi.export("grafanaAdminSecretArn", observability.grafana_secret_arn)
    pulumi.export("monitoringNamespace", observability.prometheus_namespace)
if vm_services:
    pulumi.export("serviceAutoScalingGroups", {n: s.autoscaling_group_name for n, s in vm_services.items()
                                               if s.autoscaling_group_name is not None})
if edge is not None:
    pulumi.export("loadBalancerDnsName", edge.load_balancer_dns_name)
    pulumi.export("serviceUrls", {r.service: r.url for r in edge.routes})
if ci_runner is not None:
    pulumi.export("ciRunnerProject", ci_runner.project_name)
if backup.dr_vault_arn is not None:
    pulumi.export("backupDrVaultArn", backup.dr_vault_arn)
