"""The offline plan/review command: what `pulumi preview --policy-pack policies` would show, with no cloud.

    python -m planning --stack prod                      # one screen: verdict, counts, cost, top findings
    python -m planning --stack prod --tree               # every resource, cost line and finding
    python -m planning --stack prod --html out/prod.html # the reviewer's page (--base main.json: what changed)
    python -m planning --stack prod --json out/prod.json --sarif out/prod.sarif
    python -m planning --stack dev --set cluster.publicAccessCidrs='["0.0.0.0/0"]'   # try a change

Exit status: 0 clean, 1 a mandatory policy is violated, 2 the config is invalid.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from config import ConfigError
from planning import gc_settings
from planning.engine import STACKS, environment_stand_ins, run_program, with_paths
from planning.model import Plan, PlannedResource, mask_secrets, plan_from_json, resource_to_json


def _parse_set(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        path, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects path=value, got {item!r}")
        try:
            out[path] = json.loads(raw)
        except json.JSONDecodeError:
            out[path] = raw
    return out


def render_tree(plan: Plan) -> str:
    """Resources as a tree under their components, then counts per component and type."""
    children: dict[str | None, list[PlannedResource]] = defaultdict(list)
    urns = {r.urn for r in plan}
    for res in plan:
        children[res.parent if res.parent in urns else None].append(res)

    lines: list[str] = []

    def walk(res: PlannedResource, depth: int) -> None:
        flags = "".join([" [protect]" if res.protect else "", " [retain]" if res.retain_on_delete else ""])
        lines.append(f"{'  ' * depth}{res.name}  ({res.type}){flags}")
        for child in children.get(res.urn, []):
            walk(child, depth + 1)

    for root in children[None]:
        walk(root, 0)

    by_component: dict[str, Counter[str]] = defaultdict(Counter)
    for res in plan:
        if res.custom:
            by_component[plan.component_label(res)][res.type] += 1
    lines.append("")
    lines.append(f"Stack {plan.stack}: {sum(1 for r in plan if r.custom)} resources "
                 f"in {len(by_component)} components")
    for component, counts in sorted(by_component.items()):
        lines.append(f"  {component}: {sum(counts.values())}")
        for type_, count in sorted(counts.items()):
            lines.append(f"    {count:4d}  {type_}")
    return "\n".join(lines)


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "stack": plan.stack,
        # Everything the policy server receives (property dependencies, providers, options), so that
        # `--review-plan` of this file gives the review of the live plan.
        "resources": [resource_to_json(r) for r in plan],
        "counts": dict(sorted(plan.type_counts().items())),
        "outputs": mask_secrets(plan.outputs),
    }


def _review_saved(args: argparse.Namespace) -> int:
    """Review a saved plan: the stack's policy config applied to the resources the file records."""
    from planning import review as policy_review

    document = json.loads(args.review_plan.read_text())
    plan = plan_from_json(document)
    result = policy_review.review(plan, policy_review.load_policy_config(plan.stack))
    print(policy_review.render_text(result))
    if args.sarif:
        from planning import sarif

        sarif.write_sarif(result, args.sarif)
        print(f"SARIF written to {args.sarif}")
    if args.html:
        from planning.report import load_document, write_report

        document["review"] = result.to_json()  # this review, not the one the file was saved with
        write_report(document, args.html, base=load_document(args.base) if args.base else None)
        print(f"report written to {args.html}")
    return 1 if result.mandatory else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m planning", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", choices=STACKS, help="stack file Pulumi.<stack>.yaml to plan")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=JSON",
                        help="override a config value for this run (dotted path into the stack config)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the plan (and review) as JSON")
    parser.add_argument("--sarif", type=Path, metavar="FILE", help="write policy results as SARIF 2.1.0")
    parser.add_argument("--manifests", type=Path, metavar="DIR", help="write Kubernetes objects as YAML")
    parser.add_argument("--no-review", action="store_true", help="plan only, skip the policy review")
    parser.add_argument("--review-plan", type=Path, metavar="FILE",
                        help="review a plan saved with --json instead of planning the program")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="write one self-contained HTML report (verdict, findings, cost, graph, resources)")
    parser.add_argument("--base", type=Path, metavar="FILE",
                        help="with --html: a plan saved with --json to compare against (what this change does)")
    parser.add_argument("--tree", action="store_true",
                        help="print the resource tree, every cost line and every finding instead of the summary")
    parser.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.base and not args.html:
        raise SystemExit("--base compares against a saved plan in the HTML report: give --html FILE too")
    if args.review_plan:
        return _review_saved(args)
    from planning.report.progress import step

    base = None
    if args.base:
        from planning.report import load_document

        base = load_document(args.base)
    started = time.perf_counter()
    try:
        with step(f"planning stack {args.stack} under the mock engine", enabled=not args.quiet):
            overrides = with_paths(args.stack, _parse_set(args.set))
            plan = run_program(args.stack, overrides)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    planned = time.perf_counter() - started
    gc_settings.plan_made()
    for stand_in in environment_stand_ins(args.stack, overrides):
        print(f"note: {stand_in.note()}", file=sys.stderr)
    document = plan_json(plan)

    from planning import cost_report

    estimate = cost_report.stack_report(plan, overrides)
    document["cost"] = estimate.to_json()

    status = 0
    result = None
    if not args.no_review:
        from planning import review as policy_review

        with step(f"reviewing {len(plan)} resources against the policy pack", enabled=not args.quiet):
            result = policy_review.review(plan, policy_review.load_policy_config(args.stack))
        document["review"] = result.to_json()
        status = 1 if result.mandatory else 0

    if args.tree:
        print(render_tree(plan))
        print(f"\nplanned in {planned:.2f}s under the mock engine")
        print("\n" + cost_report.render_text(estimate))
        if result is not None:
            from planning import review as policy_review

            print("\n" + policy_review.render_text(result))
    else:
        from planning.report.summary import render_summary

        print(render_summary(document, planned))

    if args.sarif and result is not None:
        from planning import sarif

        sarif.write_sarif(result, args.sarif)
        print(f"SARIF written to {args.sarif}")

    if args.manifests:
        from planning.manifests import write_manifests

        written = write_manifests(plan, args.manifests)
        print(f"{len(written)} Kubernetes manifests written to {args.manifests}")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
        print(f"plan written to {args.json}")
    if args.html:
        from planning.report import write_report

        write_report(document, args.html, base=base)
        print(f"report written to {args.html}")
    return status
