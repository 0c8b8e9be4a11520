"""Where the suite's time goes, measured by the suite itself: ``make test-stats`` (``SUITE_STATS=<folder>``).

Each test process records the CPU time of every test (its setup, call and teardown, with the subprocesses it
ran), of its collection, and of each whole-stack plan and review the shared cache did not already hold: the
programs ``tests.harness`` runs and the reviews made through ``planning.review.review``, the harness's path. The
process that reports (xdist's controller, or the only process) merges the workers' records into one table: what a
cold run spends on plans, on reviews and on everything else, by file. Off unless ``SUITE_STATS`` is set.

It also prints the least wall time the run could take on its workers if every plan cost only the mock engine's floor
(``planning/floor_program.py``: plain resources, no components, measured in a fresh process when the table is
printed), the rest of the run unchanged: the part of a cold run no change to the program can remove.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

FOLDER_ENV = "SUITE_STATS"


def _folder() -> Path | None:
    value = os.environ.get(FOLDER_ENV)
    return Path(value) if value else None


def _cpu() -> float:
    """CPU seconds of this process and of the subprocesses it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Records:
    """One process's measurements, as written to ``<folder>/<pid>.json``."""

    collection: float = 0.0
    # The whole process at its end: start-up (imports, conftest), collection, tests and what ran between them.
    total: float = 0.0
    tests: dict[str, float] = field(default_factory=dict)
    # (kind, test node id, CPU seconds, refused, resources): kind is "plan" or "review"; refused marks a program that
    # stopped at a config error (nothing registered); resources: how many a plan registered (0 for the others).
    made: list[tuple[str, str, float, bool, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"collection": self.collection, "total": self.total, "tests": self.tests, "made": self.made}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Records:
        return cls(data["collection"], data["total"], dict(data["tests"]),
                   [tuple(m) for m in data["made"]])  # type: ignore[misc]


_RECORDS = Records()
_CURRENT = {"test": ""}


def _recording(kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from config import ConfigError

        started = time.process_time()
        refused, resources = False, 0
        try:
            result = fn(*args, **kwargs)
            if kind == "plan":
                resources = len(result.resources)
            return result
        except ConfigError:
            refused = True
            raise
        finally:
            _RECORDS.made.append((kind, _CURRENT["test"], time.process_time() - started, refused, resources))

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def pytest_configure(config: pytest.Config) -> None:
    folder = _folder()
    if folder is None:
        return
    config._suite_stats_started = time.monotonic()  # type: ignore[attr-defined]
    if not hasattr(config, "workerinput"):  # the reporting process: a fresh table, not the last run's
        for old in folder.glob("*.json"):
            old.unlink()
    from tests import harness

    # The harness plans through its module's run_program and reviews through planning.review's review.
    harness.run_program = _recording("plan", harness.run_program)
    harness.policy_review.review = _recording("review", harness.policy_review.review)


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[None]:
    started = _cpu()
    try:
        return (yield)
    finally:
        _RECORDS.collection += _cpu() - started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _CURRENT["test"] = item.nodeid
    started = _cpu()
    try:
        return (yield)
    finally:
        _RECORDS.tests[item.nodeid] = _RECORDS.tests.get(item.nodeid, 0.0) + _cpu() - started


def pytest_sessionfinish(session: pytest.Session) -> None:
    folder = _folder()
    if folder is None:
        return
    _RECORDS.total = _cpu()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{os.getpid()}.json").write_text(json.dumps(_RECORDS.to_json()))


@dataclass
class Summary:
    processes: int
    tests: int
    test_cpu: float
    collection_cpu: float
    total_cpu: float
    plans: int
    plan_cpu: float
    plan_resources: int
    refused: int
    refused_cpu: float
    reviews: int
    review_cpu: float
    # file -> (tests' CPU, plans' CPU, reviews' CPU)
    by_file: dict[str, tuple[float, float, float]]
    # Each test process's CPU, largest first: how evenly xdist spread the files.
    process_cpu: list[float]


def summarise(records: Iterable[Records]) -> Summary:
    records = [r for r in records if r.tests]  # xdist's controller runs no test
    tests: dict[str, float] = {}
    for r in records:
        tests.update(r.tests)
    made = [m for r in records for m in r.made]
    plans = [m for m in made if m[0] == "plan" and not m[3]]
    refused = [m for m in made if m[0] == "plan" and m[3]]
    reviews = [m for m in made if m[0] == "review"]

    def per_file(items: Iterable[tuple[str, str, float, bool, int]]) -> Counter[str]:
        out: Counter[str] = Counter()
        for _, test, cpu, _, _ in items:
            out[test.split("::")[0]] += cpu
        return out

    test_files: Counter[str] = Counter()
    for test, cpu in tests.items():
        test_files[test.split("::")[0]] += cpu
    plan_files, review_files = per_file(plans + refused), per_file(reviews)
    return Summary(
        processes=len(records), tests=len(tests), test_cpu=sum(tests.values()),
        collection_cpu=sum(r.collection for r in records), total_cpu=sum(r.total for r in records),
        plans=len(plans), plan_cpu=sum(m[2] for m in plans), plan_resources=sum(m[4] for m in plans),
        refused=len(refused), refused_cpu=sum(m[2] for m in refused),
        reviews=len(reviews), review_cpu=sum(m[2] for m in reviews),
        by_file={f: (cpu, plan_files[f], review_files[f]) for f, cpu in test_files.items()},
        process_cpu=sorted((r.total for r in records), reverse=True),
    )


def floor_seconds_per_resource(resources: int) -> float:
    """CPU seconds per resource of the mock engine's floor (``planning.bench``'s floor program, a fresh process)
    registering ``resources`` plain resources: its program phase, imports left out."""
    from planning.bench import run_once

    sample = run_once(["--child-floor", str(resources)])
    return sample.phases["program"] / sample.resources


def render(summary: Summary, wall: float | None = None, top: int = 15,
           floor_per_resource: float | None = None) -> str:
    """The table; with ``floor_per_resource`` (CPU seconds), also what the plans would cost at the floor and the
    least wall time the run could then take on its test processes."""
    other = summary.test_cpu - summary.plan_cpu - summary.refused_cpu - summary.review_cpu
    start_up = summary.total_cpu - summary.test_cpu - summary.collection_cpu
    lines = [
        f"suite: {summary.tests:,} tests in {summary.processes} test process(es)"
        + (f", {wall:.1f} s wall" if wall is not None else "")
        + f", {summary.total_cpu:.1f} s CPU in them ({' + '.join(f'{c:.1f}' for c in summary.process_cpu)})",
        f"  whole-stack plans made      {summary.plans:5d}  {summary.plan_cpu:7.1f} s CPU",
        f"  programs refused by config  {summary.refused:5d}  {summary.refused_cpu:7.1f} s CPU",
        f"  reviews made                {summary.reviews:5d}  {summary.review_cpu:7.1f} s CPU",
        f"  everything else in tests           {other:7.1f} s CPU (assertions, config checks, subprocesses)",
        f"  collection                         {summary.collection_cpu:7.1f} s CPU",
        f"  start-up and between tests         {start_up:7.1f} s CPU (imports, conftest, xdist)",
    ]
    if floor_per_resource is not None and summary.processes:
        floor = summary.plan_resources * floor_per_resource
        rest = summary.total_cpu - summary.plan_cpu  # everything the run did but plan
        lines += [
            f"  the plans registered {summary.plan_resources:,} resources: {floor:.1f} s CPU at the mock-engine floor "
            f"({floor_per_resource * 1000:.2f} ms each, planning/floor_program.py)",
            f"  least wall time on {summary.processes} test process(es) with every plan at that floor: "
            f"{(rest + floor) / summary.processes:.1f} s (with no plan at all: {rest / summary.processes:.1f} s)",
        ]
    lines.append(f"  files by CPU (tests, of which plans and reviews), top {top}:")
    ranked = sorted(summary.by_file.items(), key=lambda item: -item[1][0])[:top]
    lines += [f"    {cpu:6.1f}  {plans:6.1f}  {reviews:6.1f}  {name}" for name, (cpu, plans, reviews) in ranked]
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    folder = _folder()
    if folder is None or hasattr(config, "workerinput"):
        return
    records = [Records.from_json(json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]
    wall = time.monotonic() - getattr(config, "_suite_stats_started", time.monotonic())
    summary = summarise(records)
    # Measured at the plans' mean size, in a fresh process once the run is over (a second or two).
    floor = floor_seconds_per_resource(round(summary.plan_resources / summary.plans)) if summary.plans else None
    terminalreporter.write_line(render(summary, wall, floor_per_resource=floor))
