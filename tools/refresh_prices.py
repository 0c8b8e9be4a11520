"""Refresh the committed price catalogue from the AWS Price List API.

    pip install boto3                      # only this script needs it; it is not a project dependency
    AWS_PROFILE=<profile> python tools/refresh_prices.py                 # every catalogue region
    python tools/refresh_prices.py --region us-west-2 --dry-run          # show changes, write nothing

Needs credentials allowed to call ``pricing:GetProducts`` (the API answers from us-east-1). For each
price key of ``policies/agent_costing/prices/aws-<region>.json`` with a query below, the script
takes the on-demand price dimension in the expected unit (first tier) and rewrites the entry with that
price, the offer and SKU it came from as ``source``, and today's date. A key without a query, whose query
matches no product, or whose products disagree on the price keeps its committed value and is listed at
the end: the script never guesses. Commit the result together with the regenerated cost table
(``python -m planning.cost_report.readme_table --write docs/cost.md``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The estimator reads its catalogue from here (agent_costing.catalogue.PRICES_DIR).
PRICES_DIR = ROOT / "policies" / "agent_costing" / "prices"
PRICING_API_REGION = "us-east-1"


@dataclass(frozen=True)
class Query:
    """One GetProducts call: exact attribute matches, optional substring matches, and the unit to take."""

    service_code: str
    terms: Mapping[str, str]
    unit: str
    contains: Mapping[str, str] = field(default_factory=dict)

    def filters(self) -> list[dict[str, str]]:
        out = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in self.terms.items()]
        out += [{"Type": "CONTAINS", "Field": k, "Value": v} for k, v in self.contains.items()]
        return out


_ENGINES = {"postgres": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}
_CACHE_ENGINES = {"redis": "Redis", "valkey": "Valkey", "memcached": "Memcached"}


def query_for(key: str, region: str) -> Query | None:
    """The Price List query for a catalogue key, or ``None`` for kinds refreshed by hand from the pricing page."""
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
    fixed: dict[str, Query] = {
        "eks.cluster.standard": Query("AmazonEKS", where, "Hrs", {"usagetype": "AmazonEKS-Hours:perCluster"}),
        "eks.cluster.extended": Query("AmazonEKS", where, "Hrs", {"usagetype": "AmazonEKS-Hours:extendedSupport"}),
        "ebs.gp3.storage": Query("AmazonEC2", {**where, "productFamily": "Storage", "volumeApiName": "gp3"}, "GB-Mo"),
        "ebs.gp2.storage": Query("AmazonEC2", {**where, "productFamily": "Storage", "volumeApiName": "gp2"}, "GB-Mo"),
        "vpc.nat.hour": Query("AmazonEC2", {**where, "productFamily": "NAT Gateway"}, "Hrs"),
        "vpc.nat.data": Query("AmazonEC2", {**where, "productFamily": "NAT Gateway"}, "GB"),
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
    }
    return fixed.get(key)


@dataclass(frozen=True)
class Found:
    usd: float
    source: str


def extract_price(products: Iterable[Mapping[str, Any]], unit: str) -> Found | str:
    """The one first-tier on-demand price in ``unit`` across ``products``; a reason string when there is not one."""
    prices: dict[float, str] = {}
    for product in products:
        sku = str(product.get("product", {}).get("sku", "?"))
        offer = str(product.get("serviceCode", "?"))
        published = str(product.get("publicationDate", ""))[:10]
        for term in (product.get("terms", {}).get("OnDemand") or {}).values():
            for dim in (term.get("priceDimensions") or {}).values():
                if str(dim.get("unit", "")).lower() != unit.lower() or str(dim.get("beginRange", "0")) != "0":
                    continue
                usd = float(dim.get("pricePerUnit", {}).get("USD", "nan"))
                if not math.isnan(usd) and usd > 0:  # skip NaN and the $0 placeholder dimensions some offers carry
                    prices.setdefault(usd, f"AWS Price List API: {offer} SKU {sku}"
                                           + (f", published {published}" if published else ""))
    if not prices:
        return f"no on-demand price in {unit}"
    if len(prices) > 1:
        listed = ", ".join(f"{p:g}" for p in sorted(prices))
        return f"{len(prices)} different prices in {unit} ({listed}): refine the query"
    (usd, source), = prices.items()
    return Found(usd, source)


def apply_updates(document: Mapping[str, Any], updates: Mapping[str, Found], date: str) -> dict[str, Any]:
    """A copy of a region file with ``updates`` applied (notes kept); untouched entries keep their source and date."""
    prices = {k: dict(v) for k, v in document["prices"].items()}
    for key, found in updates.items():
        prices[key].update({"usd": found.usd, "source": found.source, "date": date})
    return {**document, "prices": dict(sorted(prices.items()))}


def _products(client: Any, query: Query) -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = []
    paginator = client.get_paginator("get_products")
    for page in paginator.paginate(ServiceCode=query.service_code, Filters=query.filters(),
                                   FormatVersion="aws_v1"):
        products.extend(json.loads(item) for item in page.get("PriceList", []))
    return products


def refresh_region(client: Any, path: Path, *, dry_run: bool, today: str) -> list[str]:
    """Refresh one region file; returns the keys left as committed, each with the reason."""
    document = json.loads(path.read_text())
    region = document["region"]
    updates: dict[str, Found] = {}
    kept: list[str] = []
    for key, entry in sorted(document["prices"].items()):
        query = query_for(key, region)
        if query is None:
            kept.append(f"{region} {key}: no Price List query; verify against {entry['source']}")
            continue
        result = extract_price(_products(client, query), query.unit)
        if isinstance(result, str):
            kept.append(f"{region} {key}: {result}")
            continue
        if result.usd != entry["usd"]:
            print(f"{region} {key}: {entry['usd']} -> {result.usd}")
        updates[key] = result
    if not dry_run:
        path.write_text(json.dumps(apply_updates(document, updates, today), indent=2) + "\n")
    return kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region", action="append", help="catalogue region to refresh (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print changes, write nothing")
    args = parser.parse_args(argv)
    try:
        import boto3  # imported here: nothing else in the project needs it
    except ImportError:
        print("this script needs boto3: pip install boto3", file=sys.stderr)
        return 2
    client = boto3.client("pricing", region_name=PRICING_API_REGION)
    files = ([PRICES_DIR / f"aws-{r}.json" for r in args.region] if args.region
             else sorted(PRICES_DIR.glob("aws-*.json")))
    today = datetime.date.today().isoformat()
    kept: list[str] = []
    for path in files:
        kept += refresh_region(client, path, dry_run=args.dry_run, today=today)
    if kept:
        print(f"\n{len(kept)} price(s) kept as committed:")
        print("\n".join(f"  {line}" for line in kept))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
