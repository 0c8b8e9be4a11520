"""The Price List refresher's pure parts: which query a key makes, and how one price is read from products.

The live call needs credentials and boto3; these tests feed it Price List documents of the shape the
API returns, so a refresh can only write a price it found unambiguously.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_prices", ROOT / "tools" / "refresh_prices.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module while the file executes
    spec.loader.exec_module(module)
    return module


refresh = _load()


def product(sku: str, usd: str, unit: str = "Hrs", begin: str = "0") -> dict[str, Any]:
    return {
        "serviceCode": "AmazonEC2", "publicationDate": "2026-11-20T10:00:00Z",
        "product": {"sku": sku, "attributes": {"instanceType": "m7i.large"}},
        "terms": {"OnDemand": {f"{sku}.JRTCKXETXF": {"priceDimensions": {
            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {"unit": unit, "beginRange": begin, "endRange": "Inf",
                                             "pricePerUnit": {"USD": usd}}}}}},
    }


def test_instance_keys_query_linux_shared_on_demand_in_the_region():
    query = refresh.query_for("ec2.instance.m7i.large", "us-west-2")
    assert query.service_code == "AmazonEC2" and query.unit == "Hrs"
    assert query.terms["instanceType"] == "m7i.large" and query.terms["regionCode"] == "us-west-2"
    assert {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"} in query.filters()


def test_database_and_cache_keys_name_the_engine():
    assert refresh.query_for("rds.postgres.db.r7g.large", "us-east-1").terms["databaseEngine"] == "PostgreSQL"
    assert refresh.query_for("elasticache.valkey.cache.t4g.micro", "us-east-1").terms["cacheEngine"] == "Valkey"


def test_kinds_without_a_reliable_query_are_left_to_the_pricing_page():
    assert refresh.query_for("waf.web-acl", "us-east-1") is None
    assert refresh.query_for("route53.hosted-zone", "us-east-1") is None


def test_one_price_in_the_unit_is_taken_with_its_sku_as_source():
    found = refresh.extract_price([product("ABC", "0.1008000000"), product("ABC", "0.0000000000")], "Hrs")
    assert found.usd == pytest.approx(0.1008)
    assert found.source == "AWS Price List API: AmazonEC2 SKU ABC, published 2026-11-20"


def test_disagreeing_or_missing_prices_are_refused():
    assert "2 different prices" in refresh.extract_price([product("A", "0.1"), product("B", "0.2")], "Hrs")
    assert "no on-demand price" in refresh.extract_price([product("A", "0.1", unit="GB-Mo")], "Hrs")
    assert "no on-demand price" in refresh.extract_price([product("A", "0.1", begin="10240")], "Hrs")


def test_the_refresher_rewrites_the_catalogue_the_estimator_reads():
    from agent_costing.catalogue import PRICES_DIR

    assert refresh.PRICES_DIR == PRICES_DIR
    assert (refresh.PRICES_DIR / "aws-us-east-1.json").exists()


def test_updates_rewrite_price_source_and_date_and_keep_the_rest():
    path = refresh.PRICES_DIR / "aws-us-east-1.json"
    document = json.loads(path.read_text())
    key = "ec2.instance.m7i.large"
    updated = refresh.apply_updates(document, {key: refresh.Found(0.5, "AWS Price List API: x")}, "2027-01-01")
    assert updated["prices"][key] == {**document["prices"][key], "usd": 0.5, "source": "AWS Price List API: x",
                                      "date": "2027-01-01"}
    untouched = next(k for k in document["prices"] if k != key)
    assert updated["prices"][untouched] == document["prices"][untouched]
    assert document["prices"][key]["usd"] != 0.5  # the input is not modified
