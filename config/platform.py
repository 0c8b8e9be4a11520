"""The whole platform's config tree and the rules that span sections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from agent_contract.schedules import daily_times, max_gap_minutes
from pydantic import Field, model_validator

from config.backup import S3_RTC_MINUTES, BackupConfig, Recovery
from config.base import DnsName, Model, Region, RoleArn, Tier, overlaps
from config.budget import BudgetConfig
from config.catalog import WAF_COUNTABLE_RULES
from config.cluster import ClusterConfig
from config.data import DataTierConfig
from config.delivery import DeliveryConfig, delivery_problems
from config.edge import EdgeConfig, edge_problems
from config.errors import Problems
from config.images import is_digest_pinned
from config.network import NetworkConfig
from config.observability import ObservabilityConfig, observability_problems
from config.services import ServiceConfig, service_problems
from config.vm import VmRuntimeConfig, vm_problems

PROTECTED_TIERS = frozenset({"staging", "prod"})


class PlatformConfig(Model):
    """Everything one stack deploys. Built once, before any resource is registered."""

    environment: Tier = Field(description="Tier whose presets apply: dev, staging or prod.", examples=["dev"])
    region: Region = Field(description="The stack's aws:region (set with pulumi config set aws:region).",
                           examples=["us-east-1"])
    stack: DnsName = Field(description="The stack's name (set by Pulumi).", examples=["prod"])
    project: DnsName = "agent-platform"
    owner: str = Field(min_length=1, description="Team accountable for the environment (tag 'owner').",
                       examples=["platform-team"])
    cost_center: str = Field(min_length=1, description="Billing code (tag 'cost-center').",
                             examples=["cc-ai-platform"])
    protect: bool = Field(description="Protect stateful resources from deletion (on by default in staging and prod).",
                          examples=[True])
    runtime: Literal["eks", "vm"] = Field(
        default="eks", description="Where agent services run: pods on EKS, or containers on EC2 Auto Scaling groups "
                                   "(vm; the cluster section is then unused). See docs/vm-runtime.md.")
    deploy_role_arns: list[RoleArn] = Field(
        default_factory=list,
        description="IAM roles that run `pulumi up` (the CI deploy role, PlatformAdmin): each gets a cluster admin "
                    "access entry (EKS grants the creator nothing: bootstrapClusterCreatorAdminPermissions is off) "
                    "and may change the backup vault policies. Role ARNs, not assumed-role session ARNs.")
    vm: VmRuntimeConfig = VmRuntimeConfig()
    network: NetworkConfig = NetworkConfig()
    cluster: ClusterConfig = ClusterConfig()
    data_tier: DataTierConfig = DataTierConfig()
    services: dict[DnsName, ServiceConfig] = Field(default_factory=dict)
    edge: EdgeConfig = EdgeConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    backup: BackupConfig = BackupConfig()
    cost: BudgetConfig = BudgetConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    recovery: Recovery | None = Field(
        default=None,
        description="Set only in a DR stack (Pulumi.<stack>-dr.yaml): rebuild the platform in this region from the "
                    "source stack's replicated state. See docs/runbooks/disaster-recovery.md.")

    @property
    def name(self) -> str:
        """Prefix for the few physical names that must be stable (cluster, log groups)."""
        return f"{self.project}-{self.stack}"

    def instance_type_choices(self) -> list[list[str]]:
        """Each compute group's instance types on this runtime (the zones the VPC uses must offer one of each)."""
        if self.runtime == "eks":
            return [list(group.instance_types) for group in self.cluster.node_groups.values()]
        if self.vm.shared:
            return [[self.vm.shared_instance_type], [self.data_tier.bootstrap.instance_type]]
        return [*([svc.vm.instance_type] for svc in self.services.values()),
                [self.data_tier.bootstrap.instance_type]]

    @property
    def protected_tier(self) -> bool:
        return self.environment in PROTECTED_TIERS

    @property
    def needs_standby_network(self) -> bool:
        """Whether the DR region needs the standby network: for the document store's global-cluster secondary, or
        for restore tests that restore a database there (a database restore needs subnets of its region)."""
        backup = self.backup
        if backup.dr_region is None:
            return False
        secondary = backup.replicates and self.data_tier.document_store is not None
        return secondary or backup.restore_testing.enabled

    @property
    def ci_runner_enabled(self) -> bool:
        """Whether CI jobs of this stack need the in-VPC runner (by default: a private EKS API, staging and prod)."""
        return self.delivery.ci_runner.is_enabled(self.runtime, self.environment)

    @model_validator(mode="after")
    def _cross_section_rules(self) -> PlatformConfig:
        problems = cross_section_problems(self.environment, self.protect, vars(self), runtime=self.runtime)
        if problems:
            raise Problems.from_lines(problems)
        return self


