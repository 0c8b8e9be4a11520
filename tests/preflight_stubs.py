"""A stubbed AWS account for preflight tests: boto3 clients answered by botocore's Stubber.

Stubber checks every request against the service model (operation, parameter names and types) and every
canned response against the model's output shape, so the checks are tested against the API as botocore
ships it. Each ``expect_*`` queues the answers one check needs; ``plant`` arguments turn one into a failure.
"""

from __future__ import annotations

import datetime
import functools
import threading
from typing import Any

import boto3
from botocore.stub import Stubber

from planning.preflight.facts import (
    Addon,
    Cache,
    Chart,
    Database,
    EcrImage,
    Facts,
    HostedZone,
    RegistryLookup,
    SarApplication,
)

REGION = "us-east-1"
ACCOUNT = "111122223333"
# us-east-1 zone names as one account maps them; use1-az3 is the zone EKS refuses (EKS user guide, network-reqs).
ZONES = [("us-east-1a", "use1-az1"), ("us-east-1b", "use1-az2"), ("us-east-1c", "use1-az3"),
         ("us-east-1d", "use1-az4"), ("us-east-1e", "use1-az5"), ("us-east-1f", "use1-az6")]
DIGEST = "sha256:" + "ab" * 32
SAR_APP = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser"


# Sessions are not thread-safe (boto3 guide, "Multithreading or multiprocessing with sessions") and the runner
# runs checks on threads, each asking for its clients: clients are made under this lock, then used freely.
_SESSION_LOCK = threading.Lock()


@functools.cache
def _session(region: str) -> boto3.session.Session:
    """One session per region for every stubbed account: its loader parses each service model once, where a session
    per client parsed it for every client of every test. Clients and their Stubbers stay per account."""
    return boto3.session.Session(aws_access_key_id="AKIDTEST", aws_secret_access_key="secret", region_name=region)


