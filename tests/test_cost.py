"""The monthly cost estimate: hand-computed figures from the catalogue's unit prices, and what moves it.

Expected values are computed here from catalogue prices and quantities taken from the config or the
resource, never copied from the estimator's output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from planning.cost_report import Usage, default_catalogue, estimate, stack_cost, stack_report
from planning.cost_report.usage import platform_config
from planning.engine import with_paths
from planning.model import UNKNOWN, Plan, PlannedResource
from tests.harness import PUBLIC_EDGE, STACKS, plan, review

HOURS = 730
REGION = "us-east-1"
CATALOGUE = default_catalogue()

USAGE = Usage.from_mapping({
    "natDataGb": 300, "endpointDataGb": 40, "loadBalancerLcu": 4, "wafRequestsMillions": 20, "s3StorageGb": 90,
    "ecrStorageGb": 12, "logIngestionGb": 60, "backupWarmGb": 80, "backupColdGb": 0, "backupRdsSnapshotGb": 30,
    "spotPriceFactor": 1.0, "runOnceInstanceHours": 3, "ciRunnerBuildMinutes": 900,
    "documentDbStorageGb": 40, "documentDbIoMillions": 70, "documentDbBackupGb": 15,
    "drReplicationGb": 25, "vectorSnapshotGb": 8,
})


def unit(key: str, region: str = REGION) -> float:
    price = CATALOGUE.price(region, key)
    assert price is not None, f"the catalogue has no {region} price for {key}"
    return price.usd


def resource(type_: str, name: str, inputs: Mapping[str, Any], *,
             prop_deps: Mapping[str, list[PlannedResource]] | None = None) -> PlannedResource:
    by_prop = {k: tuple(r.urn for r in v) for k, v in (prop_deps or {}).items()}
    return PlannedResource(
        urn=f"urn:pulumi:test::agent-platform::{type_}::{name}", type=type_, name=name, parent=None, custom=True,
        inputs=dict(inputs), protect=False, retain_on_delete=False,
        dependencies=tuple(u for urns in by_prop.values() for u in urns), property_dependencies=by_prop,
        provider=None,
    )


def priced(*resources: PlannedResource, usage: Usage = USAGE, region: str = REGION):
    return estimate(Plan("test", list(resources)), usage, region=region)


def report_of(stack: str, paths: Mapping[str, Any] | None = None):
    """The stack planned with dotted overrides and priced with the same overrides applied to its config."""
    return stack_report(plan(stack, paths), with_paths(stack, dict(paths or {})))


def cost_of(report, name: str) -> float:
    return sum(line.monthly_usd for line in report.of_resource(name))


# --- hand-computed figures ---------------------------------------------------------------------------------------


def rds(**inputs: Any) -> PlannedResource:
    return resource("aws:rds/instance:Instance", "postgres", {
        "engine": "postgres", "instanceClass": "db.r7g.large", "allocatedStorage": 100, "storageType": "gp3",
        "performanceInsightsEnabled": True, "performanceInsightsRetentionPeriod": 7, **inputs})


def test_a_multi_az_database_bills_primary_and_standby_instances_and_storage():
    report = priced(rds(multiAz=True))
    expected = 2 * HOURS * unit("rds.postgres.db.r7g.large") + 2 * 100 * unit("rds.storage.gp3")
    assert report.total == pytest.approx(expected)
    assert report.unpriced == ()
    single = priced(rds(multiAz=False))
    assert single.total == pytest.approx(expected / 2)


def test_performance_insights_beyond_the_free_week_is_reported_unpriced():
    report = priced(rds(multiAz=False, performanceInsightsRetentionPeriod=731))
    (item,) = report.unpriced
    assert "Performance Insights" in item.reason and "731" in item.reason
    assert report.total == pytest.approx(HOURS * unit("rds.postgres.db.r7g.large") + 100 * unit("rds.storage.gp3"))


def test_an_rds_managed_master_password_is_a_priced_secret():
    report = priced(rds(multiAz=False, manageMasterUserPassword=True))
    assert [line.price_key for line in report.lines].count("secretsmanager.secret") == 1


def test_prod_has_a_nat_gateway_per_az_each_with_its_share_of_the_traffic():
    settings = stack_cost("prod")
    report = stack_report(plan("prod"))
    nat_names = [r.name for r in plan("prod").of_type("aws:ec2/natGateway:NatGateway")]
    assert len(nat_names) == platform_config("prod").network.az_count == 3
    per_gateway = HOURS * unit("vpc.nat.hour") + settings.usage.nat_data_gb / 3 * unit("vpc.nat.data")
    for name in nat_names:
        assert cost_of(report, name) == pytest.approx(per_gateway)
    for eip in plan("prod").of_type("aws:ec2/eip:Eip"):
        assert cost_of(report, eip.name) == pytest.approx(HOURS * unit("vpc.public-ipv4.hour"))


def test_a_single_nat_gateway_carries_all_the_traffic():
    gateway = {"network.egress": "natGateway"}  # dev's tier default is the NAT instance (test_nat_instance)
    settings = stack_cost("dev")
    (nat,) = plan("dev", gateway).of_type("aws:ec2/natGateway:NatGateway")
    expected = HOURS * unit("vpc.nat.hour") + settings.usage.nat_data_gb * unit("vpc.nat.data")
    assert cost_of(stack_report(plan("dev", gateway)), nat.name) == pytest.approx(expected)


def test_a_node_group_costs_its_desired_nodes_and_their_launch_template_volumes():
    group = platform_config("prod").cluster.node_groups["general"]
    expected = (group.desired_size * HOURS * unit(f"ec2.instance.{group.instance_types[0]}")
                + group.desired_size * group.disk_size_gib * unit("ebs.gp3.storage"))
    assert cost_of(stack_report(plan("prod")), "cluster-general") == pytest.approx(expected)


def test_a_spot_group_is_priced_at_its_dearest_type_times_the_spot_factor():
    eks = {"runtime": "eks", "edge": PUBLIC_EDGE}  # dev's node group exists only on EKS; eks_plan("dev")'s inputs
    group = platform_config("dev").cluster.node_groups["general"]
    assert group.capacity_type == "SPOT" and len(group.instance_types) > 1
    dearest = max(unit(f"ec2.instance.{t}") for t in group.instance_types)
    instances = [line for line in report_of("dev", eks).of_resource("cluster-general")
                 if line.price_key.startswith("ec2.instance.")]
    assert sum(line.monthly_usd for line in instances) == pytest.approx(group.desired_size * HOURS * dearest)
    cheap = estimate(plan("dev", eks), Usage.from_mapping({"spotPriceFactor": 0.3}, defaults=stack_cost("dev").usage),
                     region=REGION)
    cheap_instances = [line for line in cheap.of_resource("cluster-general") if line.price_key.startswith("ec2.")]
    expected = 0.3 * group.desired_size * HOURS * dearest
    assert sum(line.monthly_usd for line in cheap_instances) == pytest.approx(expected)


def test_log_groups_pay_ingestion_and_storage_for_their_retention():
    group = resource("aws:cloudwatch/logGroup:LogGroup", "app-logs", {"retentionInDays": 30})
    expected = 60 * unit("logs.ingestion.standard") + 60 * 30 / (365 / 12) * unit("logs.storage")
    assert priced(group).total == pytest.approx(expected)
    forever = priced(resource("aws:cloudwatch/logGroup:LogGroup", "forever", {}))
    assert forever.total == pytest.approx(60 * unit("logs.ingestion.standard"))
    assert "never expires" in forever.unpriced[0].reason


def test_an_internet_facing_alb_with_waf():
    alb = resource("aws:lb/loadBalancer:LoadBalancer", "alb", {
        "loadBalancerType": "application", "internal": False, "subnets": ["subnet-a", "subnet-b", "subnet-c"]})
    def managed(name: str) -> dict[str, Any]:
        return {"name": name, "statement": {"managedRuleGroupStatement": {"vendorName": "AWS", "name": name}}}

    rules = [managed("AWSManagedRulesCommonRuleSet"), managed("AWSManagedRulesBotControlRuleSet"),
             {"name": "rate", "statement": {"rateBasedStatement": {"limit": 2000}}}]
    acl = resource("aws:wafv2/webAcl:WebAcl", "acl", {"scope": "REGIONAL", "rules": rules})
    report = priced(alb, acl)
    assert cost_of(report, "alb") == pytest.approx(
        HOURS * unit("elb.application.hour") + 4 * HOURS * unit("elb.application.lcu")
        + 3 * HOURS * unit("vpc.public-ipv4.hour"))
    assert cost_of(report, "acl") == pytest.approx(
        unit("waf.web-acl") + 3 * unit("waf.rule") + 20 * unit("waf.requests"))
    (bots,) = report.unpriced
    assert "AWSManagedRulesBotControlRuleSet" in bots.reason


def test_the_eks_edge_pays_for_its_waf_route_rules_and_nothing_for_target_groups_or_bindings():
    """Target groups, TargetGroupBindings and the controller's chart are free; its pods use node capacity."""
    p = plan("staging")
    report = stack_report(p, with_paths("staging", {}))
    rules = p.one("aws:wafv2/webAcl:WebAcl").props["rules"]
    assert {"rate-route-api", "rate-route-context", "health-body-size"} <= {r["name"] for r in rules}
    waf = [line for line in report.of_resource("edge-waf") if line.price_key == "waf.rule"]
    assert sum(line.quantity for line in waf) == len(rules)
    for type_ in ("aws:lb/targetGroup:TargetGroup", "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"):
        assert report.free.get(type_, 0) == len(p.of_type(type_)) == 2, type_
    assert list(report.of_resource("edge-lb-controller-release")) == [], "no volumes, no load balancer of its own"
    assert not [u for u in report.unpriced if u.component == "edge"]


