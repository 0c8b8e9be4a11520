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
    assert found.source == "AWS Price List: AmazonEC2 SKU ABC, published 2026-11-20"
    assert (found.sku, found.offer) == ("ABC", "AmazonEC2")


def test_disagreeing_or_missing_prices_are_refused():
    assert "2 different prices" in refresh.extract_price([product("A", "0.1"), product("B", "0.2")], "Hrs")
    assert "no on-demand price" in refresh.extract_price([product("A", "0.1", unit="GB-Mo")], "Hrs")
    assert "no on-demand price" in refresh.extract_price([product("A", "0.1", begin="10240")], "Hrs")


def test_the_refresher_rewrites_the_catalogue_the_estimator_reads():
    from agent_costing.catalogue import PRICES_DIR

    assert refresh.PRICES_DIR == PRICES_DIR
    assert (refresh.PRICES_DIR / "aws-us-east-1.json").exists()


def test_updates_rewrite_price_and_date_in_place_and_keep_source_and_order():
    path = refresh.PRICES_DIR / "aws-us-east-1.json"
    text = path.read_text()
    document = json.loads(text)
    key = "ec2.instance.m7i.large"
    updated = refresh.apply_updates(document, {key: refresh.Found(0.5, "AWS Price List: x")}, "2027-01-01")
    assert updated["prices"][key] == {**document["prices"][key], "usd": 0.5, "date": "2027-01-01"}
    assert list(updated["prices"]) == list(document["prices"])  # blocks others append stay where they are
    untouched = next(k for k in document["prices"] if k != key)
    assert updated["prices"][untouched] == document["prices"][untouched]
    assert document["prices"][key]["usd"] != 0.5  # the input is not modified
    # Writing back an unchanged document reproduces the committed bytes: nothing else is reformatted.
    assert json.dumps(refresh.apply_updates(document, {}, "2027-01-01"), indent=2) + "\n" == text


# -- offline runs on recorded responses (tests/fixtures/pricing; each file says whether it was captured or shaped) --