class StubAccount:
    """A client factory (``clients(service, region)``) whose clients answer only what was queued."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubbers: dict[tuple[str, str], Stubber] = {}
        self.calls: list[str] = []

    def __call__(self, service: str, region: str | None = None) -> Any:
        key = (service, region or REGION)
        if key not in self.clients:
            with _SESSION_LOCK:
                client = _session(key[1]).client(service, region_name=key[1])
            client.meta.events.register("before-call.*.*", self._record)
            stubber = Stubber(client)
            stubber.activate()
            self.clients[key], self.stubbers[key] = client, stubber
        return self.clients[key]

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.signing_name}:{model.name}")

    def ok(self, service: str, method: str, response: dict[str, Any], params: dict[str, Any] | None = None,
           region: str = REGION) -> None:
        self(service, region)
        self.stubbers[(service, region)].add_response(method, response, params)

    def error(self, service: str, method: str, shape: str, params: dict[str, Any] | None = None,
              region: str = REGION) -> None:
        """Answer with the error the model declares (its wire code, e.g. iam's NoSuchEntityException is
        NoSuchEntity), as AWS would send it."""
        client = self(service, region)
        meta = client.meta.service_model.shape_for(shape).metadata.get("error") or {}
        self.stubbers[(service, region)].add_client_error(
            method, service_error_code=meta.get("code", shape), service_message=f"stubbed {shape}",
            http_status_code=meta.get("httpStatusCode", 400), expected_params=params)

    def verify(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def facts(**changes: Any) -> Facts:
    """A stack that needs something of every check: EKS with add-ons, Postgres, Redis, a SAR app, charts,
    ECR images, a hosted zone by name and by ID, roles, an AMI parameter and quota demand."""
    base = Facts(
        stack="prod", region=REGION, cluster_name="agent-platform-prod", eks_version="1.36",
        addons=[Addon("vpc-cni", "v1.22.4-eksbuild.3"), Addon("metrics-server", None)],
        zone_count=3, excluded_zone_ids=("use1-az3",), instance_type_choices=[("m7i.xlarge",)],
        databases=[Database("data-postgres", "postgres", "16", "db.r7g.large", True, "agent-platform-prod-postgres")],
        caches=[Cache("data-redis", "redis", "7.1", "cache.r7g.large")],
        sar_applications=[SarApplication("data-rotation-function", SAR_APP, "1.1.671")],
        charts=[Chart("services-keda", "keda", "2.20.2", "http://charts.test/keda")],
        ecr_images=[EcrImage(f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/agent-platform-prod/api@{DIGEST}",
                             ACCOUNT, REGION, "agent-platform-prod/api", DIGEST)],
        hosted_zones=[HostedZone("example.com", None), HostedZone(None, "Z0123456789ABC")],
        registry_lookups=[RegistryLookup("quay.io/example/recorded:v1", "sha256:" + "b" * 64),
                          RegistryLookup("public.ecr.aws/example/resolved:2.0")],
        role_arns=[f"arn:aws:iam::{ACCOUNT}:role/PlatformAdmin", "arn:aws:iam::444455556666:role/Elsewhere"],
        ssm_parameters=["/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"],
        demand={"eips": 3, "vpcs": 1, "internet_gateways": 1, "nat_per_zone": 1, "eks_clusters": 1},
        own_tags={"project": "agent-platform", "stack": "prod"},
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


KEDA_INDEX = b"""apiVersion: v1
entries:
  keda:
  - name: keda
    version: 2.20.2
    urls: [https://charts.test/keda-2.20.2.tgz]
  - name: keda
    version: 2.20.1
    urls: [https://charts.test/keda-2.20.1.tgz]
generated: "2026-11-01T00:00:00Z"
"""


def expect_zones(account: StubAccount, f: Facts, *, offered_in: list[str] | None = None) -> None:
    """The zone read the runner makes first; ``offered_in``: zone IDs offering the instance types."""
    account.ok("ec2", "describe_availability_zones", {"AvailabilityZones": [
        {"ZoneName": n, "ZoneId": i, "State": "available", "RegionName": REGION,
         "OptInStatus": "opt-in-not-required", "ZoneType": "availability-zone"} for n, i in ZONES]},
        {"Filters": [{"Name": "state", "Values": ["available"]},
                     {"Name": "opt-in-status", "Values": ["opt-in-not-required"]}]})
    types = sorted({t for c in f.instance_type_choices for t in c})
    if types:
        zone_ids = offered_in if offered_in is not None else [i for _, i in ZONES]
        account.ok("ec2", "describe_instance_type_offerings", {"InstanceTypeOfferings": [
            {"InstanceType": t, "LocationType": "availability-zone-id", "Location": z}
            for t in types for z in zone_ids]},
            {"LocationType": "availability-zone-id", "Filters": [{"Name": "instance-type", "Values": types}]})


def expect_eks_version(account: StubAccount, *, offered: bool = True) -> None:
    account.ok("eks", "describe_cluster_versions", {"clusterVersions": [
        {"clusterVersion": "1.36", "status": "standard-support", "versionStatus": "STANDARD_SUPPORT"}]
        if offered else []}, {"clusterVersions": ["1.36"]})


def expect_addons(account: StubAccount, f: Facts, *, vpc_cni: str | None = None) -> None:
    """Each add-on offered at its pinned version (``vpc_cni``: offer another vpc-cni version instead)."""
    for addon in f.addons:
        version = addon.version or "v0.8.1-eksbuild.2"
        if addon.name == "vpc-cni" and vpc_cni:
            version = vpc_cni
        account.ok("eks", "describe_addon_versions", {"addons": [{"addonName": addon.name, "addonVersions": [
            {"addonVersion": version, "compatibilities": [{"clusterVersion": "1.36", "defaultVersion": True}]}]}]},
            {"addonName": addon.name, "kubernetesVersion": "1.36"})


def expect_rds(account: StubAccount, *, versions: tuple[str, ...] = ("16.4", "16.6"),
               zones: tuple[str, ...] = ("us-east-1a", "us-east-1b", "us-east-1d")) -> None:
    account.ok("rds", "describe_orderable_db_instance_options", {"OrderableDBInstanceOptions": [
        {"Engine": "postgres", "EngineVersion": v, "DBInstanceClass": "db.r7g.large", "MultiAZCapable": True,
         "Vpc": True, "AvailabilityZones": [{"Name": z} for z in zones]} for v in versions]},
        {"Engine": "postgres", "DBInstanceClass": "db.r7g.large", "Vpc": True})


def expect_elasticache(account: StubAccount, *, versions: tuple[str, ...] = ("7.0", "7.1"),
                       node_sold: bool = True) -> None:
    account.ok("elasticache", "describe_cache_engine_versions", {"CacheEngineVersions": [
        {"Engine": "redis", "EngineVersion": v, "CacheParameterGroupFamily": f"redis{v[0]}"} for v in versions]},
        {"Engine": "redis"})
    account.ok("elasticache", "describe_reserved_cache_nodes_offerings", {"ReservedCacheNodesOfferings": [
        {"ReservedCacheNodesOfferingId": "438012d3-4052-4cc7-b2e3-8d3372e0e706", "CacheNodeType": "cache.r7g.large",
         "Duration": 31536000, "ProductDescription": "redis", "OfferingType": "No Upfront"}] if node_sold else []},
        {"CacheNodeType": "cache.r7g.large"})


def expect_sar(account: StubAccount, *, published: bool = True) -> None:
    params = {"ApplicationId": SAR_APP, "SemanticVersion": "1.1.671"}
    if not published:
        account.error("serverlessrepo", "get_application", "NotFoundException", params)
        return
    account.ok("serverlessrepo", "get_application", {
        "ApplicationId": SAR_APP, "Name": "SecretsManagerRDSPostgreSQLRotationSingleUser",
        "Version": {"ApplicationId": SAR_APP, "SemanticVersion": "1.1.671", "CreationTime": "2025-01-01T00:00:00Z",
                    "ParameterDefinitions": [], "RequiredCapabilities": ["CAPABILITY_IAM"],
                    "ResourcesSupported": True, "TemplateUrl": "https://example.test/template.yaml"}}, params)


def expect_ecr(account: StubAccount, f: Facts, *, missing: bool = False) -> None:
    for image in f.ecr_images:
        params = {"registryId": image.account, "repositoryName": image.repository,
                  "imageIds": [{"imageDigest": image.digest}]}
        if missing:
            account.error("ecr", "describe_images", "ImageNotFoundException", params, region=image.region)
        else:
            account.ok("ecr", "describe_images", {"imageDetails": [
                {"registryId": image.account, "repositoryName": image.repository, "imageDigest": image.digest}]},
                params, region=image.region)


def expect_route53(account: StubAccount, f: Facts | None = None, *, zone_exists: bool = True,
                   id_exists: bool = True) -> None:
    zones = [{"Id": "/hostedzone/Z1D633PJN98FT9", "Name": "example.com.", "CallerReference": "ref",
              "Config": {"PrivateZone": False}}] if zone_exists else [
             {"Id": "/hostedzone/Z2", "Name": "example.net.", "CallerReference": "ref",
              "Config": {"PrivateZone": False}}]
    account.ok("route53", "list_hosted_zones_by_name", {"HostedZones": zones, "IsTruncated": False,
                                                          "MaxItems": "10"},
               {"DNSName": "example.com.", "MaxItems": "10"})
    if not any(z.zone_id for z in (f or facts()).hosted_zones):
        return
    if id_exists:
        account.ok("route53", "get_hosted_zone", {"HostedZone": {
            "Id": "/hostedzone/Z0123456789ABC", "Name": "example.com.", "CallerReference": "ref"}},
            {"Id": "Z0123456789ABC"})
    else:
        account.error("route53", "get_hosted_zone", "NoSuchHostedZone", {"Id": "Z0123456789ABC"})


def expect_roles(account: StubAccount, f: Facts | None = None, *, exists: bool = True) -> None:
    """The caller is in ACCOUNT; each role there exists (or, ``exists=False``, none does)."""
    account.ok("sts", "get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/"
                                              "Preflight/ci", "UserId": "AROAEXAMPLE:ci"}, {})
    for arn in (f or facts()).role_arns:
        if f":{ACCOUNT}:" not in arn:
            continue
        name = arn.rsplit("/", 1)[-1]
        if exists:
            account.ok("iam", "get_role", {"Role": {
                "Path": "/", "RoleName": name, "RoleId": "AROAEXAMPLEEXAMPLE01", "Arn": arn,
                "CreateDate": datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)}}, {"RoleName": name})
        else:
            account.error("iam", "get_role", "NoSuchEntityException", {"RoleName": name})


def expect_ssm(account: StubAccount, f: Facts, *, exists: bool = True) -> None:
    for name in f.ssm_parameters:
        if exists:
            account.ok("ssm", "get_parameter", {"Parameter": {"Name": name, "Type": "String",
                                                              "Value": "ami-0123456789abcdef0"}}, {"Name": name})
        else:
            account.error("ssm", "get_parameter", "ParameterNotFound", {"Name": name})


def expect_quotas(account: StubAccount, *, eip_quota: float = 5.0, eips_in_use: int = 1,
                  default_for_nat: bool = False, db_exists: bool = False, db_used: int = 4) -> None:
    """Applied quotas and current use, in the order the check asks: EIPs, VPCs, IGWs, NAT per zone, clusters."""
    own = [{"Key": "project", "Value": "agent-platform"}, {"Key": "stack", "Value": "prod"}]

    def quota(service: str, code: str, value: float, *, default: bool = False) -> None:
        params = {"ServiceCode": service, "QuotaCode": code}
        body = {"Quota": {"ServiceCode": service, "QuotaCode": code, "QuotaName": code, "Value": value}}
        if default:
            account.error("service-quotas", "get_service_quota", "NoSuchResourceException", params)
            account.ok("service-quotas", "get_aws_default_service_quota", body, params)
        else:
            account.ok("service-quotas", "get_service_quota", body, params)

    quota("ec2", "L-0263D0A3", eip_quota)
    account.ok("ec2", "describe_addresses", {"Addresses": [
        {"AllocationId": f"eipalloc-{i}", "Domain": "vpc", "PublicIp": f"198.51.100.{i}"}
        for i in range(eips_in_use)] + [{"AllocationId": "eipalloc-own", "Domain": "vpc", "Tags": own}]},
        {"Filters": [{"Name": "domain", "Values": ["vpc"]}]})
    quota("vpc", "L-F678F1CE", 5.0)
    account.ok("ec2", "describe_vpcs", {"Vpcs": [{"VpcId": "vpc-1"}, {"VpcId": "vpc-own", "Tags": own}]}, {})
    quota("vpc", "L-A4707A72", 5.0)
    account.ok("ec2", "describe_internet_gateways", {"InternetGateways": [{"InternetGatewayId": "igw-1"}]}, {})
    quota("vpc", "L-FE5A380F", 5.0, default=default_for_nat)
    account.ok("ec2", "describe_nat_gateways", {"NatGateways": [
        {"NatGatewayId": "nat-1", "SubnetId": "subnet-1", "State": "available"},
        {"NatGatewayId": "nat-2", "SubnetId": "subnet-2", "State": "pending"}]},
        {"Filter": [{"Name": "state", "Values": ["pending", "available", "deleting"]}]})
    account.ok("ec2", "describe_subnets", {"Subnets": [
        {"SubnetId": "subnet-1", "AvailabilityZoneId": "use1-az1"},
        {"SubnetId": "subnet-2", "AvailabilityZoneId": "use1-az1"}]}, {"SubnetIds": ["subnet-1", "subnet-2"]})
    quota("eks", "L-1194D53C", 100.0)
    account.ok("eks", "list_clusters", {"clusters": ["agent-platform-prod", "other"]}, {})
    if db_exists:
        account.ok("rds", "describe_db_instances", {"DBInstances": [
            {"DBInstanceIdentifier": "agent-platform-prod-postgres"}]},
            {"DBInstanceIdentifier": "agent-platform-prod-postgres"})
    else:
        account.error("rds", "describe_db_instances", "DBInstanceNotFoundFault",
                      {"DBInstanceIdentifier": "agent-platform-prod-postgres"})
    account.ok("rds", "describe_account_attributes", {"AccountQuotas": [
        {"AccountQuotaName": "DBInstances", "Used": db_used, "Max": 40},
        {"AccountQuotaName": "AllocatedStorage", "Used": 500, "Max": 100000}]}, {})


def passing(f: Facts | None = None, **plant: Any) -> StubAccount:
    """Every answer a full run over ``f`` needs, in call order per client, all passing unless planted."""
    f = f or facts()
    account = StubAccount()
    expect_zones(account, f, offered_in=plant.get("offered_in"))
    expect_eks_version(account)
    expect_addons(account, f)
    expect_rds(account, versions=plant.get("rds_versions", ("16.4", "16.6")))
    expect_elasticache(account)
    expect_sar(account, published=plant.get("sar_published", True))
    expect_ecr(account, f, missing=plant.get("ecr_missing", False))
    expect_route53(account, f, zone_exists=plant.get("zone_exists", True))
    expect_roles(account, f)
    expect_ssm(account, f)
    expect_quotas(account, eip_quota=plant.get("eip_quota", 5.0), default_for_nat=True)
    return account


def chart_indexes(f: Facts, *, unpublished: str | None = None) -> Any:
    """A fetcher answering each repository's index.yaml with the charts the stack pins (less ``unpublished``)."""
    by_repo: dict[str, dict[str, list[dict[str, str]]]] = {}
    for chart in f.charts:
        entries = by_repo.setdefault(chart.repo.rstrip("/") + "/index.yaml", {})
        version = "0.0.1" if chart.chart == unpublished else chart.version
        entries.setdefault(chart.chart, []).append({"name": chart.chart, "version": version})

    def fetch(url: str) -> bytes:
        import yaml

        return yaml.safe_dump({"apiVersion": "v1", "entries": by_repo[url]}).encode()

    return fetch


class FakeRegistries:
    """The image registries: ``serves`` answers tags by reference (any other tag resolves to one fixed digest);
    a reference in ``unreachable`` fails as a network error does; one in ``missing`` has no such manifest."""

    def __init__(self, serves: dict[str, str] | None, unreachable: tuple[str, ...], missing: tuple[str, ...]):
        self.serves, self.unreachable, self.missing = serves or {}, unreachable, missing

    def _reach(self, reference: str) -> None:
        from components.core.registry import RegistryError

        if reference in self.unreachable:
            raise RegistryError(f"{reference}: {reference.split('/')[0]} could not be reached (timed out)")

    def digest(self, reference: str) -> str:
        self._reach(reference)
        return self.serves.get(reference, "sha256:" + "c" * 64)

    def exists(self, reference: str) -> bool:
        self._reach(reference)
        return reference not in self.missing


def registry(serves: dict[str, str] | None = None, unreachable: tuple[str, ...] = (),
             missing: tuple[str, ...] = ()) -> FakeRegistries:
    return FakeRegistries(serves, unreachable, missing)


def healthy_registry(f: Facts):
    """Registries that serve every recorded digest."""
    return registry({lookup.reference: lookup.expected for lookup in f.registry_lookups if lookup.expected})