def test_interface_endpoints_bill_per_az_and_gateway_endpoints_are_free():
    interface = resource("aws:ec2/vpcEndpoint:VpcEndpoint", "sts", {
        "vpcEndpointType": "Interface", "serviceName": "com.amazonaws.us-east-1.sts", "subnetIds": ["a", "b"]})
    gateway = resource("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"vpcEndpointType": "Gateway"})
    report = priced(interface, gateway)
    assert report.total == pytest.approx(2 * HOURS * unit("vpc.endpoint.interface.hour")
                                         + 40 * unit("vpc.endpoint.interface.data"))
    assert report.free == {"aws:ec2/vpcEndpoint:VpcEndpoint": 1}


def test_chart_volumes_are_priced_from_helm_values_and_the_storage_class():
    storage_class = resource("kubernetes:storage.k8s.io/v1:StorageClass", "gp3", {
        "metadata": {"name": "gp3-encrypted"}, "provisioner": "ebs.csi.aws.com", "parameters": {"type": "gp3"}})
    values = {"prometheus": {"prometheusSpec": {"replicas": 2, "storageSpec": {"volumeClaimTemplate": {"spec": {
        "storageClassName": "gp3-encrypted", "resources": {"requests": {"storage": "50Gi"}}}}}}}}
    release = resource("kubernetes:helm.sh/v3:Release", "monitoring", {"chart": "kube-prometheus-stack",
                                                                       "values": values})
    assert priced(storage_class, release).total == pytest.approx(2 * 50 * unit("ebs.gp3.storage"))
    alone = priced(release)
    assert alone.total == 0 and "not in the plan" in alone.unpriced[0].reason


# --- unpriced, free, unknown ------------------------------------------------------------------------------------


def test_an_unknown_instance_type_is_reported_unpriced_never_zero():
    baseline = stack_report(plan("prod"))
    report = report_of("prod", {"cluster.nodeGroups.general.instanceTypes": ["m5zn.large"]})
    unpriced = [u for u in report.unpriced if u.resource == "cluster-general"]
    assert len(unpriced) == 1 and "m5zn.large" in unpriced[0].reason
    assert not [line for line in report.lines if "m5zn.large" in line.price_key]
    group = platform_config("prod").cluster.node_groups["general"]
    dropped = group.desired_size * HOURS * unit(f"ec2.instance.{group.instance_types[0]}")
    assert report.total == pytest.approx(baseline.total - dropped)


def test_a_resource_type_without_a_rule_is_unpriced_and_free_types_are_counted_free():
    queue = resource("aws:sqs/queue:Queue", "jobs", {})
    role = resource("aws:iam/role:Role", "role", {})
    report = priced(queue, role)
    assert [(u.resource, "no pricing rule" in u.reason) for u in report.unpriced] == [("jobs", True)]
    assert report.free == {"aws:iam/role:Role": 1}


def test_a_value_unknown_until_apply_leaves_only_its_part_unpriced():
    template = resource("aws:ec2/launchTemplate:LaunchTemplate", "lt", {
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 50, "volumeType": "gp3"}}]})
    group = resource("aws:eks/nodeGroup:NodeGroup", "nodes", {
        "instanceTypes": ["m7i.large"], "scalingConfig": {"desiredSize": UNKNOWN}, "launchTemplate": {"id": UNKNOWN}},
        prop_deps={"launchTemplate": [template]})
    endpoint = resource("aws:ec2/vpcEndpoint:VpcEndpoint", "logs", {
        "vpcEndpointType": "Interface", "subnetIds": [UNKNOWN, UNKNOWN, UNKNOWN]})
    report = priced(template, group, endpoint)
    assert [(u.resource, "desiredSize" in u.reason) for u in report.unpriced] == [("nodes", True)]
    assert report.of_resource("nodes") == []
    assert cost_of(report, "logs") == pytest.approx(3 * HOURS * unit("vpc.endpoint.interface.hour")
                                                    + 40 * unit("vpc.endpoint.interface.data"))


