"""Benchmark the offline plan and review: how long a reviewer waits for `make plan STACK=prod`.

    python -m planning.bench --stack prod --runs 5

Reports cold (first run in a fresh process: imports and provider SDK loading) and warm timings.
"""

from __future__ import annotations

import argparse
import statistics
import time

from planning.engine import STACKS, run_program


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planning.bench", description=__doc__)
    parser.add_argument("--stack", default="prod", choices=STACKS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-review", action="store_true")
    parser.add_argument("--preflight", action="store_true", help="also time a preflight against a stubbed account")
    args = parser.parse_args(argv)

    plan_times: list[float] = []
    review_times: list[float] = []
    resources = violations = 0
    for _ in range(args.runs):
        elapsed, plan = _timed(lambda: run_program(args.stack))
        plan_times.append(elapsed)
        resources = len(plan)
        if not args.no_review:
            from planning.review import load_policy_config, review

            config = load_policy_config(args.stack)
            elapsed, result = _timed(lambda plan=plan, config=config: review(plan, config))
            review_times.append(elapsed)
            violations = len(result.mandatory)

    def line(label: str, times: list[float]) -> str:
        warm = times[1:] or times
        return (f"{label:<7} cold {times[0]:6.2f}s   warm median {statistics.median(warm):6.2f}s   "
                f"min {min(warm):6.2f}s   max {max(warm):6.2f}s")

    print(f"stack {args.stack}: {resources} registered resources, {args.runs} runs")
    print(line("plan", plan_times))
    if review_times:
        print(line("review", review_times))
        totals = [p + r for p, r in zip(plan_times, review_times, strict=True)]
        print(line("total", totals))
        print(f"mandatory violations: {violations}")
    if args.preflight:
        from planning.preflight.bench import time_preflight

        times = [time_preflight(plan)[0] for _ in range(args.runs)]
        print(line("preflight", times) + "   (stubbed account)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
