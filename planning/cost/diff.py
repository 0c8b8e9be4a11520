"""Monthly cost difference between two estimates, as Markdown: per stack, per component, largest changed lines.

    python -m planning.cost.diff base/dev.json head/dev.json                 # two saved `python -m planning --json`
    python -m planning.cost.diff base/out head/out --output cost-diff.md     # two directories of <stack>.json

Each side is either one file written by ``python -m planning --json`` (its ``cost`` section is read; the stack
is the one the file names) or a directory holding ``<stack>.json`` per stack. The Markdown is printed and, with
``--output``, written to a file; the PR workflow comments it. A stack the base could not plan shows its new
estimate with "no base estimate" instead of failing. AWS and LLM spend are reported apart: the LLM estimate
(``cost.llm``) is a usage assumption, not a resource, and has a budget of its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

STACKS = ("dev", "staging", "prod", "prod-dr")
TOP_LINES = 5
COMMAND = "python -m planning.cost.diff"

Cost = Mapping[str, Any]


def _read(path: Path) -> Cost | None:
    if not path.is_file():
        return None
    document = json.loads(path.read_text())
    return document.get("cost") if "cost" in document else document if "totalMonthlyUsd" in document else None


def _cost(directory: Path, stack: str) -> Cost | None:
    return _read(directory / f"{stack}.json")


def usd(value: float) -> str:
    return f"${value:,.2f}"


def signed(value: float) -> str:
    return f"{'+' if value > 0 else '-' if value < 0 else '±'}${abs(value):,.2f}"


def _line_key(line: Mapping[str, Any]) -> tuple[str, str]:
    return line["urn"], line["item"]


def line_changes(base: Cost, head: Cost) -> list[tuple[tuple[str, str], float, float]]:
    """Every priced line whose monthly cost differs: ``((urn, item), base, head)``, largest change first."""
    before = {_line_key(ln): float(ln["monthlyUsd"]) for ln in base.get("lines", [])}
    after = {_line_key(ln): float(ln["monthlyUsd"]) for ln in head.get("lines", [])}
    rows = [(k, before.get(k, 0.0), after.get(k, 0.0)) for k in set(before) | set(after)]
    rows = [r for r in rows if abs(r[2] - r[1]) >= 0.005]
    return sorted(rows, key=lambda r: (-abs(r[2] - r[1]), r[0]))


def resource_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _llm_total(cost: Cost | None) -> float | None:
    llm = (cost or {}).get("llm")
    return None if not llm else float(llm.get("totalMonthlyUsd", 0.0))


def _llm_row(base: Cost | None, head: Cost) -> list[str]:
    after = _llm_total(head)
    if after is None:
        return []
    before = _llm_total(base)
    budget = head["llm"].get("budgetUsd")
    within = f" of {usd(budget)} LLM budget" if budget else ""
    change = f" ({signed(after - before)})" if before is not None else ""
    return [f"LLM tokens (estimate, not on the AWS bill): {usd(after)}/month{within}{change}", ""]


def stack_section(stack: str, base: Cost | None, head: Cost | None, top: int = TOP_LINES) -> list[str]:
    """One stack's Markdown: AWS total and difference, changed components, the largest changed lines, LLM."""
    if head is None:
        return [f"### {stack}", "", "The new tree did not produce an estimate for this stack.", ""]
    total = float(head["totalMonthlyUsd"])
    if base is None:
        return [f"### {stack}: {usd(total)}/month (no base estimate)", "", *_llm_row(None, head)]
    delta = total - float(base["totalMonthlyUsd"])
    out = [f"### {stack}: {usd(total)}/month ({signed(delta)})", ""]
    base_c, head_c = base.get("components", {}), head.get("components", {})
    changed = [(c, head_c.get(c, 0.0) - base_c.get(c, 0.0)) for c in sorted(set(base_c) | set(head_c))]
    changed = [(c, d) for c, d in changed if abs(d) >= 0.005]
    if not changed:
        return [*out, "No change.", "", *_llm_row(base, head)]
    out += ["| Component | Base | New | Difference |", "|---|---:|---:|---:|"]
    for comp, diff in sorted(changed, key=lambda cd: (-abs(cd[1]), cd[0])):
        out.append(f"| {comp} | {usd(base_c.get(comp, 0.0))} | {usd(head_c.get(comp, 0.0))} | {signed(diff)} |")
    out += ["", "Largest line changes:", ""]
    out += [f"- `{resource_of(urn)}` {item}: {usd(b)} -> {usd(h)} ({signed(h - b)})"
            for (urn, item), b, h in line_changes(base, head)[:top]]
    return [*out, "", *_llm_row(base, head)]


def render_pairs(pairs: Sequence[tuple[str, Cost | None, Cost | None]]) -> str:
    out = ["## Estimated monthly cost (offline estimate, list prices)", ""]
    for stack, base, head in pairs:
        out += stack_section(stack, base, head)
    out.append(f"Usage assumptions and prices: docs/cost.md. Computed by `{COMMAND}`.")
    return "\n".join(out) + "\n"


def render(base: Path, head: Path, stacks: Sequence[str] = STACKS) -> str:
    """Two directories of ``<stack>.json`` (every stack in ``stacks``), or two files (the stack they name)."""
    if head.is_file() or base.is_file():
        head_cost = _read(head)
        stack = str((head_cost or _read(base) or {}).get("stack") or head.stem)
        return render_pairs([(stack, _read(base), head_cost)])
    return render_pairs([(s, _cost(base, s), _cost(head, s)) for s in stacks])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", type=Path, help="the base estimate: a planner --json file or a directory of them")
    parser.add_argument("head", type=Path, help="the new estimate, same form as base")
    parser.add_argument("--output", "-o", type=Path, metavar="FILE", help="also write the Markdown to FILE")
    parser.add_argument("--stack", action="append", choices=STACKS, help="with directories: only these stacks")
    args = parser.parse_args(argv)
    if not args.head.exists():
        print(f"{args.head}: no such file or directory", file=sys.stderr)
        return 2
    text = render(args.base, args.head, args.stack or STACKS)
    sys.stdout.write(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
