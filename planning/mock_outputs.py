"""What the mock engine answers: computed outputs per resource type and results of invokes.

The values are shaped like the real provider's so that components wiring outputs into other
resources (ARNs into policies, endpoints into ConfigMaps) produce realistic inputs downstream.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from components.core.registry import REGISTRY_DIGEST_INVOKE

ACCOUNT_ID = "123456789012"
PARTITION = "aws"


def _suffix(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def physical_name(name: str, inputs: dict[str, Any]) -> str:
    for key in ("name", "bucket", "clusterName", "roleName", "functionName"):
        value = inputs.get(key)
        if isinstance(value, str) and value:
            return value
    return f"{name}-{_suffix(name)}"


def arn(service: str, region: str, resource: str, *, global_: bool = False) -> str:
    return f"arn:{PARTITION}:{service}:{'' if global_ else region}:{ACCOUNT_ID}:{resource}"


Outputs = Callable[[str, dict[str, Any], str], dict[str, Any]]


def _eks_cluster(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    oidc = f"https://oidc.eks.{region}.amazonaws.com/id/{_suffix(name).upper()}0123456789ABCDEF"
    return {
        "endpoint": f"https://{_suffix(name).upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"},
        "identities": [{"oidcs": [{"issuer": oidc}]}],
        "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{_suffix(name + 'cluster')}"},
        "arn": arn("eks", region, f"cluster/{physical_name(name, inputs)}"),
    }


def _rds_instance(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    host = f"{physical_name(name, inputs)}.{_suffix(name)}.{region}.rds.amazonaws.com"
    return {
        "address": host,
        "endpoint": f"{host}:5432",
        "port": inputs.get("port", 5432),
        "resourceId": f"db-{_suffix(name).upper()}",
        "identifier": physical_name(name, inputs),
        "masterUserSecrets": [{
            "secretArn": arn("secretsmanager", region, f"secret:rds!db-{_suffix(name)}-AbCdEf"),
            "secretStatus": "active",
            "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
        }],
        "arn": arn("rds", region, f"db:{physical_name(name, inputs)}"),
    }


def _docdb_cluster(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    ident = inputs.get("clusterIdentifier") or physical_name(name, inputs)
    return {
        "endpoint": f"{ident}.cluster-{_suffix(name)}.{region}.docdb.amazonaws.com",
        "readerEndpoint": f"{ident}.cluster-ro-{_suffix(name)}.{region}.docdb.amazonaws.com",
        "port": inputs.get("port", 27017),
        "clusterResourceId": f"cluster-{_suffix(name).upper()}",
        "masterUserSecrets": [{
            "secretArn": arn("secretsmanager", region, f"secret:rds!cluster-{_suffix(name)}-AbCdEf"),
            "secretStatus": "active",
            "kmsKeyId": "",
        }],
        "arn": arn("rds", region, f"cluster:{ident}"),
    }


def _docdb_instance(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    ident = inputs.get("identifier") or physical_name(name, inputs)
    return {"endpoint": f"{ident}.{_suffix(name)}.{region}.docdb.amazonaws.com", "port": 27017,
            "arn": arn("rds", region, f"db:{ident}")}


def _opensearch_domain(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    domain = inputs.get("domainName") or physical_name(name, inputs)
    return {"endpoint": f"vpc-{domain}-{_suffix(name)}.{region}.es.amazonaws.com",
            "domainId": f"{ACCOUNT_ID}/{domain}", "arn": arn("es", region, f"domain/{domain}")}


def _elasticache_rg(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    rid = inputs.get("replicationGroupId") or physical_name(name, inputs)
    return {
        "primaryEndpointAddress": f"master.{rid}.{_suffix(name)}.use1.cache.amazonaws.com",
        "readerEndpointAddress": f"replica.{rid}.{_suffix(name)}.use1.cache.amazonaws.com",
        "memberClusters": [f"{rid}-{i:03d}" for i in range(1, int(inputs.get("numCacheClusters", 1)) + 1)],
        "arn": arn("elasticache", region, f"replicationgroup:{rid}"),
    }


def _lb(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    lb_name = physical_name(name, inputs)
    return {
        "dnsName": f"{lb_name}-{_suffix(name)}.{region}.elb.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
        "arnSuffix": f"app/{lb_name}/{_suffix(name)}",
        "arn": arn("elasticloadbalancing", region, f"loadbalancer/app/{lb_name}/{_suffix(name)}"),
    }


def _target_group(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    tg = physical_name(name, inputs)
    return {"arnSuffix": f"targetgroup/{tg}/{_suffix(name)}",
            "arn": arn("elasticloadbalancing", region, f"targetgroup/{tg}/{_suffix(name)}")}


def _ecr_repo(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    repo = physical_name(name, inputs)
    return {"repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{repo}",
            "registryId": ACCOUNT_ID, "arn": arn("ecr", region, f"repository/{repo}")}


def _docker_image(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    image = inputs.get("imageName", name)
    base = image.split(":")[0] if isinstance(image, str) else name
    return {"repoDigest": f"{base}@sha256:{hashlib.sha256(name.encode()).hexdigest()}",
            "imageName": image}


def _acm_cert(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    domains = [inputs.get("domainName", "example.com"), *inputs.get("subjectAlternativeNames", [])]
    return {
        "domainValidationOptions": [
            {"domainName": d, "resourceRecordName": f"_{_suffix(d)}.{d}.", "resourceRecordType": "CNAME",
             "resourceRecordValue": f"_{_suffix(d + 'v')}.acm-validations.aws."}
            for d in domains
        ],
        "arn": arn("acm", region, f"certificate/{_suffix(name)}-0000-0000-0000-000000000000"),
    }


def _oidc_provider(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    url = str(inputs.get("url", "")).removeprefix("https://")
    return {"arn": arn("iam", region, f"oidc-provider/{url}", global_=True), "url": url}


def _iam(kind: str) -> Outputs:
    def outputs(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
        return {"arn": arn("iam", region, f"{kind}/{physical_name(name, inputs)}", global_=True),
                "uniqueId": f"AROA{_suffix(name).upper()}"}
    return outputs


def _kms_key(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    key_id = f"{_suffix(name)}-1111-2222-3333-{_suffix(name + 'k')}abcd"
    return {"keyId": key_id, "arn": arn("kms", region, f"key/{key_id}")}


def _vpc(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"defaultSecurityGroupId": f"sg-{_suffix(name + 'default')}",
            "arn": arn("ec2", region, f"vpc/vpc-{_suffix(name)}")}


def _zone(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"zoneId": f"Z{_suffix(name).upper()}ABCDEF", "nameServers": ["ns-1.awsdns-01.org"]}


def _sns_topic(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"arn": arn("sns", region, physical_name(name, inputs))}


def _log_group(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"arn": arn("logs", region, f"log-group:{physical_name(name, inputs)}")}


def _s3_bucket(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    bucket = inputs.get("bucket") or f"{name}-{_suffix(name)}"
    return {"bucket": bucket, "arn": f"arn:{PARTITION}:s3:::{bucket}",
            "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com"}


def _secret(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"arn": arn("secretsmanager", region, f"secret:{physical_name(name, inputs)}-AbCdEf")}


def _secret_version(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"versionId": f"{_suffix(name)}-0000-4000-8000-{_suffix(name + 'v')}abcd", "versionStages": ["AWSCURRENT"]}


def _sar_stack(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    function = (inputs.get("parameters") or {}).get("functionName") or name
    return {"outputs": {"RotationLambdaARN": arn("lambda", region, f"function:{function}")}}


def _random_password(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    length = int(inputs.get("length", 32))
    return {"result": ("m0ck" * length)[:length]}


def _random_bytes(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    length = int(inputs.get("length", 32))
    return {"base64": "bW9ja2VkLWtleS1ieXRlcy1tb2NrZWQta2V5LWJ5dGVzLTAwMDA=", "hex": "00" * length}


def _random_id(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"hex": _suffix(name), "b64Url": _suffix(name), "dec": str(int(_suffix(name), 16))}


def _backup_vault(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    vault = physical_name(name, inputs)
    return {"name": vault, "arn": arn("backup", inputs.get("region") or region, f"backup-vault:{vault}")}


def _backup_plan(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    plan_id = f"{_suffix(name)}-4b5c-4d6e-8f90-{_suffix(name + 'p')}abcd"
    return {"id": plan_id, "arn": arn("backup", region, f"backup-plan:{plan_id}"), "version": _suffix(name + "v")}


def _helm_release(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"status": {"name": inputs.get("name", name), "namespace": inputs.get("namespace", "default"),
                       "status": "deployed", "version": inputs.get("version", "")}}


def _eks_node_group(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """EKS names the managed Auto Scaling group itself; load balancers attach their target groups to it."""
    return {"resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{_suffix(name)}-0000-0000"}]}],
            "status": "ACTIVE"}


def _route53_record(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    return {"fqdn": str(inputs.get("name", name)).rstrip(".")}


def _route53_zone_lookup(args: dict[str, Any], region: str) -> dict[str, Any]:
    zone = str(args.get("name") or "example.com").rstrip(".")
    zone_id = args.get("zoneId") or f"Z{_suffix(zone).upper()}LOOKUP"
    return {"zoneId": zone_id, "id": zone_id, "name": zone, "privateZone": False,
            "arn": f"arn:{PARTITION}:route53:::hostedzone/{zone_id}", "nameServers": ["ns-1.awsdns-01.org"],
            "resourceRecordSetCount": 2}


def _ebs_volume(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """An EBS volume: ``vol-`` and 17 hex digits; its ARN names it by that ID (ec2:...:volume/vol-...)."""
    volume_id = "vol-" + hashlib.sha256(name.encode()).hexdigest()[:17]
    return {"id": volume_id, "arn": arn("ec2", region, f"volume/{volume_id}"), "iops": 3000, "throughput": 125}


def _network_interface(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """A network interface: ``eni-`` and 17 hex digits, a private address in the mock VPC (10.0.0.0/16)."""
    digest = hashlib.sha256(name.encode()).digest()
    eni_id = "eni-" + digest.hex()[:17]
    return {"id": eni_id, "arn": arn("ec2", region, f"network-interface/{eni_id}"),
            "privateIp": f"10.0.{64 + digest[0] % 32}.{10 + digest[1] % 200}", "macAddress": "02:00:00:00:00:01"}


def _db_backups_replication(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Replicated automated backups are named ``auto-backup:ab-...`` in the destination region."""
    return {"arn": arn("rds", region, f"auto-backup:ab-{_suffix(name)}{_suffix(name + 'ab')}")}


