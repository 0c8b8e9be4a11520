"""Monthly cost difference per stack between two planner outputs (base branch vs pull request), as Markdown.

Reads ``<dir>/<stack>.json`` written by ``python -m planning --json`` in each tree; the PR workflow comments the
result. A stack the base tree could not plan shows its PR estimate with "no base estimate" instead of failing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

STACKS = ("dev", "staging", "prod", "prod-dr")
TOP_LINES = 5


def _cost(directory: Path, stack: str) -> Mapping[str, Any] | None:
    path = directory / f"{stack}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text()).get("cost")


def _usd(value: float) -> str:
    return f"{'+' if value > 0 else '-' if value < 0 else '±'}${abs(value):,.2f}"


def _line_key(line: Mapping[str, Any]) -> tuple[str, str]:
    return line["urn"], line["item"]


def stack_section(stack: str, base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> list[str]:
    if head is None:
        return [f"### {stack}", "", "The pull request's tree did not produce an estimate for this stack.", ""]
    total = head["totalMonthlyUsd"]
    if base is None:
        return [f"### {stack}: ${total:,.2f}/month (no base estimate)", ""]
    delta = total - base["totalMonthlyUsd"]
    out = [f"### {stack}: ${total:,.2f}/month ({_usd(delta)})", ""]
    comps = sorted(set(base["components"]) | set(head["components"]))
    changed = [(c, head["components"].get(c, 0.0) - base["components"].get(c, 0.0)) for c in comps]
    changed = [(c, d) for c, d in changed if abs(d) >= 0.005]
    if not changed:
        return [*out, "No change.", ""]
    out += ["| Component | Base | PR | Difference |", "|---|---:|---:|---:|"]
    for comp, diff in sorted(changed, key=lambda cd: -abs(cd[1])):
        out.append(f"| {comp} | ${base['components'].get(comp, 0.0):,.2f} | ${head['components'].get(comp, 0.0):,.2f} "
                   f"| {_usd(diff)} |")
    before = {_line_key(ln): ln["monthlyUsd"] for ln in base["lines"]}
    after = {_line_key(ln): ln["monthlyUsd"] for ln in head["lines"]}
    lines = [(k, after.get(k, 0.0) - before.get(k, 0.0)) for k in set(before) | set(after)]
    lines = sorted((kd for kd in lines if abs(kd[1]) >= 0.005), key=lambda kd: (-abs(kd[1]), kd[0]))[:TOP_LINES]
    out += ["", "Largest line changes:", ""]
    out += [f"- `{urn.rsplit('::', 1)[-1]}` {item}: {_usd(diff)}" for (urn, item), diff in lines]
    return [*out, ""]


def render(base_dir: Path, head_dir: Path, stacks: Sequence[str] = STACKS) -> str:
    out = ["## Estimated monthly cost (offline estimate, list prices)", ""]
    for stack in stacks:
        out += stack_section(stack, _cost(base_dir, stack), _cost(head_dir, stack))
    out.append("Usage assumptions and prices: docs/cost.md. Computed by `python -m planning.cost_diff`.")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m planning.cost_diff <base dir> <pr dir>", file=sys.stderr)
        return 2
    sys.stdout.write(render(Path(args[0]), Path(args[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
