"""Things that must already exist before `pulumi up`: images, the hosted zone, named roles, SSM parameters."""

from __future__ import annotations

from planning.preflight.aws import call, error_code
from planning.preflight.facts import ROLE_ARN
from planning.preflight.framework import Context, Finding, Skip, check


@check("ecr-image-digests", title="Image digests pushed to their ECR repositories", group="exists",
       calls=("ecr:DescribeImages",),
       remediation="Push the image (or let CI push it) and set the digest it reports; a new stack starts with no "
                   "image lines (docs/first-deploy.md).")
def ecr_image_digests(ctx: Context) -> list[Finding]:
    findings = []
    for image in ctx.facts.ecr_images:
        repo_uri = f"{image.account}.dkr.ecr.{image.region}.amazonaws.com/{image.repository}"
        if repo_uri in ctx.facts.built_repositories:
            findings.append(Finding("ecr-image-digests", "pass", image.reference, "built and pushed by this update"))
            continue
        ecr = ctx.client("ecr", image.region)
        try:
            found = call(ecr, "describe_images", registryId=image.account, repositoryName=image.repository,
                         imageIds=[{"imageDigest": image.digest}])
        except Skip as exc:  # another account's registry may not let this caller look: only that image is unproven
            findings.append(Finding("ecr-image-digests", "skip", image.reference, str(exc)))
            continue
        except Exception as exc:
            code = error_code(exc)
            if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
                what = "repository" if code == "RepositoryNotFoundException" else "digest"
                findings.append(Finding("ecr-image-digests", "fail", image.reference,
                                        f"{what} not found in {image.account}/{image.repository} "
                                        f"({image.region}): {code}"))
                continue
            raise
        ok = any(d.get("imageDigest") == image.digest for d in found.get("imageDetails") or [])
        findings.append(Finding("ecr-image-digests", "pass" if ok else "fail", image.reference,
                                "pushed" if ok else "digest not found"))
    for image in ctx.facts.other_images:
        findings.append(Finding("ecr-image-digests", "skip", image,
                                "not in ECR: registry-image-digests asks its own registry for the digest"))
    return findings


@check("registry-image-digests", title="Image tags resolved to digests by this runner", group="exists", calls=(),
       remediation="Allow HTTPS from the machine that runs `pulumi preview`/`up` to each registry and its token "
                   "endpoint (docs/first-deploy.md#image-digests-resolved-at-deploy-time). When a recorded digest "
                   "differs, check the publisher's release and update `expected` in config/image_pins.py.")
def registry_image_digests(ctx: Context) -> list[Finding]:
    """The program resolves these tags itself during preview and update: an unreachable registry fails the deploy,
    and a recorded one-source digest the registry no longer serves stops it (components/core/registry.py)."""
    from components.core.registry import RegistryError

    if ctx.registry is None:
        raise Skip("no registry client")
    findings = []
    for lookup in ctx.facts.registry_lookups:
        try:
            digest = ctx.registry.digest(lookup.reference)
        except RegistryError as exc:
            findings.append(Finding("registry-image-digests", "fail", lookup.reference, str(exc)))
            continue
        if lookup.expected and digest != lookup.expected:
            findings.append(Finding("registry-image-digests", "fail", lookup.reference,
                                    f"the registry serves {digest}, config/image_pins.py expects {lookup.expected}"))
        else:
            findings.append(Finding("registry-image-digests", "pass", lookup.reference,
                                    f"resolves to {digest}" + (" (the recorded digest)" if lookup.expected else "")))
    # Images pinned outside ECR (chart images, the bootstrap Job's, the VM runtime's): the digest must exist there.
    for image in ctx.facts.other_images:
        try:
            found = ctx.registry.exists(image)
        except RegistryError as exc:
            findings.append(Finding("registry-image-digests", "fail", image, str(exc)))
            continue
        findings.append(Finding("registry-image-digests", "pass" if found else "fail", image,
                                "served by its registry" if found else "the registry has no manifest with this digest"))
    return findings


