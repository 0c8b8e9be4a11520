"""Every blueprint stack file (``blueprints/<system>/Pulumi.<stack>.yaml``) plans, passes its own review and is priced.

Files are discovered, so a new blueprint or environment is covered without editing this module. Each file is
planned, reviewed and priced once for the whole module (``all_planned``); the per-file tests and the README's
generated cost table read those results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from agent_costing import CostReport

from planning import cost_report, policy_config
from planning import review as policy_review
from planning.cost_report.readme_table import BLUEPRINTS_COMMAND, blueprints_region, render_blueprints
from planning.engine import ROOT
from planning.model import Plan
from planning.stacks import StackRef
from tests import harness

BLUEPRINTS = ROOT / "blueprints"
FILES = sorted(BLUEPRINTS.glob("*/Pulumi.*.yaml"))
PROJECT = "agent-platform"


@dataclass(frozen=True)
class Planned:
    ref: StackRef
    config: dict[str, Any]
    plan: Plan
    review: policy_review.Review
    cost: CostReport


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _plan(path: Path) -> Planned:
    ref = StackRef.from_file(path)
    plan = harness.plan_file(path)
    return Planned(ref=ref, config=ref.document()["config"], plan=plan,
                   review=harness.review(plan, policy_config.for_stack(ref)),
                   cost=cost_report.stack_report(plan))


@pytest.fixture(scope="module")
def all_planned() -> dict[Path, Planned]:
    """Lazily filled: each file is planned the first time a test asks for it, and only once in this module."""
    return {}


@pytest.fixture(params=FILES, ids=[_id(f) for f in FILES])
def planned(request, all_planned) -> Planned:
    if request.param not in all_planned:
        all_planned[request.param] = _plan(request.param)
    return all_planned[request.param]


def test_there_is_a_blueprint_for_each_seed_system():
    systems = sorted(p.name for p in BLUEPRINTS.iterdir() if p.is_dir())
    assert [s[:4] for s in systems] == ["000-", "001-", "002-", "003-", "004-"]
    for system in systems:
        assert (BLUEPRINTS / system / "Pulumi.dev.yaml").is_file(), f"{system} has no dev stack file"
        assert (BLUEPRINTS / system / "README.md").is_file(), f"{system} has no README.md"


def test_the_blueprint_plans_with_no_mandatory_violation(planned):
    assert planned.plan.resources
    assert [f"{v.policy}: {v.resource_name}: {v.message}" for v in planned.review.mandatory] == []


def test_the_blueprint_is_priced_within_its_own_budget(planned):
    budget = (planned.config.get(f"{PROJECT}:cost") or {}).get("monthlyBudgetUsd")
    assert planned.cost.total > 0
    assert planned.cost.budget_usd is not None and planned.cost.total <= planned.cost.budget_usd
    if budget is not None:
        assert planned.cost.budget_usd == budget


def test_the_blueprint_runs_as_the_tier_it_declares(planned):
    environment = planned.config[f"{PROJECT}:environment"]
    assert planned.ref.name == environment == planned.ref.path.name.split(".")[1]
    tags = [r.inputs["tags"] for r in planned.plan if isinstance(r.inputs.get("tags"), dict)]
    assert tags and {t["environment"] for t in tags if "environment" in t} == {environment}


def test_the_readme_maps_the_seed_and_names_every_service(planned):
    readme = (planned.ref.path.parent / "README.md").read_text()
    assert "## Requirement to config" in readme and "## Not reproduced" in readme
    assert "seeds/" in readme  # names the seed guide it maps
    for service in planned.config.get(f"{PROJECT}:services") or {}:
        assert service in readme, f"README.md does not mention service {service}"


def test_blueprint_files_parse_as_stack_files():
    for path in FILES:
        document = yaml.safe_load(path.read_text())
        assert set(document) <= {"config", "environment", "secretsprovider", "encryptedkey"}, path


def test_the_readme_lists_every_blueprint_with_its_fresh_monthly_cost(all_planned):
    for path in FILES:
        if path not in all_planned:
            all_planned[path] = _plan(path)
    table = render_blueprints({all_planned[p].ref: all_planned[p].cost for p in FILES})
    committed = blueprints_region((ROOT / "README.md").read_text())
    assert committed == table, f"README.md is stale: run `{BLUEPRINTS_COMMAND}`"
    for path in FILES:
        cost = f"${all_planned[path].cost.total:,.0f}"
        row = next(line for line in table.splitlines() if f"[{path.parent.name}]" in line)
        assert cost in row, f"{_id(path)}: {cost} missing from its README row"


def _stores(config: dict[str, Any]) -> list[str]:
    """The dedicated data stores a stack file configures (beyond PostgreSQL and Redis)."""
    data = config.get(f"{PROJECT}:dataTier") or {}
    observability = config.get(f"{PROJECT}:observability") or {}
    stores = [data["vectorStore"]] if data.get("vectorStore") in ("qdrant", "weaviate") else []
    if (data.get("documentStore") or {}).get("engine") == "documentdb":
        stores.append("documentdb")
    if (observability.get("logSearch") or {}).get("enabled"):
        stores.append("opensearch")
    return stores


STORE_FILES = [f for f in FILES if _stores(yaml.safe_load(f.read_text())["config"])]
# What each store is in the plan (its resource type, or the word its resources are named by), and the ARN pattern of
# the AWS Backup selection that takes its data (None: the service keeps its own snapshots).
STORE_TYPES = {"documentdb": "aws:docdb/cluster:Cluster", "opensearch": "aws:opensearch/domain:Domain"}
BACKED_UP = {"qdrant": ":volume/*", "weaviate": ":volume/*", "documentdb": ":cluster:*", "opensearch": None}
SECRETS = "aws:secretsmanager/"


@pytest.fixture(params=STORE_FILES, ids=[_id(f) for f in STORE_FILES])
def with_stores(request, all_planned) -> Planned:
    if request.param not in all_planned:
        all_planned[request.param] = _plan(request.param)
    return all_planned[request.param]


def test_the_configured_stores_are_planned_priced_and_backed_up(with_stores):
    planned = with_stores
    patterns = [str(p) for s in planned.plan.of_type("aws:backup/selection:Selection")
                for p in s.inputs.get("resources") or []]
    for store in _stores(planned.config):
        if store in STORE_TYPES:
            names = {r.name for r in planned.plan.of_type(STORE_TYPES[store])}
        else:
            names = {r.name for r in planned.plan if store in r.name and not r.type.startswith(SECRETS)}
        assert names, f"{store}: not in the plan"
        # Priced, never silently free: the store's own lines (its volumes, instances, nodes), secrets aside.
        lines = [line for line in planned.cost.lines if not line.type.startswith(SECRETS)
                 and (line.resource in names or store in line.resource or line.component == f"{store}-store")]
        if store in ("qdrant", "weaviate"):
            lines += [line for line in planned.cost.lines if line.component == "vector-store"]
        assert sum(line.monthly_usd for line in lines) > 0, f"{store}: no priced cost line"
        assert not [u for u in planned.cost.unpriced if u.resource in names], f"{store}: part of it is unpriced"
        if BACKED_UP[store]:
            assert any(BACKED_UP[store] in p for p in patterns), f"{store}: not in the backup selection {patterns}"
