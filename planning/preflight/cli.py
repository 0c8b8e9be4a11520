"""``python -m planning preflight --stack prod``: check the stack's plan against the live account.

Plans the stack offline first (the same run as ``python -m planning``), then asks AWS (read-only credentials:
docs/preflight-iam-policy.json) and the chart repositories whether what the plan pins is offered, exists and
fits the quotas. Exit status: 0 nothing would fail the deploy, 1 something would, 2 the config is invalid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from planning.engine import STACKS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m planning preflight", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="dev", choices=STACKS)
    parser.add_argument("--set", action="append", default=[], metavar="PATH=JSON",
                        help="override a config value for this run (as python -m planning --set)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the findings as JSON")
    parser.add_argument("--sarif", type=Path, metavar="FILE", help="write failures and skips as SARIF 2.1.0")
    parser.add_argument("--profile", help="AWS named profile (default: the environment's credentials)")
    parser.add_argument("--check", action="append", metavar="NAME", help="run only this check (repeatable)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent checks (default 8)")
    parser.add_argument("--verbose", action="store_true", help="list passing findings too")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check was skipped, too")
    return parser


def main(argv: list[str] | None = None, *, clients: Any = None, fetch_url: Any = None, planner: Any = None,
         registry: Any = None) -> int:
    """``clients``/``fetch_url``/``registry`` replace boto3, HTTP and the image registries (tests pass
    botocore Stubber clients and fakes); ``planner`` replaces ``run_program`` (tests share a cached plan)."""
    from config import ConfigError
    from planning.cli import _parse_set
    from planning.engine import read_stack_config, region_of, run_program, runtime_config, with_paths
    from planning.preflight import facts as plan_facts
    from planning.preflight import report
    from planning.preflight.runner import run

    args = _parser().parse_args(argv)
    try:
        overrides = with_paths(args.stack, _parse_set(args.set))
        plan = (planner or run_program)(args.stack, overrides)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    config, _ = runtime_config(args.stack, overrides)
    raw = read_stack_config(args.stack)
    raw.update({(k if ":" in k else f"agent-platform:{k}"): v for k, v in overrides.items()})
    facts = plan_facts.gather(plan, region_of(config), raw)
    if clients is None:
        from planning.preflight.aws import Boto3Clients

        clients = Boto3Clients(args.profile)
    result = run(facts, clients, fetch_url=fetch_url, workers=args.workers, only=args.check,
                 registry=registry)
    print(report.render_text(result, verbose=args.verbose))
    if args.json:
        report.write_json(result, args.json)
        print(f"findings written to {args.json}")
    if args.sarif:
        report.write_sarif(result, args.sarif)
        print(f"SARIF written to {args.sarif}")
    return 1 if result.failed or (args.strict and result.skipped) else 0


if __name__ == "__main__":
    raise SystemExit(main())


