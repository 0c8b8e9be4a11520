"""The committed stack files share one account: budgets must then count only their own stack."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import yaml

from tests.harness import STACKS, plan

ROOT = Path(__file__).resolve().parents[1]


def _accounts(stack: str) -> set[str]:
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    return set(re.findall(r"arn:aws:iam::(\d{12}):role/", text))


def test_stacks_sharing_an_account_scope_their_budgets_by_stack_tag():
    stacks_by_account: dict[str, set[str]] = defaultdict(set)
    for stack in STACKS:
        for account in _accounts(stack):
            stacks_by_account[account].add(stack)
    shared = {s for stacks in stacks_by_account.values() if len(stacks) > 1 for s in stacks}
    for stack in shared:
        cfg = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert cfg.get("agent-platform:observability", {}).get("budgetScope") == "stackTag", stack
        budget = plan(stack).one("aws:budgets/budget:Budget").props
        # pulumi-aws budgets.Budget docs: TagKeyValue values are "user:<tag key>$<tag value>".
        assert budget["costFilters"] == [{"name": "TagKeyValue", "values": [f"user:stack${stack}"]}], stack