FIXTURES = ROOT / "tests" / "fixtures" / "pricing"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def stubbed_client() -> Any:
    import boto3

    return boto3.client("pricing", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def expected(query: Any, token: str | None = None) -> dict[str, Any]:
    params = {"ServiceCode": query.service_code, "Filters": query.filters(), "FormatVersion": "aws_v1"}
    return {**params, "NextToken": token} if token else params


def small_catalogue(tmp_path: Path, keys: list[str]) -> Path:
    document = json.loads((refresh.PRICES_DIR / "aws-us-east-1.json").read_text())
    document["prices"] = {k: document["prices"][k] for k in keys}
    path = tmp_path / "aws-us-east-1.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def test_the_documented_cli_example_response_is_read_as_aws_wrote_it():
    from botocore.stub import Stubber

    example = fixture("aws-cli-docs-example.json")
    client = stubbed_client()
    with Stubber(client) as stub:
        stub.add_response("get_products", example["response"], example["request"])
        page = client.get_products(**example["request"])
    found = refresh.extract_price([json.loads(item) for item in page["PriceList"]], "GB-Mo")
    assert (found.usd, found.sku) == (0.138, "3MKHN58N7RDDVGKJ")
    assert found.source == "AWS Price List: AmazonEC2 SKU 3MKHN58N7RDDVGKJ, published 2018-08-08"


def test_a_refresh_shows_the_difference_rewrites_the_value_and_records_the_confirmation(tmp_path: Path, capsys):
    from botocore.stub import Stubber

    path = small_catalogue(tmp_path, ["ec2.instance.m7i.large", "codebuild.general1.small", "waf.web-acl"])
    confirmations = tmp_path / "confirmations.json"
    client = stubbed_client()
    with Stubber(client) as stub:
        stub.add_response("get_products", fixture("ec2-m7i-large.json")["response"],
                          expected(refresh.query_for("ec2.instance.m7i.large", "us-east-1")))
        stub.add_response("get_products", fixture("codebuild-general1-small.json")["response"],
                          expected(refresh.query_for("codebuild.general1.small", "us-east-1")))
        result = refresh.refresh_region(refresh.ApiSource(client), path, dry_run=False, today="2026-12-01",
                                        confirmations_path=confirmations)
        stub.assert_no_pending_responses()
    assert "us-east-1 ec2.instance.m7i.large: 0.1008 -> 0.105 (+4.2%)" in capsys.readouterr().out
    prices = json.loads(path.read_text())["prices"]
    assert prices["ec2.instance.m7i.large"]["usd"] == 0.105 and prices["ec2.instance.m7i.large"]["date"] == "2026-12-01"
    assert prices["ec2.instance.m7i.large"]["source"] == "https://aws.amazon.com/ec2/pricing/on-demand/"
    assert prices["waf.web-acl"]["date"] != "2026-12-01"  # no query: left as committed and listed
    assert [line for line in result.kept if "waf.web-acl" in line]
    record = json.loads(confirmations.read_text())["regions"]["us-east-1"]
    assert set(record) == {"ec2.instance.m7i.large", "codebuild.general1.small"}
    assert record["codebuild.general1.small"] == {"method": "price-list-api", "date": "2026-12-01", "usd": 0.005,
                                                  "sku": "SHAPEDCODEBUILD01", "offer": "AWSCodeBuild"}


def test_a_dry_run_writes_nothing(tmp_path: Path):
    from botocore.stub import Stubber

    path = small_catalogue(tmp_path, ["ec2.instance.m7i.large"])
    before = path.read_text()
    client = stubbed_client()
    with Stubber(client) as stub:
        stub.add_response("get_products", fixture("ec2-m7i-large.json")["response"],
                          expected(refresh.query_for("ec2.instance.m7i.large", "us-east-1")))
        refresh.refresh_region(refresh.ApiSource(client), path, dry_run=True, today="2026-12-01",
                               confirmations_path=tmp_path / "confirmations.json")
    assert path.read_text() == before and not (tmp_path / "confirmations.json").exists()


def test_every_page_of_a_paginated_answer_is_read():
    from botocore.stub import Stubber

    query = refresh.query_for("vpc.nat.data", "us-east-1")
    first, second = fixture("nat-gateway-two-pages.json")["pages"]
    client = stubbed_client()
    with Stubber(client) as stub:
        stub.add_response("get_products", first, expected(query))
        stub.add_response("get_products", second, expected(query, "shaped-page-2"))
        products = refresh.ApiSource(client).products(query)
    assert refresh.extract_price(products, "GB").sku == "SHAPEDNATBYTES01"  # on the second page
    assert refresh.extract_price(products, "Hrs").sku == "SHAPEDNATHOURS01"


def test_the_offer_file_fallback_filters_and_reshapes_like_the_api():
    offer = fixture("offer-file-codebuild.json")["offer"]
    urls: list[str] = []
    source = refresh.OfferFileSource("us-east-1", fetch=lambda url: urls.append(url) or offer)
    small = refresh.extract_price(source.products(refresh.query_for("codebuild.general1.small", "us-east-1")), None)
    medium = refresh.extract_price(source.products(refresh.query_for("codebuild.general1.medium", "us-east-1")), None)
    assert (small.usd, small.sku, medium.usd) == (0.006, "SHAPEDCBSMALL", 0.01)
    assert urls == ["https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AWSCodeBuild/current/us-east-1/index.json"]


def test_the_ci_runner_codebuild_prices_are_covered():
    keys = [k for k in json.loads((refresh.PRICES_DIR / "aws-us-east-1.json").read_text())["prices"]
            if k.startswith("codebuild.")]
    assert keys and all(refresh.query_for(k, "us-east-1") is not None for k in keys)


def test_the_catalogue_says_honestly_that_nothing_is_confirmed_yet():
    from agent_costing import default_catalogue
    from agent_costing.confirmations import confirmation_summary, load_confirmations

    committed = load_confirmations()
    assert all(not entries for entries in committed.values())  # no AWS access when the catalogue was written
    total = sum(len(default_catalogue().keys(r)) for r in default_catalogue().regions)
    assert confirmation_summary(default_catalogue(), committed).startswith(f"none of the {total} AWS entries")


def test_a_confirmation_counts_only_while_the_price_is_unchanged(tmp_path: Path):
    from agent_costing import default_catalogue
    from agent_costing.confirmations import confirmation_summary, load_confirmations

    current = default_catalogue().price("us-east-1", "vpc.nat.hour").usd
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"regions": {"us-east-1": {
        "vpc.nat.hour": {"method": "price-list-api", "date": "2026-12-01", "usd": current},
        "vpc.nat.data": {"method": "offer-file", "date": "2026-11-30", "usd": 99.0}}}}))
    text = confirmation_summary(default_catalogue(), load_confirmations(path))
    total = sum(len(default_catalogue().keys(r)) for r in default_catalogue().regions)
    assert text == f"1 of the {total} AWS entries confirmed against AWS price data on 2026-12-01"


# -- DocumentDB and OpenSearch Service (offers AmazonDocDB / AmazonES, as infracost queries them) --

