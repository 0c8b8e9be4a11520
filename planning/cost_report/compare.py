"""One stack priced on each runtime, side by side: what choosing ``runtime: vm`` or ``eks`` costs a month.

    python -m planning.cost_report.compare dev            # dev on eks and on vm, totals and per component
    python -m planning.cost_report.compare staging --json

Each runtime is planned offline with ``runtime`` overridden (the stack file is untouched) and priced with
the stack's own region, usage assumptions and budget. A runtime the config refuses (prod on vm) is shown
with the reason instead of a figure.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent_costing import CostReport

from config import ConfigError
from planning.cost_report.estimator import stack_report
from planning.engine import STACKS, run_program, with_paths
from planning.model import Plan

RUNTIMES = ("eks", "vm")

PlanOf = Callable[[str, Mapping[str, Any]], Plan]


def _run(stack: str, paths: Mapping[str, Any]) -> Plan:
    return run_program(stack, with_paths(stack, dict(paths)))


@dataclass(frozen=True)
class RuntimeCost:
    """A stack's estimate on one runtime, or why that runtime cannot be planned for it."""

    runtime: str
    report: CostReport | None
    refused: str | None = None


def compare(stack: str, runtimes: Sequence[str] = RUNTIMES, plan_of: PlanOf | None = None) -> list[RuntimeCost]:
    """``stack`` planned and priced once per runtime (``plan_of`` lets tests reuse cached plans)."""
    plan_of = plan_of or _run
    out = []
    for runtime in runtimes:
        paths = {"runtime": runtime}
        try:
            result = plan_of(stack, paths)
        except ConfigError as exc:
            out.append(RuntimeCost(runtime, None, str(exc)))
            continue
        out.append(RuntimeCost(runtime, stack_report(result, with_paths(stack, paths))))
    return out


def render(stack: str, costs: Sequence[RuntimeCost]) -> str:
    """Totals per runtime, then each component's cost on each runtime."""
    width = max(len(c.runtime) for c in costs)
    out = [f"Estimated monthly cost of stack {stack} by runtime (on-demand list prices, 730 h/month)"]
    for cost in costs:
        if cost.report is None:
            out.append(f"  runtime {cost.runtime:<{width}}  not available: {cost.refused}")
            continue
        report = cost.report
        budget = f" of ${report.budget_usd:,.0f} budget" if report.budget_usd is not None else ""
        unpriced = f", {len(report.unpriced)} part(s) not priced" if report.unpriced else ""
        out.append(f"  runtime {cost.runtime:<{width}}  ${report.total:>10,.2f}{budget}{unpriced}")
    priced = [c for c in costs if c.report is not None]
    if len(priced) > 1:
        names = sorted({n for c in priced for n in c.report.by_component()})  # type: ignore[union-attr]
        out.append("")
        out.append(f"  {'component':<24}" + "".join(f"{c.runtime:>12}" for c in priced))
        for name in names:
            out.append(f"  {name:<24}" + "".join(
                f"{c.report.by_component().get(name, 0.0):>12,.2f}" for c in priced))  # type: ignore[union-attr]
    return "\n".join(out) + "\n"


def as_json(stack: str, costs: Sequence[RuntimeCost]) -> dict[str, Any]:
    return {"stack": stack, "runtimes": {
        c.runtime: ({"refused": c.refused} if c.report is None else
                    {"totalUsd": round(c.report.total, 2), "budgetUsd": c.report.budget_usd,
                     "byComponent": {k: round(v, 2) for k, v in c.report.by_component().items()},
                     "unpriced": len(c.report.unpriced)})
        for c in costs}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planning.cost_report.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", choices=STACKS)
    parser.add_argument("--runtime", action="append", choices=RUNTIMES,
                        help="only these runtimes (repeatable; default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    costs = compare(args.stack, args.runtime or RUNTIMES)
    if args.json:
        print(json.dumps(as_json(args.stack, costs), indent=2))
    else:
        print(render(args.stack, costs), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