def cross_section_problems(environment: str, protect: bool | None, sections: Mapping[str, Any],
                           runtime: str | None = "eks") -> list[str]:
    """Rules spanning sections, as "camelCase.path: reason" lines.

    ``sections`` maps field names to validated section models; a section that failed its own
    validation is absent and the rules that need it are skipped, so every other rule still reports.
    """
    problems: list[str] = []
    if runtime == "vm" and environment == "prod":
        problems.append("runtime: prod runs on EKS (zone-spread pods, pod disruption budgets, per-pod network "
                        "policies); the VM runtime is for dev and small staging environments")
    network: NetworkConfig | None = sections.get("network")
    cluster: ClusterConfig | None = sections.get("cluster")
    data: DataTierConfig | None = sections.get("data_tier")
    if environment == "prod":
        if network and network.az_count != 3:
            problems.append(f"network.azCount: prod needs 3 availability zones (got {network.az_count})")
        if network and network.nat_gateways != "perAz":
            problems.append("network.natGateways: prod needs one NAT gateway per AZ ('perAz')")
        if network and network.egress != "natGateway":
            problems.append("network.egress: prod needs NAT gateways (natGateway); one NAT instance is a single "
                            "point of failure for every outbound call")
        if data and not data.postgres.multi_az:
            problems.append("dataTier.postgres.multiAz: prod needs a Multi-AZ database")
        if data and not data.redis.automatic_failover:
            problems.append("dataTier.redis.automaticFailover: prod needs Redis failover across AZs")
        if protect is False:
            problems.append("protect: prod resources must be protected from deletion")
    if environment in PROTECTED_TIERS:
        problems.extend(protected_tier_problems(environment, cluster, data, sections.get("edge")))
    if data and data.redis.automatic_failover and data.redis.num_cache_clusters < 2:
        problems.append("dataTier.redis.numCacheClusters: automatic failover needs at least 2 nodes")
    if data:
        problems.extend(data.problems())
    store = data.dedicated_vector_store if data else None
    if store is not None and runtime == "vm" and daily_times(store.snapshot_schedule) is None:
        problems.append(f"dataTier.{data.vector_store}.snapshotSchedule: on the VM runtime a systemd timer takes the "
                        "snapshots every day: give minutes and hours only, day-of-month, month and day-of-week '*' "
                        f"(e.g. '15 3 * * *' daily, '*/30 * * * *' every 30 minutes), got '{store.snapshot_schedule}'")
    if data and environment in PROTECTED_TIERS:
        if data.postgres.backup_retention_days < 7:
            problems.append(f"dataTier.postgres.backupRetentionDays: {environment} keeps at least 7 days of "
                            f"database backups (got {data.postgres.backup_retention_days})")
        store = data.document_store
        if store is not None and store.instance_count < 2:
            problems.append(f"dataTier.documentStore.instanceCount: {environment} runs at least 2 DocumentDB "
                            "instances in different AZs, so a failover has a replica to promote")
        if store is not None and store.backup_retention_days < 7:
            problems.append(f"dataTier.documentStore.backupRetentionDays: {environment} keeps at least 7 days of "
                            f"document store backups (got {store.backup_retention_days})")
        if data.redis.snapshot_retention_days < 1:
            problems.append(f"dataTier.redis.snapshotRetentionDays: {environment} keeps at least 1 daily "
                            "cache snapshot (got 0)")
        store = data.dedicated_vector_store
        if store is not None and store.snapshot_retention_days < 7:
            problems.append(f"dataTier.{data.vector_store}.snapshotRetentionDays: {environment} keeps at least 7 "
                            f"days of vector store snapshots (got {store.snapshot_retention_days})")
    problems.extend(deploy_role_problems(sections.get("runtime"), sections.get("deploy_role_arns"), cluster))
    delivery: DeliveryConfig | None = sections.get("delivery")
    problems.extend(delivery_problems(sections.get("runtime"), environment, delivery))
    if delivery is not None and cluster is not None and sections.get("runtime") == "eks":
        others = {*cluster.admin_role_arns, *cluster.read_only_role_arns, *(sections.get("deploy_role_arns") or ())}
        problems.extend(f"delivery.previewRoleArns: {arn} already has a cluster access entry (deployRoleArns or "
                        "cluster.*RoleArns); EKS allows one entry per principal" for arn in delivery.preview_role_arns
                        if arn in others)
    deploy_roles: list[str] | None = sections.get("deploy_role_arns")
    if delivery is not None and deploy_roles:
        # arn:<partition>:iam::<account>:role/<name>: the account is the fifth field.
        own = {arn.split(":")[4] for arn in deploy_roles}
        problems.extend(f"delivery.imagePull.accountIds: {account} is this stack's own account (deployRoleArns); "
                        "within one account the deploy role's IAM policy is enough, the repository policy is for "
                        "other accounts" for account in delivery.image_pull.account_ids if account in own)
    if network and cluster:
        vpc_cidr = network.existing_vpc.cidr if network.existing_vpc else network.cidr
        if overlaps(vpc_cidr, cluster.service_cidr):
            problems.append(f"cluster.serviceCidr: {cluster.service_cidr} overlaps the VPC {vpc_cidr}")
    services: Mapping[str, ServiceConfig] | None = sections.get("services")
    if services:
        if data is not None and data.dedicated_vector_store is None:
            problems.extend(f"services.{svc}.secrets: 'vector-store' is the API key of a dedicated vector store, "
                            f"but dataTier.vectorStore is {data.vector_store}; set vectorStore to qdrant or weaviate "
                            "or remove it" for svc, cfg in services.items() if "vector-store" in cfg.secrets)
        problems.extend(service_problems(services, protected=environment in PROTECTED_TIERS,
                                         llm_providers=data.secrets.llm_providers if data else None,
                                         names=sections.get("service_names"),
                                         document_store=(data.document_store is not None) if data else None))
    vm: VmRuntimeConfig | None = sections.get("vm")
    edge_section: EdgeConfig | None = sections.get("edge")
    if edge_section is not None and edge_section.private:
        if environment in PROTECTED_TIERS:
            problems.append(f"edge.exposure: {environment} is served through the public edge (ALB, WAF, TLS); a "
                            "private edge is for dev, where only developers call the services")
        # A vm section that failed its own validation is reported there, not guessed at here.
        if runtime == "vm" and vm is not None and not vm.shared:
            problems.append("edge.exposure: private serves the api services from the shared host's nginx; set "
                            "vm.placement: shared (dedicated groups have no single host to forward a port to)")
    if vm is not None:
        problems.extend(vm_problems(vm, runtime=runtime, services=services,
                                    vpc_cidr=(network.existing_vpc.cidr if network.existing_vpc else network.cidr)
                                    if network else None))
    edge: EdgeConfig | None = sections.get("edge")
    if edge is not None and services is not None:
        problems.extend(edge_problems(edge, services, region=sections.get("region"),
                                      existing_vpc=network.existing_vpc is not None if network else None,
                                      runtime=sections.get("runtime")))
        if environment in PROTECTED_TIERS and edge.controller.replicas < 2:
            problems.append(f"edge.controller.replicas: {environment} runs at least 2 load balancer controller "
                            f"replicas (got {edge.controller.replicas}); its webhook injects the agents' readiness "
                            "gates")
    observability: ObservabilityConfig | None = sections.get("observability")
    if observability is not None:
        problems.extend(observability_problems(environment, observability, data.postgres if data else None))
        problems.extend(observability.log_search.problems(environment, network.az_count if network else None))
        if observability.log_search.enabled and not (observability.log_search.admin_role_arns
                                                     or sections.get("deploy_role_arns")):
            problems.append("observability.logSearch.adminRoleArns: name the roles that administer the log search "
                            "domain (its fine-grained access control master), or set deployRoleArns")
        if observability.log_search.enabled and runtime == "vm":
            problems.append("observability.logSearch.enabled: log search is fed by Fluent Bit on EKS; on the VM "
                            "runtime container logs stay in CloudWatch Logs (search them with Logs Insights), so "
                            "use runtime: eks or leave logSearch off")
    cost: BudgetConfig | None = sections.get("cost")
    if cost is not None and services is not None:
        problems.extend(llm_usage_problems(cost, services))
    backup: BackupConfig | None = sections.get("backup")
    if backup is not None and protect is False and backup.lock.mode != "none":
        problems.append(f"backup.lock.mode: an unprotected stack (protect: false) must stay destroyable with "
                        f"`pulumi destroy`; a {backup.lock.mode}-mode vault lock keeps recovery points until "
                        "their minimum retention. Lock vaults only where protect is true")
    if backup is not None:
        problems.extend(backup.problems(environment=environment, region=str(sections.get("region") or ""),
                                        database_retention_days=data.postgres.backup_retention_days if data else None))
    recovery: Recovery | None = sections.get("recovery")
    if recovery is not None:
        problems.extend(recovery.problems(str(sections.get("region") or ""),
                                          list(data.secrets.llm_providers) if data else []))
        if recovery.document_store_snapshot_arn and data is not None and data.document_store is None:
            problems.append("recovery.documentStoreSnapshotArn: set only with dataTier.documentStore (the store it "
                            "restores)")
    if backup is not None and data is not None and backup.replicates:
        # One reason per key: a schedule the VM runtime already refused is not refused again for the RPO.
        named = {problem.split(":", 1)[0] for problem in problems}
        problems.extend(p for p in dr_store_problems(backup, data) if p.split(":", 1)[0] not in named)
    return problems


