"""``make test-stats`` accounts for a run's time: plans and reviews made, per file, over every worker."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from config import ConfigError
from tests import harness, suite_stats
from tests.suite_stats import Records, render, summarise


def test_records_of_every_worker_add_up_by_kind_and_by_file():
    first = Records(collection=2.0, total=20.0, tests={"tests/test_a.py::one": 5.0, "tests/test_a.py::two": 1.0},
                    made=[("plan", "tests/test_a.py::one", 3.0, False, 300),
                          ("review", "tests/test_a.py::one", 0.5, False, 0)])
    second = Records(collection=3.0, total=14.0, tests={"tests/test_b.py::three": 9.0},
                     made=[("plan", "tests/test_b.py::three", 4.0, False, 500),
                           ("plan", "tests/test_b.py::three", 0.5, True, 0)])
    controller = Records(total=1.0)
    summary = summarise([first, second, controller])
    assert summary.processes == 2, "xdist's controller runs no test and is not a test process"
    assert (summary.tests, summary.test_cpu, summary.collection_cpu, summary.total_cpu) == (3, 15.0, 5.0, 34.0)
    assert (summary.plans, summary.plan_cpu, summary.plan_resources) == (2, 7.0, 800)
    assert (summary.refused, summary.refused_cpu) == (1, 0.5), "a program stopped by config is no plan"
    assert (summary.reviews, summary.review_cpu) == (1, 0.5)
    assert summary.by_file == {"tests/test_a.py": (6.0, 3.0, 0.5), "tests/test_b.py": (9.0, 4.5, 0.0)}
    table = render(summary, wall=17.5)
    assert summary.process_cpu == [20.0, 14.0], "each test process's CPU, largest first"
    assert "3 tests in 2 test process(es), 17.5 s wall, 34.0 s CPU in them (20.0 + 14.0)" in table
    # Everything else: the tests' CPU less what their plans and reviews took; start-up: the processes' remainder.
    assert "   7.0 s CPU (assertions" in table and "  14.0 s CPU (imports" in table
    assert table.index("tests/test_b.py") < table.index("tests/test_a.py"), "files rank by CPU"
    assert "floor" not in table, "the floor is printed only when it was measured"


def test_the_least_wall_time_puts_every_plan_at_the_floor_and_keeps_the_rest():
    first = Records(total=20.0, tests={"tests/test_a.py::one": 5.0},
                    made=[("plan", "tests/test_a.py::one", 3.0, False, 300)])
    second = Records(total=14.0, tests={"tests/test_b.py::two": 9.0},
                     made=[("plan", "tests/test_b.py::two", 4.0, False, 500)])
    table = render(summarise([first, second]), floor_per_resource=0.002)
    # 800 resources at 2 ms: 1.6 s instead of the plans' 7.0 s, over two processes: (34.0 - 7.0 + 1.6) / 2.
    assert "the plans registered 800 resources: 1.6 s CPU at the mock-engine floor (2.00 ms each" in table
    assert "least wall time on 2 test process(es) with every plan at that floor: 14.3 s" in table
    assert "(with no plan at all: 13.5 s)" in table, "the rest of the run alone: (34.0 - 7.0) / 2"


def test_the_floor_is_measured_per_plain_resource_in_a_fresh_process():
    per_resource = suite_stats.floor_seconds_per_resource(50)
    # The mock engine registers a plain resource in milliseconds, never in nothing.
    assert 0.0001 < per_resource < 0.05


def test_a_program_refused_by_config_is_recorded_apart_from_plans():
    made = len(suite_stats._RECORDS.made)

    def refuse() -> None:
        raise ConfigError("dev", [("network.cidr", "must be a /16")])

    with pytest.raises(ConfigError):
        suite_stats._recording("plan", refuse)()
    assert suite_stats._recording("review", lambda: "verdicts")() == "verdicts"
    planned = SimpleNamespace(resources=["stack", "bucket", "key"])  # a plan: only its resources' number is kept
    assert suite_stats._recording("plan", lambda: planned)() is planned
    recorded = suite_stats._RECORDS.made[made:]
    assert [(kind, refused, resources) for kind, _, _, refused, resources in recorded] == [
        ("plan", True, 0), ("review", False, 0), ("plan", False, 3)]
    assert all(cpu >= 0 for _, _, cpu, _, _ in recorded)
    del suite_stats._RECORDS.made[made:]


def test_the_harness_is_measured_only_when_asked():
    measured = bool(os.environ.get(suite_stats.FOLDER_ENV))
    assert hasattr(harness.run_program, "__wrapped__") is measured
    assert hasattr(harness.policy_review.review, "__wrapped__") is measured
