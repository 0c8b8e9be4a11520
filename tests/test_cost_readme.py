"""The committed cost table is the generated one: prices or stacks cannot change without regenerating it."""

from __future__ import annotations

from pathlib import Path

import pytest

from planning.cost_report.readme_table import (
    COMMAND,
    END,
    START,
    committed_region,
    render_table,
    replace_region,
    reports,
)
from tests.harness import STACKS, plan

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cost.md"


@pytest.fixture(scope="module")
def table() -> str:
    return render_table(reports(plan_of=plan))


def test_the_committed_cost_table_matches_the_generated_one(table):
    assert committed_region(DOC.read_text()) == table, f"docs/cost.md is stale: run `{COMMAND}`"


def test_the_table_names_every_stack_with_its_total_budget_and_assumptions(table):
    by_stack = reports(plan_of=plan)
    header = table.splitlines()[3]
    assert header == "| | " + " | ".join(STACKS) + " |"
    for report in by_stack.values():
        assert f"**${report.total:,.0f}**" in table
        assert f"${report.budget_usd:,.0f}" in table
    assert "`natDataGb`" in table and "`spotPriceFactor`" in table


def test_only_the_marked_region_is_rewritten():
    text = f"# Title\n\nintro\n\n{START}\nold table\n{END}\n\nafter\n"
    assert replace_region(text, f"{START}\nnew\n{END}\n") == f"# Title\n\nintro\n\n{START}\nnew\n{END}\n\nafter\n"
    with pytest.raises(ValueError, match="region"):
        replace_region("no markers here", "x")