def test_a_region_missing_from_the_catalogue_is_unpriced():
    key = resource("aws:kms/key:Key", "key", {})
    report = priced(key, region="eu-west-1")
    assert report.total == 0 and "no eu-west-1 price" in report.unpriced[0].reason


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_of_a_stack_is_priced_free_or_unpriced(stack):
    report = stack_report(plan(stack))
    cloud = [r for r in plan(stack) if r.custom and r.type.split(":")[0] not in ("pulumi", "agent-platform")]
    covered = {line.urn for line in report.lines} | {u.urn for u in report.unpriced}
    assert len(covered) + sum(report.free.values()) == len(cloud)


@pytest.mark.parametrize("stack", STACKS)
def test_the_catalogue_prices_every_kind_the_committed_stacks_use(stack):
    missing = [u for u in stack_report(plan(stack)).unpriced
               if " price for '" in u.reason or "no pricing rule" in u.reason]
    assert missing == [], "add these prices or rules: " + "; ".join(f"{u.resource}: {u.reason}" for u in missing)


def test_resources_on_the_dr_provider_are_priced_in_the_dr_region():
    dr_region = platform_config("prod").backup.dr_region
    assert dr_region and dr_region != REGION
    provider_urns = {r.urn for r in plan("prod").of_type("pulumi:providers:aws") if r.props.get("region") == dr_region}
    on_dr = [r for r in plan("prod") if r.provider_urn in provider_urns]
    assert on_dr
    report = stack_report(plan("prod"))
    for res in on_dr:
        assert {line.region for line in report.of_resource(res.name)} <= {dr_region}


