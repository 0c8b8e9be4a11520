"""Versions offered: what the stack pins must be something AWS sells in this region and these zones."""

from __future__ import annotations

from planning.preflight.aws import call, error_code, pages
from planning.preflight.framework import Context, Finding, check


def _matches(offered: str, wanted: str) -> bool:
    """``16`` (a major version, as the stack may pin it) matches ``16.4``; ``16.4`` matches only itself."""
    return offered == wanted or offered.startswith(wanted + ".")


@check("eks-version", title="EKS Kubernetes version offered", group="versions",
       calls=("eks:DescribeClusterVersions",),
       remediation="Set cluster.version to a version `aws eks describe-cluster-versions` lists as "
                   "standard-support (docs/cluster-upgrades.md).")
def eks_version(ctx: Context) -> list[Finding]:
    version = ctx.facts.eks_version
    if not version:
        return []
    eks = ctx.client("eks")
    found = list(pages(eks, "describe_cluster_versions", "clusterVersions", clusterVersions=[version]))
    match = [v for v in found if v.get("clusterVersion") == version]
    if not match:
        return [Finding("eks-version", "fail", version, f"EKS does not offer Kubernetes {version} in "
                                                        f"{ctx.facts.region}")]
    status = match[0].get("versionStatus") or ""
    if status == "UNSUPPORTED":
        return [Finding("eks-version", "fail", version, f"Kubernetes {version} is no longer supported by EKS")]
    return [Finding("eks-version", "pass", version, f"offered ({status.lower().replace('_', ' ') or 'listed'})")]


@check("eks-addon-versions", title="EKS add-on versions offered for the cluster version", group="versions",
       calls=("eks:DescribeAddonVersions",),
       remediation="Pin an add-on version `aws eks describe-addon-versions --addon-name <name> "
                   "--kubernetes-version <version>` lists (cluster.addons).")
def eks_addon_versions(ctx: Context) -> list[Finding]:
    version = ctx.facts.eks_version
    if not version:
        return []
    eks = ctx.client("eks")
    findings = []
    for addon in ctx.facts.addons:
        offered: list[str] = []
        for item in pages(eks, "describe_addon_versions", "addons", addonName=addon.name,
                          kubernetesVersion=version):
            for v in item.get("addonVersions") or []:
                if any(c.get("clusterVersion") == version for c in v.get("compatibilities") or []):
                    offered.append(v["addonVersion"])
        if not offered:
            findings.append(Finding("eks-addon-versions", "fail", addon.name,
                                    f"no version of {addon.name} is offered for Kubernetes {version}"))
        elif addon.version and addon.version not in offered:
            findings.append(Finding("eks-addon-versions", "fail", f"{addon.name} {addon.version}",
                                    f"{addon.name} {addon.version} is not offered for Kubernetes {version} "
                                    f"(offered: {', '.join(offered[:5])})"))
        else:
            findings.append(Finding("eks-addon-versions", "pass", f"{addon.name} {addon.version or '(default)'}",
                                    f"offered for Kubernetes {version}"))
    return findings


@check("rds-orderable", title="RDS engine version and instance class orderable in the chosen zones",
       group="versions", calls=("rds:DescribeOrderableDBInstanceOptions",),
       remediation="Choose dataTier.postgres.instanceClass and engineVersion from `aws rds "
                   "describe-orderable-db-instance-options --engine postgres --db-instance-class <class>`.")
