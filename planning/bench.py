"""How long a reviewer waits for ``python -m planning --stack X``, phase by phase, against the mock-engine floor.

    python -m planning.bench                 # dev, staging, prod and prod with 50 services; median of 5
    python -m planning.bench --runs 1 --targets prod

Every run is a fresh process running the real entry point (``python -m planning --stack X --quiet --json F``), so
imports and the collector settings count as they do for a user. Phases: imports (every module loaded, wherever),
program (the Pulumi program under the mock engine), review (the policy pack), cost (the estimator) and output
(rendering, JSON, the rest). The floor is a fresh process registering the same number of plain S3 buckets
through the same engine and mocks (``planning/floor_program.py``); ratios to it hold on any machine, absolute
seconds only on the machine that measured them. Phases and ratios use CPU seconds, which a machine shared
with other work does not stretch the way it stretches wall time. ``prod-50`` is prod with its services cloned to 50.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planning.model import Plan

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("dev", "staging", "prod", "prod-50")
PHASES = ("imports", "program", "review", "cost", "output")
FLOOR_PROGRAM = Path(__file__).resolve().parent / "floor_program.py"


@dataclass(frozen=True)
class Goals:
    """The targets of the performance work; the ratios hold on any machine, the seconds on a 2-core one."""

    prod_seconds: float = 3.0
    prod_floor_ratio: float = 2.5  # prod plan + review + cost, to the floor for the same resource count
    large_seconds: float = 8.0  # prod-50
    review_per_resource_ratio: float = 1.2  # review time per resource, prod-50 to prod
    # Review + cost of prod, to the floor program alone (no imports) for the same resource count: the review
    # of every resource must cost a fraction of registering them (measured 0.17 with the stack graph built once
    # for all stack policies; 0.5 when each stack policy rebuilt it, 2.5 with every conversion unshared).
    review_floor_ratio: float = 0.35


GOALS = Goals()


# --- the generated large stack ---------------------------------------------------------------------------------


def many_services(services: Mapping[str, Any], count: int) -> dict[str, Any]:
    """``services`` cloned round-robin to ``count`` entries (``api``, ``context``, ``worker``, ``api3`` ...).

    Clones keep their kind, sizing, secrets and calls; an image pinned to the service's repository is pointed at
    the clone's repository, as CI would push it.
    """
    names = list(services)
    out: dict[str, Any] = {}
    for i in range(count):
        base = names[i % len(names)]
        name = base if i < len(names) else f"{base}{i}"
        service = copy.deepcopy(services[base])
        if isinstance(service.get("image"), str):
            service["image"] = service["image"].replace(f"/{base}@", f"/{name}@")
        out[name] = service
    return out


def target_argv(target: str) -> list[str]:
    """The ``python -m planning`` arguments that plan ``target``."""
    if target != "prod-50":
        return ["--stack", target]
    from planning.engine import read_stack_config

    services = many_services(read_stack_config("prod")["agent-platform:services"], 50)
    return ["--stack", "prod", "--set", "services=" + json.dumps(services)]


def replicate(plan: Plan, copies: int) -> Plan:
    """``plan`` with every resource registered ``copies`` times, each copy wired to its own copies.

    A cheap stand-in for a stack ``copies`` times as large (every component, workload and companion
    multiplied), for checking in a test that the review's cost per resource stays flat. Each copy's inputs
    carry a marker, so that no two copies share a converted property struct.
    """
    from planning.model import Plan

    resources = list(plan.resources)
    urns = {r.urn for r in plan.resources}
    for k in range(1, copies):
        def moved(urn: str | None, k: int = k) -> str | None:
            return f"{urn}-copy{k}" if urn in urns else urn

        def moved_provider(ref: str | None, k: int = k) -> str | None:
            if not ref:
                return ref
            urn, sep, id_ = ref.rpartition("::")
            return f"{moved(urn)}{sep}{id_}" if urn in urns else ref

        for res in plan.resources:
            resources.append(dataclasses.replace(
                res, urn=moved(res.urn), name=f"{res.name}-copy{k}", parent=moved(res.parent),
                inputs={**res.inputs, "benchCopy": k},
                dependencies=tuple(moved(u) for u in res.dependencies),
                property_dependencies={p: tuple(moved(u) for u in us) for p, us in res.property_dependencies.items()},
                provider=moved_provider(res.provider)))
    return Plan(plan.stack, resources, plan.outputs)


# --- inside a measured process ---------------------------------------------------------------------------------


class ImportClock:
    """CPU time spent loading modules (outermost loads only), wherever in the run they happen."""

    def __init__(self, on_loaded: Callable[[str, Any], None] | None = None) -> None:
        self.total = 0.0
        self._depth = 0
        self._on_loaded = on_loaded

    def install(self) -> None:
        # The import system calls importlib._bootstrap._find_and_load by attribute for every module it has not
        # loaded yet (it is also where -X importtime measures), so wrapping it sees every first import.
        import importlib._bootstrap as bootstrap

        original = bootstrap._find_and_load

        def find_and_load(name: str, import_: Any) -> Any:
            self._depth += 1
            started = time.process_time()
            try:
                module = original(name, import_)
            finally:
                self._depth -= 1
                if not self._depth:
                    self.total += time.process_time() - started
            if self._on_loaded is not None:
                self._on_loaded(name, module)
            return module

        bootstrap._find_and_load = find_and_load


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child_stack(argv: list[str]) -> dict[str, Any]:
    started = time.process_time()
    spent: dict[str, float] = {"program": 0.0, "review": 0.0, "cost": 0.0}
    found: dict[str, int] = {}

    def timed(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            imports_before = clock.total
            begun = time.process_time()
            value = fn(*args, **kwargs)
            spent[phase] += time.process_time() - begun - (clock.total - imports_before)
            if phase == "program":
                found["resources"] = len(value.resources)
            return value
        return wrapper

    patches = {"planning.cli": ("run_program", "program"), "planning.cost_report": ("stack_report", "cost"),
               "planning.review": ("review", "review")}

    def on_loaded(name: str, module: Any) -> None:
        if name in patches:
            attr, phase = patches[name]
            setattr(module, attr, timed(phase, getattr(module, attr)))

    clock = ImportClock(on_loaded)
    clock.install()
    import runpy
    from contextlib import redirect_stdout

    hard_exit = os._exit

    def leave(code: int) -> None:  # python -m planning ends with os._exit: measure up to there, then leave
        raise SystemExit(code)

    os._exit = leave  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as devnull, redirect_stdout(devnull):
        sys.argv = ["planning", *argv, "--quiet", "--json", str(Path(tmp) / "plan.json")]
        try:
            runpy.run_module("planning", run_name="__main__", alter_sys=True)
            status = 0
        except SystemExit as exc:
            status = int(exc.code or 0)
        finally:
            os._exit = hard_exit
    total = time.process_time() - started
    phases = {"imports": clock.total, **spent}
    phases["output"] = total - sum(phases.values())
    return {"status": status, "resources": found.get("resources", 0), "phases": phases, "peak_mib": _peak_mib()}


def _child_floor(resources: int) -> dict[str, Any]:
    import gc

    from planning import provider_imports
    from planning.gc_settings import THRESHOLDS

    started = time.process_time()
    gc.set_threshold(*THRESHOLDS)  # as python -m planning does
    provider_imports.install()  # and so are the providers imported
    clock = ImportClock()
    clock.install()
    from planning.engine import run_program

    gc.freeze()
    os.environ["PLANNING_FLOOR_RESOURCES"] = str(resources)
    imports_before = clock.total
    begun = time.process_time()
    plan = run_program("prod", program=FLOOR_PROGRAM)
    program = time.process_time() - begun - (clock.total - imports_before)
    total = time.process_time() - started
    phases = {"imports": clock.total, "program": program, "review": 0.0, "cost": 0.0}
    phases["output"] = total - sum(phases.values())
    return {"status": 0, "resources": len(plan.resources), "phases": phases, "peak_mib": _peak_mib()}


# --- the parent: fresh processes, medians ---------------------------------------------------------------------


@dataclass
class Sample:
    wall: float
    cpu: float
    resources: int
    phases: dict[str, float]
    peak_mib: float
    status: int


def run_once(child_args: Sequence[str]) -> Sample:
    """One fresh process; its wall time includes interpreter start-up, as a user's does."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "planning.bench", "--child-result", out.name, *child_args],
                       cwd=ROOT, check=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        data = json.loads(Path(out.name).read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall, cpu, data["resources"], data["phases"], data["peak_mib"], data["status"])


