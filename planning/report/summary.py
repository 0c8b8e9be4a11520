"""The terminal answer first: verdict, counts, cost and the top findings on one screen.

The full resource tree and every cost line stay one flag away (``--tree``); everything is also in the JSON
and HTML reports. Built from the same document the JSON report holds, so the three never disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from planning.model import plan_from_json
from planning.review import STACK_LEVEL

TOP_FINDINGS = 6  # with the header and progress lines, the whole answer fits a 30-line terminal
TOP_COMPONENTS = 6


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def verdict_line(document: Mapping[str, Any]) -> str:
    review = document.get("review")
    stack = document["stack"]
    if not review:
        return f"Stack {stack}: NOT REVIEWED (--no-review)"
    s = review["summary"]
    head = "PASS" if s["passed"] else "FAIL"
    why = "no mandatory policy is violated" if s["passed"] else "mandatory policy violations block deployment"
    return (f"Stack {stack}: {head}, {why} ({s['mandatory']} mandatory, {s['advisory']} advisory; "
            f"{s['policies']} policies over {s['resources']} resources)")


def render_summary(document: Mapping[str, Any], planned_seconds: float | None = None) -> str:
    """At most about 25 lines, the verdict first."""
    plan = plan_from_json(document)
    resources = [r for r in plan if r.custom]
    components = Counter(plan.component_label(r) for r in resources)
    components.pop(STACK_LEVEL, None)  # providers registered at the top: resources of no component
    lines = [verdict_line(document),
             f"{len(resources)} resources in {len(components)} components"
             + (f"; planned in {planned_seconds:.2f}s under the mock engine" if planned_seconds is not None else "")]
    cost = document.get("cost")
    if cost:
        lines.append(f"Estimated monthly cost of stack {cost['stack']}: {_usd(cost['totalMonthlyUsd'])} "
                     f"({cost['region']}, on-demand list prices, {cost['hoursPerMonth']} h/month)")
        if cost.get("budgetUsd") is not None:
            used = cost["totalMonthlyUsd"] / cost["budgetUsd"] if cost["budgetUsd"] else 0.0
            state = "within budget" if cost["withinBudget"] else "OVER BUDGET"
            lines.append(f"  Budget {_usd(cost['budgetUsd'])}: {state} ({used:.0%} used)")
        ranked = sorted(cost["components"].items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("  Largest: " + ", ".join(f"{name} ${value:,.0f}" for name, value in ranked[:TOP_COMPONENTS]))
        if cost.get("unpriced"):
            lines.append(f"  {len(cost['unpriced'])} part(s) not priced, not in the total")
        llm = cost.get("llm")
        if llm:
            state = "" if llm.get("budgetUsd") is None else (
                f", LLM budget {_usd(llm['budgetUsd'])}: {'within budget' if llm['withinBudget'] else 'OVER BUDGET'}")
            lines.append(f"  LLM tokens (provider bills, apart from AWS): {_usd(llm['totalMonthlyUsd'])}/month{state}")
    review = document.get("review")
    if review and review["violations"]:
        violations = review["violations"]  # already sorted: mandatory first, then by severity
        lines.append(f"Findings ({min(len(violations), TOP_FINDINGS)} of {len(violations)}):")
        for v in violations[:TOP_FINDINGS]:
            first = (v["message"].splitlines() or [""])[0]
            lines.append(f"  [{v['enforcement']}] {v['policy']}: {v['resourceType']} {v['resourceName']}"
                         f" ({v['component']}, {v['severity'] or 'unspecified'})")
            if first:
                lines.append(f"      {first[:140]}")
    lines.append("More: --tree (every resource, cost line and finding), --html FILE (the reviewer's page), "
                 "--json FILE")
    return "\n".join(lines)