def rds_orderable(ctx: Context) -> list[Finding]:
    rds = ctx.client("rds")
    chosen = _chosen_zone_names(ctx)
    findings = []
    for db in ctx.facts.databases:
        subject = f"{db.engine} {db.version} {db.instance_class}"
        options = list(pages(rds, "describe_orderable_db_instance_options", "OrderableDBInstanceOptions",
                             Engine=db.engine, DBInstanceClass=db.instance_class, Vpc=True))
        matching = [o for o in options if _matches(o.get("EngineVersion", ""), db.version)]
        if not options:
            findings.append(Finding("rds-orderable", "fail", subject,
                                    f"{db.instance_class} is not orderable for {db.engine} in {ctx.facts.region}"))
            continue
        if not matching:
            versions = sorted({o.get("EngineVersion", "") for o in options})
            findings.append(Finding("rds-orderable", "fail", subject,
                                    f"{db.engine} {db.version} is not orderable on {db.instance_class} "
                                    f"(orderable versions: {', '.join(versions[-5:])})"))
            continue
        if db.multi_az and not any(o.get("MultiAZCapable") for o in matching):
            findings.append(Finding("rds-orderable", "fail", subject, "not Multi-AZ capable"))
            continue
        zones = {z["Name"] for o in matching for z in o.get("AvailabilityZones") or []}
        if chosen is None:
            findings.append(Finding("rds-orderable", "pass", subject, "orderable (zones not checked: "
                                                                       f"{ctx.zones_error})"))
            continue
        usable = [z for z in chosen if z in zones]
        needed = 2 if db.multi_az else 1
        missing = [z for z in chosen if z not in zones]
        if len(usable) < needed:
            findings.append(Finding("rds-orderable", "fail", subject,
                                    f"orderable in {len(usable)} of the chosen zones ({', '.join(usable) or 'none'}); "
                                    f"needs {needed}"))
        else:
            note = f"; not in {', '.join(missing)}" if missing else ""
            findings.append(Finding("rds-orderable", "pass", subject, f"orderable in {', '.join(usable)}{note}"))
    return findings


def _chosen_zone_names(ctx: Context) -> list[str] | None:
    if ctx.zones is None:
        return None
    from planning.preflight.zones import choose

    try:
        return choose(ctx.zones, ctx.facts)
    except ValueError:
        return ctx.zones.names


@check("elasticache-offered", title="ElastiCache engine version and node type offered", group="versions",
       calls=("elasticache:DescribeCacheEngineVersions", "elasticache:DescribeReservedCacheNodesOfferings"),
       remediation="Choose dataTier.redis.engineVersion from `aws elasticache describe-cache-engine-versions "
                   "--engine redis` and a node type sold in the region.")
def elasticache_offered(ctx: Context) -> list[Finding]:
    cache_api = ctx.client("elasticache")
    findings = []
    for cache in ctx.facts.caches:
        versions = [v.get("EngineVersion", "") for v in pages(
            cache_api, "describe_cache_engine_versions", "CacheEngineVersions", Engine=cache.engine)]
        if not any(_matches(v, cache.version) for v in versions):
            findings.append(Finding("elasticache-offered", "fail", f"{cache.engine} {cache.version}",
                                    f"{cache.engine} {cache.version} is not offered (offered: "
                                    f"{', '.join(versions[-5:])})"))
        else:
            findings.append(Finding("elasticache-offered", "pass", f"{cache.engine} {cache.version}", "offered"))
        # ElastiCache has no orderable-options API; the reserved-node offerings list every node type the
        # region sells (DescribeReservedCacheNodesOfferings, filtered by CacheNodeType).
        offers = list(pages(cache_api, "describe_reserved_cache_nodes_offerings", "ReservedCacheNodesOfferings",
                            CacheNodeType=cache.node_type))
        if offers:
            findings.append(Finding("elasticache-offered", "pass", cache.node_type, "sold in the region"))
        else:
            findings.append(Finding("elasticache-offered", "fail", cache.node_type,
                                    f"node type {cache.node_type} is not sold in {ctx.facts.region}"))
    return findings


@check("sar-application-version", title="Serverless Application Repository application version published",
       group="versions", calls=("serverlessrepo:GetApplication",),
       remediation="Pin a semanticVersion the application publishes (`aws serverlessrepo list-application-"
                   "versions --application-id <arn>`).")
def sar_application_version(ctx: Context) -> list[Finding]:
    sar = ctx.client("serverlessrepo")
    findings = []
    for app in ctx.facts.sar_applications:
        subject = f"{app.application_id.rsplit('/', 1)[-1]} {app.version}"
        try:
            found = call(sar, "get_application", ApplicationId=app.application_id, SemanticVersion=app.version)
        except Exception as exc:
            if error_code(exc) == "NotFoundException":
                findings.append(Finding("sar-application-version", "fail", subject,
                                        f"version {app.version} of {app.application_id} is not published"))
                continue
            raise
        published = (found.get("Version") or {}).get("SemanticVersion")
        status = "pass" if published == app.version else "fail"
        findings.append(Finding("sar-application-version", status, subject,
                                "published" if status == "pass" else f"the repository answered {published}"))
    return findings
