"""What the plan says the deploy will ask for: versions, zones, images, zones' names, roles, quotas.

Read from the resources the offline plan registered and the invokes the program made, so preflight checks
exactly what `pulumi up` would send, not a second reading of the config.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from components.core.registry import REGISTRY_DIGEST_INVOKE
from planning.mock_outputs import MOCK_DIGEST_PREFIX
from planning.model import UNKNOWN, Plan, unwrap_secrets

# <account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:<digest> (ECR user guide, "Private registry
# concepts": the registry URI is aws_account_id.dkr.ecr.region.amazonaws.com).
ECR_IMAGE = re.compile(r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
                       r"(?P<repository>[a-z0-9][a-z0-9._/-]*)(?::[\w][\w.-]{0,127})?@(?P<digest>sha256:[0-9a-f]{64})")
# Any image pinned by digest (registry/name[:tag]@sha256:...), to report non-ECR ones as skipped.
DIGEST_IMAGE = re.compile(r"(?<![\w./:-])(?P<image>[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64})")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(?P<account>\d{12}):role/(?:[\w+=,.@/-]*/)?(?P<name>[\w+=,.@-]+)$")

ZONE_INVOKE = "aws:index/getAvailabilityZones:getAvailabilityZones"
SSM_INVOKE = "aws:ssm/getParameter:getParameter"
ADDON_VERSION_INVOKE = "aws:eks/getAddonVersion:getAddonVersion"
HOSTED_ZONE_INVOKE = "aws:route53/getZone:getZone"
HELM_RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")


@dataclass(frozen=True)
class Addon:
    name: str
    version: str | None


@dataclass(frozen=True)
class Database:
    resource: str
    engine: str
    version: str
    instance_class: str
    multi_az: bool
    identifier: str | None = None


@dataclass(frozen=True)
class Cache:
    resource: str
    engine: str
    version: str
    node_type: str


@dataclass(frozen=True)
class SarApplication:
    resource: str
    application_id: str
    version: str


@dataclass(frozen=True)
class Chart:
    resource: str
    chart: str
    version: str
    repo: str


@dataclass(frozen=True)
class EcrImage:
    reference: str
    account: str
    region: str
    repository: str
    digest: str


@dataclass(frozen=True)
class RegistryLookup:
    """A tag the program resolves to its digest at deploy time, and the one-source digest it must equal, if any."""

    reference: str
    expected: str = ""


@dataclass(frozen=True)
class HostedZone:
    name: str | None
    zone_id: str | None
    private: bool = False


@dataclass
class Facts:
    stack: str
    region: str
    cluster_name: str | None = None
    eks_version: str | None = None
    addons: list[Addon] = field(default_factory=list)
    zone_count: int = 0
    excluded_zone_ids: tuple[str, ...] = ()
    instance_type_choices: list[tuple[str, ...]] = field(default_factory=list)
    databases: list[Database] = field(default_factory=list)
    caches: list[Cache] = field(default_factory=list)
    sar_applications: list[SarApplication] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    ecr_images: list[EcrImage] = field(default_factory=list)
    other_images: list[str] = field(default_factory=list)
    registry_lookups: list[RegistryLookup] = field(default_factory=list)
    built_repositories: set[str] = field(default_factory=set)
    hosted_zones: list[HostedZone] = field(default_factory=list)
    role_arns: list[str] = field(default_factory=list)
    ssm_parameters: list[str] = field(default_factory=list)
    # What the stack adds per quota: {"eips": 3, "vpcs": 1, "nat_per_zone": 1, ...}
    demand: dict[str, int] = field(default_factory=dict)
    own_tags: dict[str, str] = field(default_factory=dict)


def _known(value: Any) -> bool:
    return value is not None and value != UNKNOWN and value != ""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _texts(inputs: Mapping[str, Any]) -> Iterator[str]:
    """Every string in a resource's inputs, launch-template user data decoded (it is base64 on the wire)."""
    yield from _strings(inputs)
    data = inputs.get("userData")
    if isinstance(data, str) and data:
        try:
            decoded = base64.b64decode(data, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return
        yield decoded


def _chart_image(block: Mapping[str, Any]) -> str | None:
    """The reference a chart templates from an image block: ``[registry/]repository[:tag]`` then ``@sha256:<sha>``
    (bare hex in ``sha``), ``@<sha>`` (``sha256:...`` in ``sha``) or ``@<digest>``; a tag may carry the digest.
    The weaviate chart names the repository key ``repo``."""
    if not all(_known(block.get(k)) or not block.get(k)
               for k in ("registry", "repository", "repo", "tag", "sha", "digest")):
        return None
    repository = block.get("repository") or block.get("repo")
    ref = f"{block['registry']}/{repository}" if block.get("registry") else str(repository)
    if block.get("tag"):
        ref += f":{block['tag']}"
    sha = str(block.get("sha") or "")
    if sha:
        ref += "@" + (sha if sha.startswith("sha256:") else f"sha256:{sha}")
    if block.get("digest"):
        ref += f"@{block['digest']}"
    return ref if DIGEST_IMAGE.fullmatch(ref) else None


def _has_repository(block: Mapping[str, Any]) -> bool:
    return "repository" in block or "repo" in block


def _helm_images(values: Any) -> Iterator[str]:
    """Every digest-pinned image a release's values set (``image``/``*Image`` blocks, keda's per-part blocks)."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            if (key == "image" or str(key).endswith("Image")) and isinstance(value, Mapping):
                blocks = [value] if _has_repository(value) else [v for v in value.values()
                                                                  if isinstance(v, Mapping) and _has_repository(v)]
                for block in blocks:
                    ref = _chart_image(block)
                    if ref:
                        yield ref
            else:
                yield from _helm_images(value)
    elif isinstance(values, list):
        for item in values:
            yield from _helm_images(item)


def _unique(items: list[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _config_value(stack_config: Mapping[str, Any] | None, key: str) -> Any:
    for full, value in (stack_config or {}).items():
        if full.split(":", 1)[-1] == key:
            return value
    return None


def _in_region(plan: Plan, res: Any, region: str) -> bool:
    """Whether ``res`` is created in ``region``: its explicit provider's region, else the stack's."""
    urn = (res.provider or "").rsplit("::", 1)[0]
    providers = [p for p in plan.resources if p.urn == urn and p.type.startswith("pulumi:providers:")]
    own = providers[0].inputs.get("region") if providers else None
    return not isinstance(own, str) or own == region


def gather(plan: Plan, region: str, stack_config: Mapping[str, Any] | None = None) -> Facts:
    """The facts preflight checks, from one offline plan (``stack_config``: the stack's raw config, for the
    IAM roles it names)."""
    facts = Facts(stack=plan.stack, region=region)
    props = {r.urn: r.props for r in plan}

    for res in plan.of_type("aws:eks/cluster:Cluster"):
        p = props[res.urn]
        facts.cluster_name = p.get("name") if _known(p.get("name")) else res.name
        facts.eks_version = p.get("version") if _known(p.get("version")) else None
    # An add-on whose version the program looks up (aws.eks.get_addon_version) gets the mock's answer in the
    # plan: at deploy time it is whatever EKS offers, so only the add-on itself is checked.
    resolved = {a.get("addonName") for t, a in plan.invokes if t == ADDON_VERSION_INVOKE}
    for res in plan.of_type("aws:eks/addon:Addon"):
        p = props[res.urn]
        pinned = p.get("addonVersion") if _known(p.get("addonVersion")) and p["addonName"] not in resolved else None
        facts.addons.append(Addon(p["addonName"], pinned))
    for res in plan.of_type("aws:eks/nodeGroup:NodeGroup"):
        types = tuple(props[res.urn].get("instanceTypes") or ())
        if types:
            facts.instance_type_choices.append(types)
    for res in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        instance_type = props[res.urn].get("instanceType")
        if _known(instance_type):
            facts.instance_type_choices.append((instance_type,))
    facts.instance_type_choices = _unique(facts.instance_type_choices)

    # The stack's own region only: the DR region's standby subnets (components/network/standby.py) have zones there.
    subnet_zones = Counter(zone for zone in (props[r.urn].get("availabilityZone")
                                             for r in plan.of_type("aws:ec2/subnet:Subnet"))
                           if not (isinstance(zone, str) and facts.region and not zone.startswith(facts.region)))
    facts.zone_count = len(subnet_zones)
    excluded: list[str] = []
    for token, args in plan.invokes:
        if token == ZONE_INVOKE:
            excluded += [z for z in args.get("excludeZoneIds") or () if z not in excluded]
    facts.excluded_zone_ids = tuple(excluded)

    for res in plan.of_type("aws:rds/instance:Instance"):
        p = props[res.urn]
        if all(_known(p.get(k)) for k in ("engine", "engineVersion", "instanceClass")):
            identifier = p.get("identifier") if _known(p.get("identifier")) else None
            facts.databases.append(Database(res.name, p["engine"], str(p["engineVersion"]), p["instanceClass"],
                                            bool(p.get("multiAz")), identifier))
    for type_ in ("aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/cluster:Cluster"):
        for res in plan.of_type(type_):
            p = props[res.urn]
            if all(_known(p.get(k)) for k in ("engine", "engineVersion", "nodeType")):
                facts.caches.append(Cache(res.name, p["engine"], str(p["engineVersion"]), p["nodeType"]))
    for res in plan.of_type("aws:serverlessrepository/cloudFormationStack:CloudFormationStack"):
        p = props[res.urn]
        if _known(p.get("applicationId")) and _known(p.get("semanticVersion")):
            facts.sar_applications.append(SarApplication(res.name, p["applicationId"], p["semanticVersion"]))
    for type_ in HELM_RELEASE_TYPES:
        for res in plan.of_type(type_):
            p = props[res.urn]
            repo = (p.get("repositoryOpts") or {}).get("repo") or ""
            if _known(p.get("chart")) and _known(p.get("version")):
                facts.charts.append(Chart(res.name, p["chart"], str(p["version"]), repo))

    for res in plan.of_type("docker:index/image:Image"):
        name = props[res.urn].get("imageName")
        if isinstance(name, str):
            facts.built_repositories.add(name.split("@")[0].rsplit(":", 1)[0] if "/" in name else name)
    ecr: list[EcrImage] = []
    other: list[str] = []
    for res in plan:
        if not res.custom:
            continue
        if res.type in HELM_RELEASE_TYPES:  # values split an image into registry, repository, tag and digest keys
            other.extend(i for i in _helm_images(props[res.urn].get("values") or {})
                         if f"@{MOCK_DIGEST_PREFIX}" not in i)
            continue
        for text in _texts(props[res.urn]):
            if "@sha256:" not in text:
                continue
            for m in ECR_IMAGE.finditer(text):
                ecr.append(EcrImage(m.group(0), m["account"], m["region"], m["repository"], m["digest"]))
            for m in DIGEST_IMAGE.finditer(text):
                # A mock engine stand-in is the digest of a tag resolved at deploy time: registry_lookups checks it.
                if not ECR_IMAGE.fullmatch(m["image"]) and f"@{MOCK_DIGEST_PREFIX}" not in m["image"]:
                    other.append(m["image"])
    facts.ecr_images = _unique(ecr)
    facts.other_images = _unique(other)

    facts.registry_lookups = _unique([RegistryLookup(str(a["reference"]), str(a.get("expected") or ""))
                                      for t, a in plan.invokes if t == REGISTRY_DIGEST_INVOKE])

    lookups: list[HostedZone] = []
    for token, args in plan.invokes:
        if token == HOSTED_ZONE_INVOKE:
            lookups.append(HostedZone(args.get("name"), args.get("zoneId"), bool(args.get("privateZone"))))
        elif token == SSM_INVOKE and _known(args.get("name")):
            facts.ssm_parameters.append(args["name"])
    facts.ssm_parameters = _unique(facts.ssm_parameters)
    # A zone given by ID in config (edge.hostedZoneId) is not looked up by the program: check that it exists.
    edge = _config_value(stack_config, "edge")
    given = [edge["hostedZoneId"]] if isinstance(edge, Mapping) and edge.get("hostedZoneId") else []
    facts.hosted_zones = _unique(lookups) + [HostedZone(None, z) for z in given]

    roles = [s for s in _strings(unwrap_secrets(dict(stack_config or {}))) if ROLE_ARN.match(s)]
    facts.role_arns = _unique(roles)

    nat_zones = Counter()
    subnet_zone = {r.urn: props[r.urn].get("availabilityZone") for r in plan.of_type("aws:ec2/subnet:Subnet")}
    subnet_by_id = {f"{r.name}-id": subnet_zone[r.urn] for r in plan.of_type("aws:ec2/subnet:Subnet")}
    for res in plan.of_type("aws:ec2/natGateway:NatGateway"):
        nat_zones[subnet_by_id.get(props[res.urn].get("subnetId"), res.name)] += 1
    facts.demand = {
        "eips": len(plan.of_type("aws:ec2/eip:Eip")),
        # The VPC quota is per region: the DR region's standby VPC counts there, not here.
        "vpcs": len([v for v in plan.of_type("aws:ec2/vpc:Vpc") if _in_region(plan, v, region)]),
        "internet_gateways": len(plan.of_type("aws:ec2/internetGateway:InternetGateway")),
        "nat_per_zone": max(nat_zones.values(), default=0),
        "eks_clusters": len(plan.of_type("aws:eks/cluster:Cluster")),
    }
    vpcs = plan.of_type("aws:ec2/vpc:Vpc")
    tags = (props[vpcs[0].urn].get("tags") or {}) if vpcs else {}
    facts.own_tags = {k: tags[k] for k in ("project", "stack") if k in tags}
    return facts


def describe(facts: Facts) -> str:
    """A one-line summary for the report header."""
    return json.dumps({"region": facts.region, "zones": facts.zone_count, "charts": len(facts.charts),
                       "images": len(facts.ecr_images), "roles": len(facts.role_arns)})