RESOURCE_OUTPUTS: dict[str, Outputs] = {
    "aws:ebs/volume:Volume": _ebs_volume,
    "aws:ec2/networkInterface:NetworkInterface": _network_interface,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _elasticache_rg,
    "aws:docdb/cluster:Cluster": _docdb_cluster,
    "aws:docdb/clusterInstance:ClusterInstance": _docdb_instance,
    "aws:opensearch/domain:Domain": _opensearch_domain,
    "aws:lb/loadBalancer:LoadBalancer": _lb,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:ecr/repository:Repository": _ecr_repo,
    "docker:index/image:Image": _docker_image,
    "aws:acm/certificate:Certificate": _acm_cert,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:iam/instanceProfile:InstanceProfile": _iam("instance-profile"),
    "aws:kms/key:Key": _kms_key,
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:route53/zone:Zone": _zone,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:s3/bucketV2:BucketV2": _s3_bucket,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:secretsmanager/secretVersion:SecretVersion": _secret_version,
    "aws:serverlessrepository/cloudFormationStack:CloudFormationStack": _sar_stack,
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomBytes:RandomBytes": _random_bytes,
    "random:index/randomId:RandomId": _random_id,
    "kubernetes:helm.sh/v3:Release": _helm_release,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:route53/record:Record": _route53_record,
    "aws:backup/vault:Vault": _backup_vault,
    "aws:backup/plan:Plan": _backup_plan,
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": _db_backups_replication,
}


