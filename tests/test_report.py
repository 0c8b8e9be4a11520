"""The reviewer's HTML report, the component graph, the plan diff and the one-screen terminal summary.

The browser test opens the page in headless Chromium (Debian's ``chromium``; `.ci/run` installs it when it
can) and reads the rendered page, not the HTML source: what a reviewer sees is what is asserted.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from planning import cli, cost_report
from planning.cli import plan_json
from planning.model import MASK, SECRET_SIG_KEY, AliasSpec, Plan, plan_from_json
from planning.report import write_report
from planning.report.diff import diff_plans
from planning.report.graph import component_graph, render_svg
from planning.report.progress import step
from planning.report.summary import render_summary
from planning.review import review
from tests.browser import Browser, find_chromium
from tests.harness import plan
from tests.policies.planting import chain, drop, edit, find, set_path

ROOT = Path(__file__).resolve().parent.parent
PLANTED_POLICY = "s3-acls-disabled"
DOCS_IMAGE = ROOT / "docs" / "img" / "plan-report.png"


def _document(result: Plan, *, reviewed: bool = True) -> dict[str, Any]:
    document = plan_json(result)
    document["cost"] = cost_report.stack_report(result).to_json()
    if reviewed:
        document["review"] = review(result).to_json()
    return json.loads(json.dumps(document, default=str))


@pytest.fixture(scope="module")
def planted() -> Plan:
    """dev with one mandatory violation: the data bucket lets object writers own (and ACL) objects."""
    return edit("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "data-data-ownership",
                lambda i: set_path(i, "rule.objectOwnership", "ObjectWriter"))(plan("dev"))


@pytest.fixture(scope="module")
def planted_document(planted: Plan) -> dict[str, Any]:
    return _document(planted)


def _top_level_components(result: Plan) -> set[str]:
    return {r.name for r in result if not r.custom and result.by_urn(r.parent or "") is None}


# --- graph ---------------------------------------------------------------------------------------------------------


def test_the_graph_has_one_node_per_component_and_the_known_dependencies():
    prod = plan("prod")
    graph = component_graph(prod)
    assert set(graph.nodes) == _top_level_components(prod)
    assert {"network", "data", "edge", "cluster"} <= set(graph.nodes)
    # Facts of the architecture: the database sits in the network's subnets under the shared keys' reach,
    # the services read the data tier's secrets, and the network depends on no service.
    assert ("data", "network") in graph.edges and ("service-api", "data") in graph.edges
    assert not any(a == "network" and b.startswith("service") for a, b in graph.edges)


def test_the_svg_draws_every_node_once_and_every_edge_downwards_without_overlaps():
    graph = component_graph(plan("prod"))
    svg = render_svg(graph)
    boxes = {m["name"]: (float(m["x"]), float(m["y"]), float(m["w"])) for m in re.finditer(
        r'<g class="node" data-component="(?P<name>[^"]+)">.*?<rect x="(?P<x>[\d.]+)" y="(?P<y>[\d.]+)" '
        r'width="(?P<w>[\d.]+)"', svg)}
    assert sorted(boxes) == sorted(graph.nodes)
    for a, b in graph.edges:
        assert boxes[a][1] < boxes[b][1], f"{a} depends on {b} but is not drawn above it"
    by_row: dict[float, list[tuple[float, float]]] = {}
    for x, y, w in boxes.values():
        by_row.setdefault(y, []).append((x, x + w))
    for spans in by_row.values():
        spans.sort()
        assert all(left[1] <= right[0] for left, right in itertools.pairwise(spans))
    assert svg.count('<g class="edge"') == len(graph.edges)


# --- diff ----------------------------------------------------------------------------------------------------------


def test_the_diff_names_added_removed_changed_renamed_and_replaced_resources():
    base = plan("dev")
    bucket = find(base, "aws:s3/bucket:Bucket", "data-data")
    key = next(r for r in base if r.type == "aws:kms/alias:Alias" and not base.children(r.urn))
    log_group = next(r for r in base if r.type == "aws:cloudwatch/logGroup:LogGroup" and not base.children(r.urn))
    other_parent = next(r for r in base if not r.custom and r.urn != log_group.parent)

    def rename_with_alias(p: Plan) -> Plan:
        new = dataclasses.replace(key, name=key.name + "-renamed", urn=key.urn + "-renamed",
                                  aliases=(AliasSpec(name=key.name),))
        return Plan(p.stack, [new if r is key else r for r in p.resources], p.outputs)

    def move_without_alias(p: Plan) -> Plan:
        moved = dataclasses.replace(log_group, parent=other_parent.urn,
                                    urn=log_group.urn.replace(log_group.type, "x$" + log_group.type))
        return Plan(p.stack, [moved if r is log_group else r for r in p.resources], p.outputs)

    removed = next(r for r in base if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    current = chain(
        edit(bucket.type, bucket.name, lambda i: set_path(i, "tags.owner", "someone-else")),
        drop(removed.type, removed.name), rename_with_alias, move_without_alias)(base)
    # "added": a resource only the current plan has is the base's removal seen the other way round.
    forward = diff_plans(base, current)
    kinds = {(c.kind, c.name) for c in forward.changes}
    assert ("changed", bucket.name) in kinds
    (change,) = [c for c in forward.changes if c.name == bucket.name]
    assert [(i.path, i.after) for i in change.inputs] == [("tags.owner", "someone-else")]
    assert ("removed", removed.name) in kinds
    assert ("renamed", key.name + "-renamed") in kinds
    assert ("replaced", log_group.name) in kinds
    assert ("added", removed.name) in {(c.kind, c.name) for c in diff_plans(current, base).changes}
    assert len(forward.changes) == 4 and not diff_plans(base, base).changes


def test_the_diff_reports_the_cost_delta_and_new_findings(planted_document):
    base_document = _document(plan("dev"))
    result = diff_plans(plan_from_json(base_document), plan_from_json(planted_document), base_document,
                        planted_document)
    assert [v["policy"] for v in result.new_findings] == [PLANTED_POLICY] and not result.resolved_findings
    assert result.cost_before == result.cost_after == base_document["cost"]["totalMonthlyUsd"]


# --- the page (source level) -------------------------------------------------------------------------------------


def test_the_page_masks_secrets_and_fetches_nothing(planted_document, tmp_path):
    page = write_report(planted_document, tmp_path / "dev.html").read_text()
    assert "mock-secret-value-of" not in page
    wrapped = json.dumps(planted_document["resources"]).count(f'"{SECRET_SIG_KEY}"')
    assert wrapped > 0 and page.count(f"&quot;{MASK}&quot;") >= wrapped
    assert sum(int(n) for n in re.findall(r"(\d+) secrets? masked", page)) == wrapped
    # Links to the docs are navigation; nothing is loaded: no script, stylesheet, image, font or import.
    assert not re.search(r"<script|<link|<img|<iframe|@import|@font-face|url\((?!#)|\ssrc=", page, re.I)


def test_the_page_and_the_summary_show_llm_spend_apart_from_aws(planted_document, tmp_path):
    llm = planted_document["cost"]["llm"]
    page = write_report(planted_document, tmp_path / "dev.html").read_text()
    assert f'<b id="llm-total">${llm["totalMonthlyUsd"]:,.2f}</b>' in page
    assert page.count("<code>anthropic/claude-sonnet-5-5</code>") == len(llm["lines"]) == 2
    assert f"LLM tokens (provider bills, apart from AWS): ${llm['totalMonthlyUsd']:,.2f}/month" in render_summary(
        planted_document, 1.0)


def test_the_cli_refuses_base_without_html():
    with pytest.raises(SystemExit, match="--html"):
        cli.main(["--stack", "dev", "--base", "base.json"])


# --- terminal ------------------------------------------------------------------------------------------------------


def test_the_summary_leads_with_the_verdict_and_fits_one_screen(planted_document):
    text = render_summary(planted_document, 1.0)
    lines = text.splitlines()
    assert lines[0].startswith("Stack dev: FAIL") and "1 mandatory" in lines[0]
    assert len(lines) <= 25 and max(len(line) for line in lines) <= 160
    assert f"[mandatory] {PLANTED_POLICY}: " in text
    total = planted_document["cost"]["totalMonthlyUsd"]
    assert f"Estimated monthly cost of stack dev: ${total:,.2f}" in text


def test_long_steps_report_progress_while_they_run():
    out = io.StringIO()
    with step("planning", stream=out, every=0.05):
        import time

        time.sleep(0.3)
    text = out.getvalue()
    assert text.startswith("... planning\n") and "still planning" in text and "done in" in text


# --- the page in a browser -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip("no Chromium on PATH: the browser test needs Debian's `chromium` package "
                    "(`apt-get install chromium`; .ci/run installs it when it runs as root)")
    return found


def test_the_rendered_page_shows_verdict_violation_cost_and_graph(chromium, planted, planted_document, tmp_path):
    page = write_report(planted_document, tmp_path / "dev.html")
    data_cost = cost_report.stack_report(planted).by_component()["data"]
    with Browser(chromium) as browser:
        browser.open(page)
        verdict = browser.evaluate("document.getElementById('verdict').innerText")
        policies = browser.evaluate(
            "[...document.querySelectorAll('.finding.mandatory .policy')].map(e => e.innerText)")
        data_row = browser.evaluate(
            "document.querySelector('#cost-table tr[data-component=\"data\"] td.usd').innerText")
        nodes = browser.evaluate(
            "[...document.querySelectorAll('#component-graph g.node')].map(g => g.dataset.component)")
        visible = browser.evaluate("document.querySelector('#component-graph').getBoundingClientRect().width > 0")
        requests = browser.requests()
        shot = browser.screenshot(DOCS_IMAGE if os.environ.get("UPDATE_DOCS_IMAGES") else tmp_path / "report.png")
    assert verdict.startswith("FAIL") and "1 mandatory" in verdict
    assert policies == [PLANTED_POLICY]
    assert data_row == f"${data_cost:,.2f}"
    assert sorted(nodes) == sorted(_top_level_components(planted)) and visible
    assert requests == [page.resolve().as_uri()], "the page fetched something besides itself"
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_a_saved_plan_gets_its_page_with_the_changes_against_a_base(planted, tmp_path, capsys):
    base, saved = tmp_path / "base.json", tmp_path / "planted.json"
    base.write_text(json.dumps(_document(plan("dev"), reviewed=False)))
    saved.write_text(json.dumps(_document(planted, reviewed=False)))
    page = tmp_path / "out" / "dev.html"
    assert cli.main(["--review-plan", str(saved), "--html", str(page), "--base", str(base)]) == 1
    assert f"report written to {page}" in capsys.readouterr().out
    text = page.read_text()
    assert f'data-policy="{PLANTED_POLICY}"' in text
    changes = re.findall(r'<details class="change" data-kind="(\w+)"><summary>.*?<code>([^<]+)</code>(.*?)</details>',
                         text, re.S)
    assert [(kind, name) for kind, name, _ in changes] == [("changed", "data-data-ownership")]
    assert "rule.objectOwnership" in changes[0][2] and "ObjectWriter" in changes[0][2]
