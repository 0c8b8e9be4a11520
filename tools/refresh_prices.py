"""Confirm the committed AWS price catalogue against AWS's own price data, and rewrite the prices that changed.

    AWS_PROFILE=<profile> python tools/refresh_prices.py                 # every catalogue region, Price List API
    python tools/refresh_prices.py --region us-west-2 --dry-run          # show the differences, write nothing
    python tools/refresh_prices.py --offer-files                         # no credentials: public offer files

For each price key of ``policies/agent_costing/prices/aws-<region>.json`` with a query below, the script asks
the Price List API (``pricing:GetProducts``, answered from us-east-1; boto3, in requirements-dev.txt) or, with
``--offer-files`` or when no credentials are found, reads the public offer file of the service and region
(``https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<ServiceCode>/current/<region>/index.json``; the
EC2 file is very large). It takes the one first-tier on-demand price dimension in the expected unit and:

- prints every difference (old -> new);
- rewrites that entry's ``usd`` and ``date`` in place (entry order and every other field kept, so entries others
  edit are not reformatted);
- records the confirmation (method, date, price, offer and SKU) in ``prices/confirmations.json``, which the
  cost tables read to say how many prices are confirmed and when.

A key without a query, whose query matches no product, or whose products disagree on the price keeps its
committed value and is listed at the end: the script never guesses. Commit the result with the regenerated
cost table (``python -m planning.cost_report.readme_table --write docs/cost.md``).

Response shape (AWS Price List API reference, GetProducts): ``PriceList`` is a list of JSON *strings*, each a
product document ``{"product": {"sku", "productFamily", "attributes"}, "serviceCode", "terms": {"OnDemand":
{<sku>.<offerTermCode>: {"priceDimensions": {<rateCode>: {"unit", "beginRange", "pricePerUnit": {"USD"}}}}}},
"publicationDate"}``; an offer file holds the same products and terms keyed by SKU.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
# The estimator reads its catalogue from here (agent_costing.catalogue.PRICES_DIR).
PRICES_DIR = ROOT / "policies" / "agent_costing" / "prices"
CONFIRMATIONS = PRICES_DIR / "confirmations.json"
PRICING_API_REGION = "us-east-1"
OFFER_FILE_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{service}/current/{region}/index.json"


@dataclass(frozen=True)
class Query:
    """One GetProducts call: exact attribute matches, substring matches, and the unit to take (None: any unit)."""

    service_code: str
    terms: Mapping[str, str]
    unit: str | None
    contains: Mapping[str, str] = field(default_factory=dict)

    def filters(self) -> list[dict[str, str]]:
        out = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in self.terms.items()]
        out += [{"Type": "CONTAINS", "Field": k, "Value": v} for k, v in self.contains.items()]
        return out

    def matches(self, product: Mapping[str, Any]) -> bool:
        """The filter applied to an offer file's product (``productFamily`` is a product field, not an attribute)."""
        attributes = {**product.get("attributes", {}), "productFamily": product.get("productFamily", "")}
        return (all(attributes.get(k) == v for k, v in self.terms.items())
                and all(v in str(attributes.get(k, "")) for k, v in self.contains.items()))


_ENGINES = {"postgres": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}
_CACHE_ENGINES = {"redis": "Redis", "valkey": "Valkey", "memcached": "Memcached"}
# CodeBuild on-demand Linux compute types the CI runner uses, by their billing usage type ("Build-Min:g1.small"
# as AWS's usage reports name it); an answer with several prices (other OS or architecture) is refused.
_CODEBUILD = {"general1.small": "g1.small", "general1.medium": "g1.medium", "general1.large": "g1.large"}


