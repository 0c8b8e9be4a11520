"""One stack's estimate per line, and before/after per line against a baseline.

    python -m planning.cost.compare dev                          # dev now vs dev on branch main (the default base)
    python -m planning.cost.compare dev --set runtime=eks        # dev with an override vs dev as committed
    python -m planning.cost.compare prod --base out/prod.json    # prod now vs a saved `python -m planning --json`
    python -m planning.cost.compare dev --base-ref v1.4.0 --markdown out/dev-cost.md
    python -m planning.cost.compare dev --no-base                # just the estimate per line

The new side is always the stack as this tree plans it, with the ``--set`` overrides. The baseline is, in
order: ``--base FILE`` (a saved plan or its ``cost`` section); else, when ``--set`` is given, the same stack
without the overrides; else the stack planned by the tree at ``--base-ref`` (default ``main``: the committed
code and stack file there, exported with ``git archive`` and planned by its own planner in a subprocess, so
a profile change made on a branch shows line by line against what is deployed from main). A baseline that
cannot be produced (no git, no such ref, a base tree that does not plan) is reported and the estimate is
shown alone.

Lines are matched by resource URN and item, so a renamed resource shows as one line removed and one added.
The LLM estimate (tokens at catalogue prices, ``cost.llm``) is printed apart from the AWS lines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planning.cost.diff import line_changes, resource_of, signed, stack_section, usd
from planning.engine import ROOT, STACKS

DEFAULT_REF = "main"
COMMAND = "python -m planning.cost.compare"

Cost = Mapping[str, Any]


@dataclass(frozen=True)
class Baseline:
    """The estimate to compare with and where it came from; ``cost`` is None when it could not be made."""

    label: str
    cost: Cost | None
    problem: str = ""


def estimate_json(stack: str, paths: Mapping[str, Any] | None = None) -> Cost:
    """This tree's estimate of ``stack`` with dotted ``paths`` overrides, as ``python -m planning --json`` has it."""
    from planning import cost_report
    from planning.engine import run_program, with_paths

    overrides = with_paths(stack, dict(paths or {}))
    return cost_report.stack_report(run_program(stack, overrides), overrides).to_json()


def from_file(path: Path) -> Baseline:
    document = json.loads(path.read_text())
    cost = document.get("cost") if "cost" in document else document
    if not isinstance(cost, Mapping) or "lines" not in cost:
        return Baseline(str(path), None, f"{path} has no cost estimate (write one with python -m planning --json)")
    return Baseline(str(path), cost)


def from_ref(stack: str, ref: str, root: Path = ROOT) -> Baseline:
    """``stack`` estimated by the tree at git ``ref``: exported to a temporary directory and planned there."""
    label = f"{stack} at {ref}"
    try:
        archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", ref],
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.decode().strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        return Baseline(label, None, f"cannot export {ref!r} with git archive: {detail}")
    with tempfile.TemporaryDirectory(prefix="cost-base-") as tmp:
        tree = Path(tmp)
        archive_path = tree / "tree.tar"
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(tree / "src", filter="data")
        out = tree / "plan.json"
        # The base tree's own pack and estimator, not the installed (editable) ones of this tree.
        env = {**os.environ, "PYTHONPATH": str(tree / "src" / "policies")}
        done = subprocess.run([sys.executable, "-m", "planning", "--stack", stack, "--quiet", "--no-review",
                               "--json", str(out)], cwd=tree / "src", env=env, capture_output=True, text=True)
        if not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return Baseline(label, None, f"the tree at {ref} did not plan {stack}: {tail[0]}")
        found = from_file(out)
        return Baseline(label, found.cost, found.problem)


