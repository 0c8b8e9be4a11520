"""The edge's names: the hosted zone, a DNS-validated ACM certificate and alias records for each host."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from config.edge import EdgeConfig, Route


def slug(host: str) -> str:
    """A resource-name-safe form of a DNS name (stable, so records are never replaced by a rename)."""
    return host.replace("*", "wildcard").replace(".", "-")


def hosted_zone_id(cfg: EdgeConfig) -> pulumi.Output[str]:
    if cfg.hosted_zone_id:
        return pulumi.Output.from_input(cfg.hosted_zone_id)
    name = cfg.hosted_zone_name or cfg.domain
    return aws.route53.get_zone_output(name=name, private_zone=False).zone_id


def certificate_arn(
    name: str,
    cfg: EdgeConfig,
    routes: Sequence[Route],
    *,
    zone_id: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    """The listener's certificate: the configured one, or an ACM certificate that is validated before use.

    The returned ARN comes from the CertificateValidation, so the HTTPS listener is only created once
    ACM has issued the certificate.
    """
    if cfg.certificate_arn:
        return pulumi.Output.from_input(cfg.certificate_arn)
    names = cfg.certificate_names(list(routes))
    cert = aws.acm.Certificate(
        f"{name}-certificate",
        domain_name=names[0],
        subject_alternative_names=names[1:],
        validation_method="DNS",
        key_algorithm="RSA_2048",
        options={"certificate_transparency_logging_preference": "ENABLED"},
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    records = []
    # A wildcard is validated by the same record as its base name, so only non-wildcard names get one.
    for domain in (n for n in names if not n.startswith("*.")):
        option = cert.domain_validation_options.apply(
            lambda options, domain=domain: next(o for o in options if o.domain_name == domain))
        records.append(aws.route53.Record(
            f"{name}-validation-{slug(domain)}",
            zone_id=zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=pulumi.ResourceOptions(parent=cert),
        ))
    validation = aws.acm.CertificateValidation(
        f"{name}-certificate-validation",
        certificate_arn=cert.arn,
        validation_record_fqdns=[r.fqdn for r in records],
        opts=pulumi.ResourceOptions(parent=cert),
    )
    return validation.certificate_arn


def alias_records(
    name: str,
    hosts: Sequence[str],
    *,
    zone_id: pulumi.Input[str],
    dns_name: pulumi.Input[str],
    lb_zone_id: pulumi.Input[str],
    ipv6: bool,
    parent: pulumi.Resource,
    overwrite: bool = False,
) -> list[aws.route53.Record]:
    """A (and with a dual-stack load balancer, AAAA) alias records; existing records are overwritten only by a DR
    stack taking over the source's names (``overwrite``)."""
    records = []
    for host in sorted(set(hosts)):
        for record_type in ("A", "AAAA") if ipv6 else ("A",):
            records.append(aws.route53.Record(
                f"{name}-{slug(host)}-{record_type.lower()}",
                zone_id=zone_id,
                name=host,
                type=record_type,
                aliases=[{"name": dns_name, "zone_id": lb_zone_id, "evaluate_target_health": True}],
                allow_overwrite=overwrite,
                opts=pulumi.ResourceOptions(parent=parent),
            ))
    return records
