"""docs/teardown.md lists, per stack, what `pulumi destroy` meets, generated from the plans and kept current."""

from __future__ import annotations

import re

from planning import teardown
from tests.harness import plan


def test_the_committed_teardown_list_is_the_generated_one():
    text = teardown.DOC.read_text()
    assert teardown.render_file(text, plan) == text, f"docs/teardown.md is stale: run `{teardown.COMMAND}`"


def _bullets(stack: str) -> dict[str, str]:
    lines = teardown.stack_section(plan(stack))
    return {re.match(r"- \*\*(.+?)\*\*", line)[1]: line for line in lines}


def test_dev_is_destroyable_and_prod_keeps_its_data():
    dev, prod = _bullets("dev"), _bullets("prod")
    assert "Protected" not in dev and "Deletion protection on" not in dev and "Retained" not in dev
    assert "`data-data`" in dev["Emptied with their contents"]
    assert "`data-postgres`" in prod["Deletion protection on"]
    assert "`data-data`" in prod["Retained"] and "`data-data`" in prod["Must be empty"]
    assert "`agent-platform-prod-postgres-final`" in prod["Final snapshot"]
    assert "compliance mode" in prod["Vault locks"]