# --- what moves the estimate -------------------------------------------------------------------------------------


def test_raising_prod_node_count_raises_the_estimate_by_the_added_nodes():
    group = platform_config("prod").cluster.node_groups["general"]
    paths = {"cluster.nodeGroups.general.desiredSize": group.desired_size + 3}
    bigger = report_of("prod", paths)
    added = 3 * (HOURS * unit(f"ec2.instance.{group.instance_types[0]}")
                 + group.disk_size_gib * unit("ebs.gp3.storage"))
    assert bigger.total == pytest.approx(stack_report(plan("prod")).total + added)


def test_raising_prod_instance_and_database_classes_raises_the_estimate():
    """Each class's price difference, for its count, and nothing else: the two add up exactly."""
    baseline = stack_report(plan("prod")).total
    group = platform_config("prod").cluster.node_groups["general"]
    postgres = platform_config("prod").data_tier.postgres
    assert postgres.multi_az
    raised = report_of("prod", {"cluster.nodeGroups.general.instanceTypes": ["m7i.2xlarge"],
                                "dataTier.postgres.instanceClass": "db.r7g.xlarge"})
    nodes = group.desired_size * HOURS * (unit("ec2.instance.m7i.2xlarge")
                                          - unit(f"ec2.instance.{group.instance_types[0]}"))
    database = 2 * HOURS * (unit("rds.postgres.db.r7g.xlarge") - unit(f"rds.postgres.{postgres.instance_class}"))
    assert nodes > 0 and database > 0
    assert raised.total == pytest.approx(baseline + nodes + database)
    assert sum(line.monthly_usd for line in raised.of_resource("cluster-general")) == pytest.approx(
        sum(line.monthly_usd for line in stack_report(plan("prod")).of_resource("cluster-general")) + nodes)