@dataclass
class Measured:
    """Medians over runs of one target and of its floor."""

    target: str
    runs: list[Sample] = field(default_factory=list)
    floor_runs: list[Sample] = field(default_factory=list)

    @staticmethod
    def _median(samples: list[Sample], get: Callable[[Sample], float]) -> float:
        return statistics.median(get(s) for s in samples)

    @property
    def resources(self) -> int:
        return self.runs[0].resources

    @property
    def wall(self) -> float:
        return self._median(self.runs, lambda s: s.wall)

    @property
    def cpu(self) -> float:
        return self._median(self.runs, lambda s: s.cpu)

    @property
    def floor_wall(self) -> float:
        return self._median(self.floor_runs, lambda s: s.wall)

    @property
    def floor_cpu(self) -> float:
        return self._median(self.floor_runs, lambda s: s.cpu)

    @property
    def ratio(self) -> float:
        """CPU time to the floor's: on a loaded machine wall time stretches, the work a process does does not."""
        return self.cpu / self.floor_cpu

    def phase(self, name: str) -> float:
        return self._median(self.runs, lambda s: s.phases[name])

    @property
    def peak_mib(self) -> float:
        return self._median(self.runs, lambda s: s.peak_mib)

    @property
    def review_per_resource_ms(self) -> float:
        return 1000 * self.phase("review") / self.resources

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target, "resources": self.resources, "wallSeconds": self.wall, "cpuSeconds": self.cpu,
            "peakMiB": self.peak_mib, "phaseCpuSeconds": {p: self.phase(p) for p in PHASES},
            "floorWallSeconds": self.floor_wall, "floorCpuSeconds": self.floor_cpu, "floorRatio": self.ratio,
            "reviewMsPerResource": self.review_per_resource_ms, "status": self.runs[0].status,
        }


