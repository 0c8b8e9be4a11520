"""Performance goals as ratios, so a regression fails on any machine (``make bench`` measures the absolute figures).

CPU time of this process, not wall time: a machine shared with other work stretches the wall clock of both sides
of a ratio by different amounts, it hardly changes the work done. Reviews are the best of three interleaved runs:
a busy neighbour slows a run, it never speeds one up. The collector is tuned and the worker's earlier objects
frozen, as in ``python -m planning``, so the time is the review's own (``planning.gc_settings.tuned``).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from planning import cost_report
from planning.bench import FLOOR_PROGRAM, GOALS, PHASES, Measured, Sample, render, replicate
from planning.engine import run_program
from planning.gc_settings import tuned
from planning.review import review
from tests.harness import plan

# Review cost per resource, doubled stack to prod: GOALS.review_per_resource_ratio plus room for a busy machine.
LINEAR_BOUND = GOALS.review_per_resource_ratio + 0.3


def _cpu(fn: Callable[[], Any]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


@pytest.fixture(scope="module")
def timings(monkeypatch_module: pytest.MonkeyPatch) -> dict[str, float]:
    prod = plan("prod")
    doubled = replicate(prod, 2)
    monkeypatch_module.setenv("PLANNING_FLOOR_RESOURCES", str(len(prod.resources)))
    runs: dict[str, list[float]] = {"review": [], "review_doubled": []}
    with tuned():
        for _ in range(3):
            runs["review"].append(_cpu(lambda: review(prod)))
            runs["review_doubled"].append(_cpu(lambda: review(doubled)))
        best = {k: min(v) for k, v in runs.items()}
        best["cost"] = _cpu(lambda: cost_report.stack_report(prod))
        best["floor"] = _cpu(lambda: run_program("prod", program=FLOOR_PROGRAM))
    best["resources"] = len(prod.resources)
    best["resources_doubled"] = len(doubled.resources)
    return best


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_review_time_per_resource_stays_flat_as_the_stack_grows(timings: dict[str, float]) -> None:
    per_resource = timings["review"] / timings["resources"]
    per_resource_doubled = timings["review_doubled"] / timings["resources_doubled"]
    ratio = per_resource_doubled / per_resource
    # Measured 0.95-1.15 on a loaded 2-core machine. A scan of the stack per resource would give 2 here; the bound
    # leaves the noise of a shared machine room below it (the bench checks the 1.2 goal on the 50-service stack).
    assert ratio <= LINEAR_BOUND, (
        f"reviewing twice the resources costs {ratio:.2f}x as much per resource: something scans the stack per "
        "resource again (profile: python -m cProfile -m planning --stack prod --quiet)")


def _calls(fn: Callable[[], Any]) -> int:
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.runcall(fn)
    return pstats.Stats(profile).total_calls


def test_the_review_makes_no_more_calls_per_resource_for_twice_the_stack() -> None:
    """The same question as the timing above, asked of the work instead of the clock: no load can move it.

    Python calls made by one review (the pack, the analyzer server, the conversions), per resource, for prod and
    for prod registered twice: measured 0.91 of prod's calls per resource (the fixed part spreads over more
    resources). Linear work cannot take it above 1, whatever policies are added; one trivial call per other
    resource for each resource (a scan of the stack per resource) took it to 1.09.
    """
    prod = plan("prod")
    doubled = replicate(prod, 2)
    review(prod)  # first-call work (pack and servers built, patterns compiled) is not the review's per resource
    per_resource = _calls(lambda: review(prod)) / len(prod.resources)
    per_resource_doubled = _calls(lambda: review(doubled)) / len(doubled.resources)
    assert per_resource_doubled / per_resource <= 1.0, (
        f"reviewing twice the resources makes {per_resource_doubled / per_resource:.2f}x the calls per resource: "
        "something scans the stack per resource again (profile: python -m cProfile -m planning --stack prod)")


def test_review_and_cost_take_less_than_registering_the_same_resources(timings: dict[str, float]) -> None:
    ratio = (timings["review"] + timings["cost"]) / timings["floor"]
    assert ratio <= GOALS.review_floor_ratio, (
        f"review + cost of prod take {ratio:.2f}x the mock engine's time to register as many plain resources")


def test_only_the_planners_own_process_freezes_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unfrozen, the objects the program leaves were rescanned by every collection of the review: the review of
    1,349 resources took 1.29 s CPU instead of 0.69 s, 1.6x prod's time per resource (planning.gc_settings)."""
    import gc

    from planning import gc_settings

    before = gc.get_freeze_count()
    plan("dev")  # long-lived objects to freeze
    monkeypatch.setattr(gc_settings, "OWN_PROCESS", False)
    gc_settings.plan_made()
    assert gc.get_freeze_count() == before  # a test worker or a library caller keeps its collector as it is
    monkeypatch.setattr(gc_settings, "OWN_PROCESS", True)
    try:
        gc_settings.plan_made()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
        if before:
            gc.freeze()


def test_python_m_planning_is_the_planners_own_process() -> None:
    import subprocess
    import sys

    # Run planning/__main__.py with a main that does nothing; it ends with os._exit, which reports the flag instead.
    probe = "\n".join([
        "import os, runpy, sys",
        "from planning import cli, gc_settings",
        "cli.main = lambda: 0",
        "def report(code):",
        "    print(gc_settings.OWN_PROCESS)",
        "    raise SystemExit(code)",
        "os._exit = report",
        "sys.argv = ['planning']",
        "runpy.run_module('planning', run_name='__main__')",
    ])
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "True", out.stderr


def test_the_table_names_the_interpreter_that_measured_it() -> None:
    """Absolute seconds are only comparable between runs of one interpreter build (Makefile, BASE_PYTHON)."""
    sample = Sample(wall=3.0, cpu=2.9, resources=424, peak_mib=210, status=0,
                    phases={phase: 0.5 for phase in PHASES})
    table = render({"prod": Measured("prod", runs=[sample], floor_runs=[sample])}, runs=1)
    assert f"{platform.python_version()} at {os.path.realpath(sys.executable)}" in table.splitlines()[1]