def test_usage_assumptions_move_the_estimate():
    base = stack_cost("staging").usage
    more = Usage.from_mapping({"natDataGb": base.nat_data_gb + 1000}, defaults=base)
    delta = estimate(plan("staging"), more, region=REGION).total - estimate(plan("staging"), base, region=REGION).total
    assert delta == pytest.approx(1000 * unit("vpc.nat.data"))


# --- the catalogue -----------------------------------------------------------------------------------------------


def test_the_catalogue_covers_the_stack_and_dr_regions_with_sources_and_dates():
    assert {"us-east-1", "us-west-2"} <= set(CATALOGUE.regions)
    assert CATALOGUE.keys("us-east-1") == CATALOGUE.keys("us-west-2")
    for region in CATALOGUE.regions:
        for key in CATALOGUE.keys(region):
            price = CATALOGUE.price(region, key)
            assert price.source.startswith(("https://aws.amazon.com/", "AWS Price List API")), (region, key)
            assert len(price.date) == 10 and price.date[4] == "-" and price.date[7] == "-", (region, key)
    for stack in STACKS:
        assert stack_cost(stack).region in CATALOGUE.regions


def test_a_document_store_bills_each_instance_and_its_volume_storage_io_and_backup():
    cluster = resource("aws:docdb/cluster:Cluster", "docdb", {"engine": "docdb", "manageMasterUserPassword": True})
    instances = [resource("aws:docdb/clusterInstance:ClusterInstance", f"docdb-{i}",
                          {"instanceClass": "db.r6g.large", "engine": "docdb"}) for i in (1, 2)]
    report = priced(cluster, *instances)
    expected = (2 * HOURS * unit("docdb.db.r6g.large") + 40 * unit("docdb.storage") + 70 * unit("docdb.io")
                + 15 * unit("docdb.backup") + unit("secretsmanager.secret"))
    assert report.total == pytest.approx(expected)
    assert report.unpriced == ()


def test_a_log_search_domain_bills_its_data_nodes_and_each_node_volume():
    domain = resource("aws:opensearch/domain:Domain", "search", {
        "clusterConfig": {"instanceType": "r6g.large.search", "instanceCount": 3},
        "ebsOptions": {"ebsEnabled": True, "volumeType": "gp3", "volumeSize": 100}})
    report = priced(domain)
    expected = 3 * HOURS * unit("opensearch.r6g.large.search") + 3 * 100 * unit("opensearch.storage.gp3")
    assert report.total == pytest.approx(expected)
    assert report.unpriced == ()


# --- vector store snapshots: every run the schedule makes, by retention class ----------------------------------


def snapshot_job(schedule: str, *, volumes_gib: int = 300, days: int = 30, recent_days: int | None = 1,
                 noncurrent_days: int = 90) -> PlannedResource:
    annotations = {"agent-platform/snapshot-gib": str(volumes_gib), "agent-platform/snapshot-retention-days": str(days),
                   "agent-platform/snapshot-noncurrent-days": str(noncurrent_days)}
    if recent_days is not None:
        annotations["agent-platform/snapshot-recent-retention-days"] = str(recent_days)
    return resource("kubernetes:batch/v1:CronJob", "vector-store-snapshot",
                    {"metadata": {"name": "vector-store-snapshot", "annotations": annotations},
                     "spec": {"schedule": schedule}})