def resource_outputs(type_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Inputs echoed back plus the computed outputs a real provider would return."""
    state: dict[str, Any] = dict(inputs)
    service = type_.split(":")[1].split("/")[0] if type_.startswith("aws:") else ""
    if service:
        kind = type_.rsplit(":", 1)[-1].lower()
        state.setdefault("arn", arn(service, region, f"{kind}/{physical_name(name, inputs)}"))
        state.setdefault("name", physical_name(name, inputs))
    builder = RESOURCE_OUTPUTS.get(type_)
    if builder is not None:
        for key, value in builder(name, inputs, region).items():
            if key == "vpcConfig" or key not in inputs:
                state[key] = value
    return state


# Zone name -> zone ID differs per account; this mock account maps us-east-1c to use1-az3, the zone EKS refuses,
# so a program taking the first N names would put a cluster subnet there.
def _zone_ids(region: str) -> list[tuple[str, str]]:
    area, direction, number = region.split("-")[-3:]  # us-east-1 -> use1, ap-northeast-1 -> apne1
    short = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c"}
    prefix = area + "".join(short.get(part, part[0]) for part in
                            direction.replace("north", "north-").replace("south", "south-").split("-") if part) + number
    return [(f"{region}{letter}", f"{prefix}-az{i}") for i, letter in enumerate("abcdef", start=1)]


def _azs(args: dict[str, Any], region: str) -> dict[str, Any]:
    """As DescribeAvailabilityZones answers: excluded zone IDs and names left out, names in order."""
    excluded_ids = set(args.get("excludeZoneIds") or ())
    excluded_names = set(args.get("excludeNames") or ())
    zones = [(n, z) for n, z in _zone_ids(region) if z not in excluded_ids and n not in excluded_names]
    return {"names": [n for n, _ in zones], "zoneIds": [z for _, z in zones], "id": region}


def _instance_type_offerings(args: dict[str, Any], region: str) -> dict[str, Any]:
    """Every requested type in every zone ID (the mock has no gaps; tests of gaps call zones.choose_zones)."""
    types = [v for f in args.get("filters") or () if f.get("name") == "instance-type" for v in f.get("values", [])]
    pairs = [(zone_id, t) for _, zone_id in _zone_ids(region) for t in types]
    return {"locations": [z for z, _ in pairs], "instanceTypes": [t for _, t in pairs],
            "locationTypes": ["availability-zone-id"] * len(pairs), "id": region}


def _policy_document(args: dict[str, Any], region: str) -> dict[str, Any]:
    """Render iam.getPolicyDocument the way AWS does, so policies inspect real JSON."""
    statements = []
    for s in args.get("statements", []):
        stmt: dict[str, Any] = {"Effect": s.get("effect", "Allow")}
        if s.get("sid"):
            stmt["Sid"] = s["sid"]
        for src, dst in (("actions", "Action"), ("notActions", "NotAction"),
                         ("resources", "Resource"), ("notResources", "NotResource")):
            if s.get(src):
                stmt[dst] = s[src]
        for src, dst in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if s.get(src):
                stmt[dst] = {p["type"]: p["identifiers"] for p in s[src]}
        if s.get("conditions"):
            cond: dict[str, Any] = {}
            for c in s["conditions"]:
                cond.setdefault(c["test"], {})[c["variable"]] = c["values"]
            stmt["Condition"] = cond
        statements.append(stmt)
    return {"json": json.dumps({"Version": "2012-10-17", "Statement": statements}), "id": "policy"}


def _ssm_parameter(args: dict[str, Any], region: str) -> dict[str, Any]:
    """Public AMI parameters hold an AMI ID (``ami-`` + 17 hex digits); the mock derives a stable one per name."""
    name = str(args.get("name"))
    value = "ami-" + hashlib.sha256(name.encode()).hexdigest()[:17] if "/ami-" in name else f"mock-{_suffix(name)}"
    return {"name": name, "type": "String", "value": value, "insecureValue": value, "version": 1,
            "arn": f"arn:{PARTITION}:ssm:{region}::parameter{name}", "id": name, "withDecryption": True}


# The program's own registry lookup (components/core/registry.py REGISTRY_DIGEST_INVOKE), not a provider function.
# The answer is a stand-in, never a real digest: 16 zero hex digits, then 48 of the reference's sha256, so a plan
# stays the same run to run and a mock digest is told apart at a glance (a real sha256 starting with 16 zeros has
# odds of 2^-64). Preflight resolves the same references against the real registries.
MOCK_DIGEST_PREFIX = "sha256:" + "0" * 16


def mock_registry_digest(reference: str) -> str:
    return MOCK_DIGEST_PREFIX + hashlib.sha256(reference.encode()).hexdigest()[:48]


def _registry_digest(args: dict[str, Any], region: str) -> dict[str, Any]:
    return {"digest": mock_registry_digest(str(args["reference"]))}


def _subnet(args: dict[str, Any], region: str) -> dict[str, Any]:
    """A subnet looked up by ID: the mock puts it in the region's first zone."""
    name, zone_id = _zone_ids(region)[0]
    return {"id": args.get("id"), "availabilityZone": name, "availabilityZoneId": zone_id, "vpcId": "vpc-mock",
            "cidrBlock": "10.0.64.0/19"}


INVOKES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    REGISTRY_DIGEST_INVOKE: _registry_digest,
    "aws:ec2/getSubnet:getSubnet": _subnet,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _azs,
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _instance_type_offerings,
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a, r: {
        "accountId": ACCOUNT_ID, "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/deployer", "userId": "AIDA",
        "id": ACCOUNT_ID},
    "aws:index/getPartition:getPartition": lambda a, r: {
        "partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION},
    "aws:index/getRegion:getRegion": lambda a, r: {"name": r, "region": r, "id": r},
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
    "aws:eks/getAddonVersion:getAddonVersion": lambda a, r: {
        "version": "v1.0.0-eksbuild.1", "addonName": a.get("addonName"), "id": a.get("addonName")},
    "aws:elb/getServiceAccount:getServiceAccount": lambda a, r: {
        "arn": f"arn:{PARTITION}:iam::127311923021:root", "id": "127311923021"},
    "aws:route53/getZone:getZone": _route53_zone_lookup,
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda a, r: {
        "authorizationToken": "QVdTOm1vY2stZWNyLXBhc3N3b3Jk", "userName": "AWS", "password": "mock-ecr-password",
        "proxyEndpoint": f"https://{a.get('registryId') or ACCOUNT_ID}.dkr.ecr.{r}.amazonaws.com",
        "expiresAt": "2030-01-01T00:00:00Z", "id": r},
}