# DocumentDB developer guide, "Overview of Amazon DocumentDB global clusters", limitations: "Global clusters are
# supported on all instance types except db.t3, db.t4g, and db.r4".
GLOBAL_CLUSTER_UNSUPPORTED_CLASSES = ("db.t3.", "db.t4g.", "db.r4.")


def dr_store_problems(backup: BackupConfig, data: DataTierConfig) -> list[str]:
    """What keeps the optional stores within backup.rpoTargetMinutes on region loss (backup.drRegion replicated).

    The document store joins a DocumentDB global cluster, which t-class instances cannot; a dedicated vector store
    (a CronJob on EKS, a systemd timer on the VM runtime) snapshots to the data bucket, whose replication (RTC) adds
    up to 15 minutes to the snapshot interval. The data volumes' hourly AWS Backup copy to the DR vault is a second
    copy, not the bound: it loses an hour plus the copy's unbounded duration.
    """
    problems = []
    docs = data.document_store
    if docs is not None and docs.instance_class.startswith(GLOBAL_CLUSTER_UNSUPPORTED_CLASSES):
        problems.append(f"dataTier.documentStore.instanceClass: with backup.drRegion the document store replicates "
                        f"through a DocumentDB global cluster, which does not support {docs.instance_class} "
                        "(db.t3, db.t4g and db.r4 are excluded); use db.r6g.large or larger")
    store = data.dedicated_vector_store
    if store is not None:
        gap = max_gap_minutes(store.snapshot_schedule)
        lag = S3_RTC_MINUTES if backup.replication.replication_time_control else None
        if gap is None or lag is None or gap + lag > backup.rpo_target_minutes:
            if lag is None:
                bound = "S3 replication without Replication Time Control has no time bound"
            elif gap is None:
                bound = (f"'{store.snapshot_schedule}' does not run every day (day-of-month, month and day-of-week "
                         "must be '*'), so the time between snapshots has no bound")
            else:
                bound = (f"snapshots every {gap} minutes plus {lag} minutes of S3 replication exceed "
                         f"backup.rpoTargetMinutes {backup.rpo_target_minutes}")
            problems.append(f"dataTier.{data.vector_store}.snapshotSchedule: the vector store reaches backup.drRegion "
                            f"through its snapshots in the replicated data bucket; {bound}: snapshot at least every "
                            f"{max(backup.rpo_target_minutes - S3_RTC_MINUTES - 15, 5)} minutes (e.g. */30 * * * *)")
    return problems