def replication(*, rtc: bool) -> PlannedResource:
    rule = {"status": "Enabled", "destination": {"bucket": "arn:aws:s3:::replica"}}
    if rtc:
        rule["destination"]["replicationTime"] = {"status": "Enabled", "time": {"minutes": 15}}
    return resource("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "data-replication", {"rules": [rule]})


def storage_gb(report, name: str) -> float:
    return sum(line.quantity for line in report.of_resource(name) if line.price_key == "s3.standard.storage")


def test_a_daily_snapshot_is_priced_once_a_day_for_its_retention_and_noncurrent_days():
    report = priced(snapshot_job("15 3 * * *"))
    # One 8 GB run a day (usage.vectorSnapshotGb), kept 30 days, up to a day more to S3's midnight, 90 noncurrent.
    assert storage_gb(report, "vector-store-snapshot") == pytest.approx(8 * (30 + 1 + 90))
    assert report.unpriced == ()


def test_a_thirty_minute_schedule_prices_48_runs_a_day_in_two_retention_classes():
    report = priced(snapshot_job("*/30 * * * *"))
    daily = 8 * (30 + 1 + 90)
    recent = 47 * 8 * (1 + 1 + 1)  # the other 47 runs: a day, a day to midnight UTC, a noncurrent day
    assert storage_gb(report, "vector-store-snapshot") == pytest.approx(daily + recent)
    hourly = priced(snapshot_job("0 * * * *"))
    assert storage_gb(hourly, "vector-store-snapshot") == pytest.approx(daily + 23 * 8 * 3)


def test_the_snapshot_size_is_the_usage_assumption_capped_at_the_volumes():
    small = priced(snapshot_job("15 3 * * *", volumes_gib=5))
    assert storage_gb(small, "vector-store-snapshot") == pytest.approx(5 * (30 + 1 + 90))
    assert any("usage.vectorSnapshotGb" in line.item for line in small.of_resource("vector-store-snapshot"))


def test_a_sub_daily_schedule_without_a_recent_retention_is_unpriced_not_free():
    report = priced(snapshot_job("*/30 * * * *", recent_days=None))
    assert [u for u in report.unpriced if u.resource == "vector-store-snapshot"]
    assert not report.of_resource("vector-store-snapshot")


def test_every_snapshot_run_crosses_regions_when_the_bucket_replicates():
    report = priced(snapshot_job("*/30 * * * *"), replication(rtc=True))
    lines = report.of_resource("vector-store-snapshot")
    monthly = 48 * 8 * 365 / 12
    transfer = [line for line in lines if line.price_key == "s3.transfer.inter-region"]
    assert [line.quantity for line in transfer] == [pytest.approx(monthly)]
    assert transfer[0].monthly_usd == pytest.approx(monthly * unit("s3.transfer.inter-region"))
    rtc = [line for line in lines if line.price_key == "s3.replication-time-control"]
    assert [line.quantity for line in rtc] == [pytest.approx(monthly)]
    # The replica keeps the same snapshots as the primary bucket.
    assert storage_gb(report, "vector-store-snapshot") == pytest.approx(2 * (8 * 121 + 47 * 8 * 3))
    unreplicated = priced(snapshot_job("*/30 * * * *"))
    assert not [line for line in unreplicated.of_resource("vector-store-snapshot")
                if line.price_key == "s3.transfer.inter-region"]
    no_rtc = priced(snapshot_job("15 3 * * *"), replication(rtc=False))
    keys = {line.price_key: line.quantity for line in no_rtc.of_resource("vector-store-snapshot")
            if line.price_key != "s3.standard.storage"}
    assert keys == {"s3.transfer.inter-region": pytest.approx(8 * 365 / 12)}


def test_the_committed_dev_stack_costs_at_most_90_dollars_a_month_and_passes_the_pack():
    """The economy profile's promise (docs/cost.md): dev under $90 a month with every mandatory policy met."""
    assert report_of("dev").total <= 90.0
    assert [v.policy for v in review(plan("dev")).mandatory] == []