def shaped_offer(code: str, products: list[tuple[str, dict[str, str], str, str]]) -> dict[str, Any]:
    """An offer file shaped like AWS's: products keyed by SKU, on-demand terms keyed by SKU then offer term."""
    offer: dict[str, Any] = {"offerCode": code, "publicationDate": "2026-11-20T10:00:00Z", "products": {},
                             "terms": {"OnDemand": {}}}
    for sku, attributes, family, usd in products:
        offer["products"][sku] = {"sku": sku, "productFamily": family, "attributes": attributes}
        offer["terms"]["OnDemand"][sku] = {f"{sku}.JRTCKXETXF": {"priceDimensions": {
            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "beginRange": "0", "endRange": "Inf",
                                             "pricePerUnit": {"USD": usd}}}}}
    return offer


def test_document_db_and_opensearch_instance_keys_query_their_offers():
    docdb = refresh.query_for("docdb.db.r6g.large", "us-west-2")
    assert (docdb.service_code, docdb.unit) == ("AmazonDocDB", "Hrs")
    assert docdb.terms == {"regionCode": "us-west-2", "productFamily": "Database Instance",
                           "instanceType": "db.r6g.large"}
    search = refresh.query_for("opensearch.m6g.large.search", "us-east-1")
    assert (search.service_code, search.unit) == ("AmazonES", "Hrs")
    assert search.terms["instanceType"] == "m6g.large.search"
    assert search.terms["productFamily"] == "Amazon OpenSearch Service Instance"
    assert refresh.query_for("opensearch.storage.gp3", "us-east-1").service_code == "AmazonES"
    assert refresh.query_for("docdb.storage", "us-east-1") is None  # I/O-Optimized storage shares its usage text


def test_every_document_db_and_opensearch_instance_in_the_catalogue_has_a_query():
    for region in ("us-east-1", "us-west-2"):
        keys = [k for k in json.loads((refresh.PRICES_DIR / f"aws-{region}.json").read_text())["prices"]
                if k.startswith(("docdb.db.", "opensearch.")) and not k.startswith("opensearch.storage.")]
        assert keys and all(refresh.query_for(k, region) is not None for k in keys)


def test_the_document_db_query_takes_standard_storage_not_io_optimized():
    offer = shaped_offer("AmazonDocDB", [
        ("SHAPEDDOCSTD", {"regionCode": "us-east-1", "instanceType": "db.r6g.large",
                          "usagetype": "InstanceUsage:db.r6g.large"}, "Database Instance", "0.2500000000"),
        ("SHAPEDDOCIOO", {"regionCode": "us-east-1", "instanceType": "db.r6g.large",
                          "usagetype": "InstanceUsageIOOptimized:db.r6g.large"}, "Database Instance", "0.2800000000"),
        ("SHAPEDDOCT4G", {"regionCode": "us-east-1", "instanceType": "db.t4g.medium",
                          "usagetype": "InstanceUsage:db.t4g.medium"}, "Database Instance", "0.0700000000"),
    ])
    source = refresh.OfferFileSource("us-east-1", fetch=lambda url: offer)
    found = refresh.extract_price(source.products(refresh.query_for("docdb.db.r6g.large", "us-east-1")), "Hrs")
    assert (found.usd, found.sku, found.offer) == (0.25, "SHAPEDDOCSTD", "AmazonDocDB")


def test_the_opensearch_query_takes_the_data_node_hour_of_its_instance_type():
    family = "Amazon OpenSearch Service Instance"
    offer = shaped_offer("AmazonES", [
        ("SHAPEDESR6G", {"regionCode": "us-west-2", "instanceType": "r6g.large.search",
                         "usagetype": "USW2-ESInstance:r6g.large"}, family, "0.1700000000"),
        ("SHAPEDESM6G", {"regionCode": "us-west-2", "instanceType": "m6g.large.search",
                         "usagetype": "USW2-ESInstance:m6g.large"}, family, "0.1300000000"),
    ])
    urls: list[str] = []
    source = refresh.OfferFileSource("us-west-2", fetch=lambda url: urls.append(url) or offer)
    found = refresh.extract_price(source.products(refresh.query_for("opensearch.r6g.large.search", "us-west-2")),
                                  "Hrs")
    assert (found.usd, found.sku) == (0.17, "SHAPEDESR6G")
    assert urls == ["https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonES/current/us-west-2/index.json"]


def test_document_db_and_opensearch_prices_say_what_they_were_read_from():
    from agent_costing import default_catalogue

    catalogue = default_catalogue()
    for region in ("us-east-1", "us-west-2"):
        for key in catalogue.keys(region):
            if key.startswith(("docdb.", "opensearch.")):
                price = catalogue.price(region, key)
                assert price.via.startswith("https://") or "UNCONFIRMED" in price.note, (region, key)
    confirmed = catalogue.price("us-east-1", "docdb.db.t3.medium")
    assert confirmed.usd == 0.078 and "infracost" in confirmed.via  # 730 h = $56.94 in infracost's golden test