@check("route53-hosted-zone", title="Route 53 hosted zone for the domain exists", group="exists",
       calls=("route53:ListHostedZonesByName", "route53:GetHostedZone"),
       remediation="Create the public hosted zone and delegate it, or set edge.hostedZoneName / "
                   "edge.hostedZoneId to a zone in this account.")
def route53_hosted_zone(ctx: Context) -> list[Finding]:
    r53 = ctx.client("route53")
    findings = []
    for zone in ctx.facts.hosted_zones:
        if zone.zone_id and not zone.name:
            try:
                found = call(r53, "get_hosted_zone", Id=zone.zone_id)
            except Exception as exc:
                if error_code(exc) == "NoSuchHostedZone":
                    findings.append(Finding("route53-hosted-zone", "fail", zone.zone_id,
                                            f"no hosted zone {zone.zone_id} in this account"))
                    continue
                raise
            findings.append(Finding("route53-hosted-zone", "pass", zone.zone_id,
                                    f"exists ({found['HostedZone']['Name']})"))
            continue
        fqdn = zone.name.rstrip(".") + "."
        listed = call(r53, "list_hosted_zones_by_name", DNSName=fqdn, MaxItems="10").get("HostedZones") or []
        match = [z for z in listed if z.get("Name") == fqdn
                 and bool((z.get("Config") or {}).get("PrivateZone")) == zone.private]
        kind = "private" if zone.private else "public"
        if not match:
            findings.append(Finding("route53-hosted-zone", "fail", zone.name,
                                    f"no {kind} hosted zone named {fqdn} in this account"))
        elif len(match) > 1:
            findings.append(Finding("route53-hosted-zone", "fail", zone.name,
                                    f"{len(match)} {kind} hosted zones named {fqdn}: the lookup would be ambiguous; "
                                    "set edge.hostedZoneId"))
        else:
            findings.append(Finding("route53-hosted-zone", "pass", zone.name, f"{match[0]['Id']}"))
    return findings


@check("iam-roles-exist", title="IAM roles named in config exist", group="exists",
       calls=("sts:GetCallerIdentity", "iam:GetRole"),
       remediation="Create the role (admins, break-glass, deployers: docs/accounts.md) or correct its ARN.")
def iam_roles_exist(ctx: Context) -> list[Finding]:
    if not ctx.facts.role_arns:
        return []
    account = call(ctx.client("sts"), "get_caller_identity")["Account"]
    iam = ctx.client("iam")
    findings = []
    for arn in ctx.facts.role_arns:
        m = ROLE_ARN.match(arn)
        assert m is not None
        if m["account"] != account:
            findings.append(Finding("iam-roles-exist", "skip", arn,
                                    f"in account {m['account']}, not the caller's ({account}): check it there"))
            continue
        try:
            call(iam, "get_role", RoleName=m["name"])
        except Exception as exc:
            if error_code(exc) == "NoSuchEntity":
                findings.append(Finding("iam-roles-exist", "fail", arn, "no such role"))
                continue
            raise
        findings.append(Finding("iam-roles-exist", "pass", arn, "exists"))
    return findings


@check("ssm-ami-parameters", title="SSM parameters the program reads exist", group="exists",
       calls=("ssm:GetParameter",),
       remediation="Use a public parameter AWS publishes in this region (e.g. /aws/service/ami-amazon-linux-"
                   "latest/al2023-ami-kernel-default-x86_64).")
def ssm_ami_parameters(ctx: Context) -> list[Finding]:
    ssm = ctx.client("ssm")
    findings = []
    for name in ctx.facts.ssm_parameters:
        try:
            found = call(ssm, "get_parameter", Name=name)
        except Exception as exc:
            if error_code(exc) == "ParameterNotFound":
                findings.append(Finding("ssm-ami-parameters", "fail", name, f"no parameter in {ctx.facts.region}"))
                continue
            raise
        findings.append(Finding("ssm-ami-parameters", "pass", name, f"= {found['Parameter'].get('Value')}"))
    return findings