def query_for(key: str, region: str) -> Query | None:
    """The Price List query for a catalogue key, or ``None`` for kinds confirmed by hand from the pricing page."""
    where = {"regionCode": region}
    if key.startswith("ec2.instance."):
        return Query("AmazonEC2", {**where, "instanceType": key.removeprefix("ec2.instance."),
                                   "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                                   "capacitystatus": "Used", "licenseModel": "No License required"}, "Hrs")
    if key.startswith("rds.") and not key.startswith("rds.storage."):
        _, engine, klass = key.split(".", 2)
        if engine not in _ENGINES:
            return None
        return Query("AmazonRDS", {**where, "instanceType": klass, "databaseEngine": _ENGINES[engine],
                                   "deploymentOption": "Single-AZ"}, "Hrs")
    if key.startswith("elasticache."):
        _, engine, node = key.split(".", 2)
        if engine not in _CACHE_ENGINES:
            return None
        return Query("AmazonElastiCache", {**where, "instanceType": node, "cacheEngine": _CACHE_ENGINES[engine]},
                     "Hrs")
    if key.startswith("codebuild."):
        compute = _CODEBUILD.get(key.removeprefix("codebuild."))
        if compute is None:
            return None
        return Query("AWSCodeBuild", where, None, {"usagetype": f"Build-Min:{compute}"})
    # DocumentDB (offer AmazonDocDB) and OpenSearch Service (offer AmazonES): product families and usage types as
    # infracost queries them (internal/resources/aws/docdb_cluster_instance.go, elasticsearch_domain.go). The
    # usage-type text keeps the Standard storage configuration: "InstanceUsage:db.x" does not match the
    # I/O-Optimized "InstanceUsageIOOptimized:db.x".
    if key.startswith("docdb.db."):
        klass = key.removeprefix("docdb.")
        return Query("AmazonDocDB", {**where, "productFamily": "Database Instance", "instanceType": klass}, "Hrs",
                     {"usagetype": f"InstanceUsage:{klass}"})
    if key.startswith("opensearch.") and key.endswith(".search"):
        return Query("AmazonES", {**where, "productFamily": "Amazon OpenSearch Service Instance",
                                  "instanceType": key.removeprefix("opensearch.")}, "Hrs", {"usagetype": "ESInstance:"})
    fixed: dict[str, Query] = {
        "docdb.io": Query("AmazonDocDB", {**where, "productFamily": "System Operation"}, None,
                          {"usagetype": "StorageIOUsage"}),
        "opensearch.storage.gp3": Query("AmazonES", {**where, "productFamily": "Amazon OpenSearch Service Volume"},
                                        "GB-Mo", {"usagetype": "ES:GP3-Storage"}),
        "eks.cluster.standard": Query("AmazonEKS", where, "Hrs", {"usagetype": "AmazonEKS-Hours:perCluster"}),
        "eks.cluster.extended": Query("AmazonEKS", where, "Hrs", {"usagetype": "AmazonEKS-Hours:extendedSupport"}),
        "ebs.gp3.storage": Query("AmazonEC2", {**where, "productFamily": "Storage", "volumeApiName": "gp3"}, "GB-Mo"),
        "ebs.gp2.storage": Query("AmazonEC2", {**where, "productFamily": "Storage", "volumeApiName": "gp2"}, "GB-Mo"),
        "vpc.nat.hour": Query("AmazonEC2", {**where, "productFamily": "NAT Gateway"}, "Hrs"),
        "vpc.nat.data": Query("AmazonEC2", {**where, "productFamily": "NAT Gateway"}, "GB"),
        # Usage type as AWS bills it ("USE1-PublicIPv4:InUseAddress"), under the AmazonVPC offer.
        "vpc.public-ipv4.hour": Query("AmazonVPC", where, "Hrs", {"usagetype": "PublicIPv4:InUseAddress"}),
        "vpc.endpoint.interface.hour": Query("AmazonVPC", {**where, "productFamily": "VpcEndpoint",
                                                           "endpointType": "PrivateLink"}, "Hrs"),
        "vpc.endpoint.interface.data": Query("AmazonVPC", {**where, "productFamily": "VpcEndpoint",
                                                           "endpointType": "PrivateLink"}, "GB"),
        "rds.storage.gp3": Query("AmazonRDS", {**where, "productFamily": "Database Storage",
                                               "volumeType": "General Purpose-GP3", "databaseEngine": "PostgreSQL",
                                               "deploymentOption": "Single-AZ"}, "GB-Mo"),
        "rds.storage.gp2": Query("AmazonRDS", {**where, "productFamily": "Database Storage",
                                               "volumeType": "General Purpose", "databaseEngine": "PostgreSQL",
                                               "deploymentOption": "Single-AZ"}, "GB-Mo"),
        "elb.application.hour": Query("AWSELB", {**where, "productFamily": "Load Balancer-Application"}, "Hrs"),
        "elb.application.lcu": Query("AWSELB", {**where, "productFamily": "Load Balancer-Application"}, "LCU-Hrs"),
        "elb.network.hour": Query("AWSELB", {**where, "productFamily": "Load Balancer-Network"}, "Hrs"),
        "s3.standard.storage": Query("AmazonS3", {**where, "productFamily": "Storage",
                                                  "storageClass": "General Purpose", "volumeType": "Standard"},
                                     "GB-Mo"),
        # Usage types as AWS bills them in Cost Explorer and the CUR ("USE1-AWSSecretsManager-Secrets",
        # "USE1-DataProcessing-Bytes", "USE1-TimedStorage-ByteHrs", "USE1-CW:MetricMonitorUsage",
        # "USE1-AlarmMonitorUsage", "USE1-KMS-Keys"). Where two products contain the same text (high-resolution
        # alarms, log storage and ECR storage both being TimedStorage), the service code tells them apart, and
        # an answer with several prices is refused rather than guessed.
        "secretsmanager.secret": Query("AWSSecretsManager", where, None, {"usagetype": "AWSSecretsManager-Secrets"}),
        "logs.ingestion.standard": Query("AmazonCloudWatch", where, "GB", {"usagetype": "DataProcessing-Bytes"}),
        "logs.storage": Query("AmazonCloudWatch", where, "GB-Mo", {"usagetype": "TimedStorage-ByteHrs"}),
        "ecr.storage": Query("AmazonECR", where, "GB-Mo", {"usagetype": "TimedStorage-ByteHrs"}),
        "cloudwatch.metric.custom": Query("AmazonCloudWatch", where, None, {"usagetype": "CW:MetricMonitorUsage"}),
        "cloudwatch.alarm.standard": Query("AmazonCloudWatch", where, None, {"usagetype": "AlarmMonitorUsage"}),
        "kms.key": Query("awskms", where, None, {"usagetype": "KMS-Keys"}),
    }
    return fixed.get(key)


@dataclass(frozen=True)
class Found:
    usd: float
    source: str
    sku: str = ""
    offer: str = ""


def extract_price(products: Iterable[Mapping[str, Any]], unit: str | None) -> Found | str:
    """The one first-tier on-demand price in ``unit`` across ``products``; a reason string when there is not one."""
    prices: dict[float, Found] = {}
    for product in products:
        sku = str(product.get("product", {}).get("sku", "?"))
        offer = str(product.get("serviceCode", "?"))
        published = str(product.get("publicationDate", ""))[:10]
        for term in (product.get("terms", {}).get("OnDemand") or {}).values():
            for dim in (term.get("priceDimensions") or {}).values():
                if unit is not None and str(dim.get("unit", "")).lower() != unit.lower():
                    continue
                if str(dim.get("beginRange", "0")) != "0":
                    continue
                usd = float(dim.get("pricePerUnit", {}).get("USD", "nan"))
                if not math.isnan(usd) and usd > 0:  # skip NaN and the $0 placeholder dimensions some offers carry
                    prices.setdefault(usd, Found(usd, f"AWS Price List: {offer} SKU {sku}"
                                                 + (f", published {published}" if published else ""), sku, offer))
    wanted = unit or "any unit"
    if not prices:
        return f"no on-demand price in {wanted}"
    if len(prices) > 1:
        listed = ", ".join(f"{p:g}" for p in sorted(prices))
        return f"{len(prices)} different prices in {wanted} ({listed}): refine the query"
    (found,) = prices.values()
    return found


class ProductSource(Protocol):
    method: str

    def products(self, query: Query) -> list[dict[str, Any]]: ...


class ApiSource:
    """``pricing:GetProducts`` through a boto3 ``pricing`` client (paginated; PriceList items are JSON strings)."""

    method = "price-list-api"

    def __init__(self, client: Any) -> None:
        self.client = client

    def products(self, query: Query) -> list[dict[str, Any]]:
        products: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("get_products")
        for page in paginator.paginate(ServiceCode=query.service_code, Filters=query.filters(),
                                       FormatVersion="aws_v1"):
            products.extend(json.loads(item) for item in page.get("PriceList", []))
        return products


def _download(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=600) as response:  # a fixed https URL of AWS (OFFER_FILE_URL)
        return json.load(response)


class OfferFileSource:
    """The public offer file of a service in a region, filtered like GetProducts and reshaped like its answer."""

    method = "offer-file"

    def __init__(self, region: str, fetch: Callable[[str], dict[str, Any]] = _download) -> None:
        self.region, self.fetch = region, fetch
        self._offers: dict[str, dict[str, Any]] = {}

    def products(self, query: Query) -> list[dict[str, Any]]:
        if query.service_code not in self._offers:
            self._offers[query.service_code] = self.fetch(
                OFFER_FILE_URL.format(service=query.service_code, region=self.region))
        offer = self._offers[query.service_code]
        on_demand = offer.get("terms", {}).get("OnDemand", {})
        return [{"product": product, "serviceCode": offer.get("offerCode", query.service_code),
                 "publicationDate": offer.get("publicationDate", ""),
                 "terms": {"OnDemand": on_demand.get(sku, {})}}
                for sku, product in offer.get("products", {}).items() if query.matches(product)]


@dataclass
class RegionResult:
    region: str
    changed: list[tuple[str, float, float]] = field(default_factory=list)  # (key, committed, found)
    confirmed: dict[str, Found] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)


def check_region(source: ProductSource, document: Mapping[str, Any]) -> RegionResult:
    """Query every key of one region file; nothing is written."""
    region = document["region"]
    result = RegionResult(region)
    for key, entry in document["prices"].items():
        query = query_for(key, region)
        if query is None:
            result.kept.append(f"{region} {key}: no Price List query; verify against {entry['source']}")
            continue
        found = extract_price(source.products(query), query.unit)
        if isinstance(found, str):
            result.kept.append(f"{region} {key}: {found}")
            continue
        if found.usd != entry["usd"]:
            result.changed.append((key, float(entry["usd"]), found.usd))
        result.confirmed[key] = found
    return result


def apply_updates(document: Mapping[str, Any], updates: Mapping[str, Found], date: str) -> dict[str, Any]:
    """A copy of a region file with each updated entry's ``usd`` and ``date`` rewritten; order and fields kept."""
    prices = {}
    for key, entry in document["prices"].items():
        prices[key] = {**entry, "usd": updates[key].usd, "date": date} if key in updates else dict(entry)
    return {**document, "prices": prices}


def record_confirmations(confirmations: Mapping[str, Any], region: str, found: Mapping[str, Found], method: str,
                         date: str) -> dict[str, Any]:
    """``confirmations.json`` with this refresh's evidence for ``region`` laid over the earlier records."""
    regions = {r: dict(entries) for r, entries in (confirmations.get("regions") or {}).items()}
    mine = regions.setdefault(region, {})
    for key, hit in found.items():
        mine[key] = {"method": method, "date": date, "usd": hit.usd, "sku": hit.sku, "offer": hit.offer}
    regions[region] = dict(sorted(mine.items()))
    return {**confirmations, "regions": regions}


def refresh_region(source: ProductSource, path: Path, *, dry_run: bool, today: str,
                   confirmations_path: Path = CONFIRMATIONS) -> RegionResult:
    """Check one region file, print its differences and, unless ``dry_run``, write the catalogue and evidence."""
    document = json.loads(path.read_text())
    result = check_region(source, document)
    for key, old, new in result.changed:
        print(f"{result.region} {key}: {old:g} -> {new:g} ({(new - old) / old:+.1%})" if old else
              f"{result.region} {key}: {old:g} -> {new:g}")
    print(f"{result.region}: {len(result.confirmed)} confirmed ({source.method}), {len(result.changed)} changed, "
          f"{len(result.kept)} not confirmed")
    if not dry_run:
        path.write_text(json.dumps(apply_updates(document, result.confirmed, today), indent=2) + "\n")
        current = json.loads(confirmations_path.read_text()) if confirmations_path.exists() else {}
        confirmations_path.write_text(json.dumps(
            record_confirmations(current, result.region, result.confirmed, source.method, today), indent=2) + "\n")
    return result


def api_client() -> Any | None:
    """A boto3 ``pricing`` client when boto3 and credentials are available, else None (offer files are used)."""
    try:
        import boto3  # imported here: only this script needs it
    except ImportError:
        return None
    session = boto3.Session()
    if session.get_credentials() is None:
        return None
    return session.client("pricing", region_name=PRICING_API_REGION)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", action="append", help="catalogue region to refresh (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print differences, write nothing")
    parser.add_argument("--offer-files", action="store_true",
                        help="read the public offer files instead of calling the Price List API")
    args = parser.parse_args(argv)
    client = None if args.offer_files else api_client()
    if client is None and not args.offer_files:
        print("no boto3 or no AWS credentials: reading the public offer files instead", file=sys.stderr)
    files = ([PRICES_DIR / f"aws-{r}.json" for r in args.region] if args.region
             else sorted(PRICES_DIR.glob("aws-*.json")))
    today = datetime.date.today().isoformat()
    kept: list[str] = []
    for path in files:
        region = json.loads(path.read_text())["region"]
        source: ProductSource = ApiSource(client) if client is not None else OfferFileSource(region)
        kept += refresh_region(source, path, dry_run=args.dry_run, today=today).kept
    if kept:
        print(f"\n{len(kept)} price(s) kept as committed, not confirmed:")
        print("\n".join(f"  {line}" for line in kept))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