def llm_usage_problems(cost: BudgetConfig, services: Mapping[str, ServiceConfig]) -> list[str]:
    """``cost.llm.services`` names existing services, and each one it gives traffic to has a model to price."""
    problems = []
    for name, usage in cost.llm.services.items():
        path = f"cost.llm.services.{name}"
        if name not in services:
            problems.append(f"{path}: no service '{name}'; keys here must name a service (one of: "
                            f"{', '.join(sorted(services)) or 'none'})")
        elif usage.models is None and not services[name].default_model:
            problems.append(f"{path}.models: the service sets no defaultModel, so its LLM traffic needs a model mix "
                            "(e.g. {claude-sonnet-4-5: 1})")
    return problems


def protected_tier_problems(environment: str, cluster: ClusterConfig | None, data: DataTierConfig | None,
                            edge: EdgeConfig | None) -> list[str]:
    """Weakenings a developer may need in dev but staging and prod refuse (the policy pack flags them in dev)."""
    problems = []
    wide = cluster.public_access_covers() if cluster else None
    if wide:
        problems.append(f"cluster.publicAccessCidrs: together these CIDRs open the Kubernetes API to {wide} "
                        f"({'the whole internet, 0.0.0.0/0' if wide.endswith('/0') else 'half the internet'}); "
                        f"{environment} lists the deploy runners' egress ranges only (e.g. [\"203.0.113.0/24\"])")
    if data and data.secrets.recovery_window_days < 7:
        problems.append(f"dataTier.secrets.recoveryWindowDays: {environment} keeps deleted secrets restorable for "
                        f"7 to 30 days (got {data.secrets.recovery_window_days}; 0 is for dev only)")
    if data:
        for key in ("postgres_image", "aws_cli_image"):
            image = getattr(data.bootstrap, key)
            # Only what the stack sets: the defaults are tags, and the policy pack requires digests where pods run.
            if key in data.bootstrap.model_fields_set and image is not None and not is_digest_pinned(image):
                name = "postgresImage" if key == "postgres_image" else "awsCliImage"
                problems.append(f"dataTier.bootstrap.{name}: {environment} runs only reviewed bytes; pin the image "
                                f"by digest (repository:tag@sha256:<64 hex>), got '{image}'")
    if edge:
        risky = [r for r in edge.waf.count_only_rules if r not in WAF_COUNTABLE_RULES]
        if risky:
            problems.append(f"edge.waf.countOnlyRules: {environment} blocks {', '.join(risky)} (they stop SSRF, file "
                            f"inclusion and XSS attempts); only {', '.join(WAF_COUNTABLE_RULES)} may count")
    return problems