def render(stack: str, head: Cost, base: Baseline | None) -> str:
    """The estimate per line grouped by component, with base and difference columns when there is a base."""
    has_base = base is not None and base.cost is not None
    title = f"Estimated monthly cost of stack {stack}: {usd(head['totalMonthlyUsd'])}"
    if has_base:
        assert base is not None and base.cost is not None
        before_total = float(base.cost["totalMonthlyUsd"])
        title += f" (base {base.label}: {usd(before_total)}, {signed(head['totalMonthlyUsd'] - before_total)})"
    out = [title]
    if base is not None and base.cost is None:
        out.append(f"  no baseline: {base.problem}")
    if head.get("budgetUsd") is not None:
        out.append(f"  AWS budget {usd(head['budgetUsd'])}: "
                   + ("within budget" if head["totalMonthlyUsd"] <= head["budgetUsd"] else "OVER BUDGET"))
    before = {(ln["urn"], ln["item"]): float(ln["monthlyUsd"]) for ln in (base.cost or {}).get("lines", [])} \
        if has_base and base is not None else {}
    columns = f"{'base':>10} {'new':>10} {'change':>11}" if has_base else f"{'monthly':>10}"
    out += ["", f"  {'component / resource: item':<70} {columns}"]
    by_component: dict[str, list[Mapping[str, Any]]] = {}
    for line in head.get("lines", []):
        by_component.setdefault(line["component"], []).append(line)
    removed = [(k, b) for k, b, h in line_changes(base.cost, head) if h == 0.0] if has_base and base else []
    comp_base = (base.cost or {}).get("components", {}) if has_base and base else {}
    components = sorted(set(by_component) | set(comp_base),
                        key=lambda c: (-head.get("components", {}).get(c, 0.0), c))
    for comp in components:
        now = head.get("components", {}).get(comp, 0.0)
        if has_base:
            was = comp_base.get(comp, 0.0)
            out.append(f"  {comp:<70} {usd(was):>10} {usd(now):>10} {signed(now - was):>11}")
        else:
            out.append(f"  {comp:<70} {usd(now):>10}")
        for line in sorted(by_component.get(comp, []), key=lambda ln: (-ln["monthlyUsd"], ln["resource"])):
            label = f"    {resource_of(line['urn'])}: {line['item']}"[:72]
            if has_base:
                was = before.get((line["urn"], line["item"]), 0.0)
                out.append(f"  {label:<70} {usd(was):>10} {usd(line['monthlyUsd']):>10} "
                           f"{signed(line['monthlyUsd'] - was):>11}")
            else:
                out.append(f"  {label:<70} {usd(line['monthlyUsd']):>10}")
    if removed:
        out += ["", "  lines only in the base:"]
        out += [f"    {resource_of(urn)}: {item}: {usd(was)}" for (urn, item), was in removed]
    llm = head.get("llm")
    if llm:
        out += ["", f"  LLM tokens (not on the AWS bill): {usd(llm['totalMonthlyUsd'])}/month"
                + (f" of {usd(llm['budgetUsd'])} LLM budget" if llm.get("budgetUsd") else "")]
        base_llm = (base.cost or {}).get("llm") if has_base and base else None
        if base_llm:
            out[-1] += f" (base {usd(base_llm['totalMonthlyUsd'])})"
        for line in llm.get("lines", []):
            out.append(f"    {line['service']}: {line['model']} {usd(line['monthlyUsd']):>10}")
    return "\n".join(out) + "\n"


def baseline_for(stack: str, args: argparse.Namespace, paths: Mapping[str, Any]) -> Baseline | None:
    if args.no_base:
        return None
    if args.base:
        return from_file(args.base)
    if paths and not args.base_ref:
        return Baseline(f"{stack} as committed", estimate_json(stack))
    return from_ref(stack, args.base_ref or DEFAULT_REF)


def main(argv: list[str] | None = None) -> int:
    from planning.cli import _parse_set

    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", choices=STACKS)
    parser.add_argument("--set", action="append", default=[], metavar="PATH=JSON",
                        help="override a config value of the new side (dotted path, as python -m planning --set)")
    base = parser.add_mutually_exclusive_group()
    base.add_argument("--base", type=Path, metavar="FILE", help="baseline: a saved python -m planning --json file")
    base.add_argument("--base-ref", metavar="REF", help=f"baseline: the stack planned by git REF (default "
                                                        f"{DEFAULT_REF} unless --set is given)")
    base.add_argument("--no-base", action="store_true", help="no baseline: the estimate per line only")
    parser.add_argument("--json", action="store_true", help="print {stack, base, head} as JSON")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the PR-style Markdown diff")
    args = parser.parse_args(argv)
    from config import ConfigError

    paths = _parse_set(args.set)
    try:
        head = estimate_json(args.stack, paths)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    baseline = baseline_for(args.stack, args, paths)
    if args.json:
        print(json.dumps({"stack": args.stack, "head": head,
                          "base": None if baseline is None else {"label": baseline.label, "cost": baseline.cost,
                                                                 "problem": baseline.problem or None}},
                         indent=2, default=str))
    else:
        print(render(args.stack, head, baseline), end="")
    if args.markdown:
        text = "\n".join(stack_section(args.stack, baseline.cost if baseline else None, head, top=20)) + "\n"
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
