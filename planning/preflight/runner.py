"""Run every preflight check concurrently against one plan's facts and collect the findings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from planning.preflight import zones as zone_view
from planning.preflight.facts import Facts
from planning.preflight.framework import Check, ClientFactory, Context, Finding, Skip, all_checks


@dataclass
class Result:
    stack: str
    region: str
    checks: list[Check]
    findings: list[Finding] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail"]

    @property
    def skipped(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "skip"]

    @property
    def passed(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "pass"]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack, "region": self.region, "elapsedSeconds": round(self.elapsed, 3),
            "summary": {"passed": len(self.passed), "failed": len(self.failed), "skipped": len(self.skipped),
                        "ok": not self.failed},
            "checks": [{"name": c.name, "title": c.title, "group": c.group, "calls": list(c.calls),
                        "remediation": c.remediation} for c in self.checks],
            "findings": [f.to_json() for f in self.findings],
        }


def _run_one(chk: Check, ctx: Context) -> list[Finding]:
    try:
        return chk.fn(ctx)
    except Skip as exc:
        return [Finding(chk.name, "skip", "(check)", str(exc))]
    except Exception as exc:  # an answer the check did not expect: never reported as passed
        return [Finding(chk.name, "skip", "(check)", f"could not run: {type(exc).__name__}: {exc}")]


def run(facts: Facts, clients: ClientFactory, *, fetch_url: Callable[[str], bytes] | None = None,
        workers: int = 8, only: Iterable[str] | None = None, checks: list[Check] | None = None,
        registry: Any = None) -> Result:
    """Every check (or those named in ``only``); ``workers`` threads call AWS and the chart repositories at once."""
    from planning.preflight.helm import fetch_url as http_get

    started = time.perf_counter()
    wanted = set(only) if only is not None else None
    checks = [c for c in (checks if checks is not None else all_checks()) if wanted is None or c.name in wanted]
    from components.core.registry import Registries

    ctx = Context(facts=facts, clients=clients, fetch_url=fetch_url or http_get,
                  registry=registry or Registries())
    if facts.zone_count or facts.instance_type_choices:
        try:
            ctx.zones = zone_view.fetch(clients("ec2", facts.region), facts)
        except Skip as exc:
            ctx.zones_error = str(exc)
        except Exception as exc:
            ctx.zones_error = f"could not read zones: {type(exc).__name__}: {exc}"
    result = Result(facts.stack, facts.region, checks)
    if workers <= 1:
        batches = [_run_one(c, ctx) for c in checks]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="preflight") as pool:
            batches = list(pool.map(lambda c: _run_one(c, ctx), checks))
    for batch in batches:
        result.findings.extend(batch)
    result.elapsed = time.perf_counter() - started
    return result