def role_name(arn: str) -> str:
    """The role's name (its ARN's last path segment): unique within an account, stable across reorders."""
    return arn.rsplit("/", 1)[-1]


def deploy_role_problems(runtime: str | None, deploy_role_arns: list[str] | None,
                         cluster: ClusterConfig | None) -> list[str]:
    """EKS access entries: somebody must be admin, and each principal gets exactly one entry.

    EKS answers 409 ResourceInUseException to a second access entry for the same principal; entries are
    named by role name, so two roles of one name (in two accounts) would collide as well.
    """
    if deploy_role_arns is None or cluster is None:
        return []
    problems: list[str] = []
    admins = [*cluster.admin_role_arns, *deploy_role_arns]
    if runtime == "eks" and not admins:
        problems.append("deployRoleArns: the cluster grants admin access only to the roles listed here and in "
                        "cluster.adminRoleArns; list the roles that run `pulumi up` (the CI deploy role)")
    for arn in cluster.read_only_role_arns:
        if arn in admins:
            problems.append(f"cluster.readOnlyRoleArns: {arn} is also an admin (deployRoleArns or "
                            "cluster.adminRoleArns); EKS allows one access entry per principal, so keep it in only "
                            "one list")
    by_name: dict[str, set[str]] = {}
    for arn in [*admins, *cluster.read_only_role_arns]:
        by_name.setdefault(role_name(arn), set()).add(arn)
    for name, arns in sorted(by_name.items()):
        if len(arns) > 1:
            problems.append(f"cluster.adminRoleArns: roles {', '.join(sorted(arns))} share the name {name!r}; "
                            "access entries are named by role name, so use roles with distinct names")
    return problems
