"""Preflight results as text, JSON and SARIF (the policy review's SARIF writer, fed one rule per check)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from planning.preflight.runner import Result

DOCS_PATH = "docs/preflight.md"
MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}


def render_text(result: Result, *, verbose: bool = False) -> str:
    """Failures and skips with their remediation; passes too with ``verbose``."""
    lines = [f"Preflight of stack {result.stack} in {result.region}: {len(result.checks)} checks, "
             f"{len(result.passed)} passed, {len(result.failed)} failed, {len(result.skipped)} skipped "
             f"({result.elapsed:.1f}s)"]
    for chk in result.checks:
        mine = [f for f in result.findings if f.check == chk.name]
        shown = [f for f in mine if verbose or f.status != "pass"]
        if not mine:
            lines.append(f"  [ -- ] {chk.name}: nothing in this stack to check")
            continue
        worst = "fail" if any(f.status == "fail" for f in mine) else (
            "skip" if any(f.status == "skip" for f in mine) else "pass")
        lines.append(f"  [{MARK[worst]}] {chk.name}: {chk.title}")
        for f in shown:
            lines.append(f"      {MARK[f.status].lower()}: {f.subject}: {f.message}")
        if worst == "fail":
            lines.append(f"      remediation: {chk.remediation}")
    lines.append("")
    if result.failed:
        lines.append("preflight FAILED: the deploy would be rejected")
    elif result.skipped:
        lines.append(f"preflight found nothing that would fail, but {len(result.skipped)} finding(s) were skipped: "
                     "not proven (--strict makes them fail)")
    else:
        lines.append("preflight passed")
    return "\n".join(lines) + "\n"


def to_review(result: Result) -> Any:
    """The result in the policy review's shape: failures are mandatory violations, skips advisory ones."""
    from planning.review import PolicyMeta, Review, Violation

    metas = [PolicyMeta(name=c.name, description=c.title, kind="preflight", severity="high",
                        enforcement="mandatory", default_enforcement="mandatory", remediation=c.remediation,
                        references=(), reference_tags=(), topics=("preflight", c.group), settings={},
                        config_schema={}) for c in result.checks]
    violations = [Violation(policy=f.check, pack="preflight", severity="high" if f.status == "fail" else "low",
                            enforcement="mandatory" if f.status == "fail" else "advisory",
                            message=f.message, urn="", resource_type="preflight",
                            resource_name=f.subject, component=f.check)
                  for f in result.findings if f.status != "pass"]
    return Review(stack=result.stack, pack="preflight", version="1", policies=metas, violations=violations,
                  resources=len(result.findings))


def to_sarif(result: Result, *, docs_url: str | None = None) -> dict[str, Any]:
    from planning import sarif

    # The policy docs' URL at this commit in CI (sarif.default_docs_url), pointed at this page instead.
    url = docs_url if docs_url is not None else sarif.default_docs_url()
    document = sarif.to_sarif(to_review(result), docs_url=url.replace(sarif.DOCS_PATH, DOCS_PATH) if url else "")
    run = document["runs"][0]
    # Its own tool and category, so code scanning keeps preflight alerts apart from the policy review's.
    run["tool"]["driver"]["name"] = "agent-platform-preflight"
    run["automationDetails"] = {"id": f"preflight/{result.stack}/"}
    run["properties"] = {"stack": result.stack, "failed": len(result.failed), "skipped": len(result.skipped)}
    return document


def write_sarif(result: Result, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_sarif(result), indent=2) + "\n")
    return path


def write_json(result: Result, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")
    return path