def measure(target: str, runs: int) -> Measured:
    """``runs`` fresh processes of the target, each followed by one of the floor at the same resource count."""
    result = Measured(target)
    argv = target_argv(target)
    for _ in range(runs):
        sample = run_once(["--child-stack", json.dumps(argv)])
        result.runs.append(sample)
        result.floor_runs.append(run_once(["--child-floor", str(sample.resources)]))
    return result


def goal_checks(results: Mapping[str, Measured], goals: Goals = GOALS) -> list[tuple[str, float, float, bool]]:
    """(what, measured, goal, is a ratio) for every goal the measured targets allow checking."""
    checks = []
    if "prod" in results:
        prod = results["prod"]
        checks.append(("prod seconds (CPU)", prod.cpu, goals.prod_seconds, False))
        checks.append(("prod / floor", prod.ratio, goals.prod_floor_ratio, True))
    if "prod-50" in results:
        checks.append(("prod-50 seconds (CPU)", results["prod-50"].cpu, goals.large_seconds, False))
    if "prod" in results and "prod-50" in results:
        per = results["prod-50"].review_per_resource_ms / results["prod"].review_per_resource_ms
        checks.append(("review per resource, prod-50 / prod", per, goals.review_per_resource_ratio, True))
    return checks


def interpreter() -> str:
    """Which Python ran the figures: one version built two ways plans at different speeds (Makefile, BASE_PYTHON)."""
    return f"{platform.python_implementation()} {platform.python_version()} at {os.path.realpath(sys.executable)}"


def render(results: Mapping[str, Measured], runs: int) -> str:
    lines = [f"median of {runs} fresh process(es) each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
             "CPUs. wall: what the user waits; cpu and phases: CPU seconds of the process (what a loaded machine "
             "does not inflate); ratio: cpu to the floor's for the same resource count",
             f"interpreter: {interpreter()} (absolute seconds depend on its build, e.g. a shared libpython is slower)",
             f"{'target':<9}{'resources':>10}{'wall':>8}{'cpu':>7}{'peak MiB':>10}"
             + "".join(f"{p:>9}" for p in PHASES) + f"{'review/res':>12}{'floor':>7}{'ratio':>7}"]
    for name, m in results.items():
        lines.append(f"{name:<9}{m.resources:>10}{m.wall:>8.2f}{m.cpu:>7.2f}{m.peak_mib:>10.0f}"
                     + "".join(f"{m.phase(p):>9.2f}" for p in PHASES)
                     + f"{m.review_per_resource_ms:>10.2f}ms{m.floor_cpu:>7.2f}{m.ratio:>6.2f}x")
    checks = goal_checks(results)
    if checks:
        lines.append("")
        lines.append("goals (ratios decide; seconds hold on a 2-core machine of the class they were set on):")
        for what, value, goal, is_ratio in checks:
            verdict = "ok" if value <= goal else "MISSED"
            lines.append(f"  {what:<38}{value:>7.2f}  <= {goal:<5}  {verdict}{'' if is_ratio else '  (absolute)'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planning.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), choices=TARGETS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the medians as JSON")
    parser.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-stack", help=argparse.SUPPRESS)
    parser.add_argument("--child-floor", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--preflight", action="store_true",
                        help="also time a preflight of prod against a stubbed account (tests/preflight_stubs.py)")
    args = parser.parse_args(argv)

    if args.child_result:
        data = (_child_stack(json.loads(args.child_stack)) if args.child_stack is not None
                else _child_floor(args.child_floor))
        args.child_result.write_text(json.dumps(data))
        os._exit(0)  # both children leave as python -m planning does, without tearing the interpreter down

    results = {target: measure(target, args.runs) for target in args.targets}
    print(render(results, args.runs))
    if args.json:
        args.json.write_text(json.dumps([m.to_json() for m in results.values()], indent=2) + "\n")
    if args.preflight:
        from planning.engine import run_program
        from planning.preflight.bench import time_preflight

        plan = run_program("prod")
        times = [time_preflight(plan)[0] for _ in range(args.runs)]
        print(f"preflight (prod, stubbed account): median {statistics.median(times):.2f}s over {args.runs} runs")
    missed = [what for what, value, goal, is_ratio in goal_checks(results) if is_ratio and value > goal]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
