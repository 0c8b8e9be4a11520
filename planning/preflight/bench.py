"""Time a preflight of one plan against a stubbed account and registries (Stubber answers, no network).

Used by ``python -m planning.bench --stack prod --preflight``. The stubbed account is the tests' healthy account
(tests/preflight_stubs.py), so every check does its full work: the time is preflight's own cost, the floor
under what a real account's latency adds.
"""

from __future__ import annotations

import time

from planning.engine import read_stack_config, region_of, runtime_config
from planning.model import Plan
from planning.preflight.facts import gather
from planning.preflight.runner import Result, run


def time_preflight(plan: Plan) -> tuple[float, Result]:
    """Seconds for gathering the plan's facts and running every check, and the result."""
    from tests import preflight_stubs as stubs  # a development tool: the stubs live with the tests

    started = time.perf_counter()
    facts = gather(plan, region_of(runtime_config(plan.stack)[0]), read_stack_config(plan.stack))
    account = stubs.passing(facts)
    # One worker: Stubber answers each client's calls in the order they were queued.
    result = run(facts, account, fetch_url=stubs.chart_indexes(facts), workers=1,
                 registry=stubs.healthy_registry(facts))
    return time.perf_counter() - started, result
