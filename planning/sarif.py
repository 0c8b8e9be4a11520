"""SARIF 2.1.0 output of a policy review, for GitHub code scanning (``github/codeql-action/upload-sarif``).

Violations point at the stack's ``Pulumi.<stack>.yaml`` (the file whose settings decide the resource's
shape), with the resource URN as a logical location; the run is keyed per stack so each stack's alerts
are tracked separately.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from planning.review import PolicyMeta, Review, Violation
from planning.stacks import StackRef

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"
DOCS_PATH = "docs/policies.md"

# GitHub ranks security alerts by this score: >= 9 critical, >= 7 high, >= 4 medium, else low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def _level(enforcement: str) -> str:
    return {"mandatory": "error", "remediate": "error", "advisory": "warning"}.get(enforcement, "none")


def default_docs_url() -> str | None:
    """The policy documentation at the commit being analysed, when running in GitHub Actions."""
    server, repo, sha = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    if server and repo and sha:
        return f"{server}/{repo}/blob/{sha}/{DOCS_PATH}"
    return None


def _rule(meta: PolicyMeta, docs_url: str | None) -> dict[str, Any]:
    refs = ", ".join(meta.references)
    markdown = [f"**{meta.description}**", "", f"**Remediation:** {meta.remediation}"]
    if refs:
        markdown += ["", f"**Compliance:** {refs}"]
    rule: dict[str, Any] = {
        "id": meta.name,
        "name": "".join(part.capitalize() for part in meta.name.split("-")),
        "shortDescription": {"text": meta.description},
        "fullDescription": {"text": meta.description + (f" ({refs})" if refs else "")},
        "help": {"text": f"{meta.description}\nRemediation: {meta.remediation}", "markdown": "\n".join(markdown)},
        "defaultConfiguration": {"level": _level(meta.enforcement), "enabled": meta.enforcement != "disabled"},
        "properties": {
            "tags": [*meta.topics, *meta.reference_tags],
            "precision": "very-high",
            "problem.severity": "error" if meta.severity in ("critical", "high") else "warning",
            "enforcementLevel": meta.enforcement,
            "policyType": meta.kind,
        },
    }
    if "security" in meta.topics and meta.severity in SECURITY_SEVERITY:
        rule["properties"]["security-severity"] = SECURITY_SEVERITY[meta.severity]
    if docs_url:
        rule["helpUri"] = f"{docs_url}#{meta.name}"
    return rule


def _fingerprint(v: Violation) -> str:
    return hashlib.sha256(f"{v.policy}\0{v.urn}\0{v.message}".encode()).hexdigest()


def _config_lines(path: Path) -> dict[str, int]:
    """Line of each top-level ``<project>:<key>:`` entry in the stack file, so alerts land near the settings."""
    if not path.exists():
        return {}
    lines: dict[str, int] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = re.match(r"^\s+[\w-]+:([\w-]+):", line)
        if match:
            lines.setdefault(match.group(1).lower(), number)
    return lines


def _result(v: Violation, uri: str, rule_index: dict[str, int], lines: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": lines.get(v.component.lower(), 1)},
        },
    }
    if v.urn:
        location["logicalLocations"] = [{"name": v.resource_name, "fullyQualifiedName": v.urn, "kind": "resource"}]
    result: dict[str, Any] = {
        "ruleId": v.policy,
        "level": _level(v.enforcement),
        "message": {"text": f"{v.resource_type} {v.resource_name} ({v.component}): {v.message}"},
        "locations": [location],
        "partialFingerprints": {"pulumiPolicyViolation/v1": _fingerprint(v)},
        "properties": {"enforcementLevel": v.enforcement, "severity": v.severity, "component": v.component,
                       "resourceType": v.resource_type, "urn": v.urn},
    }
    if v.policy in rule_index:
        result["ruleIndex"] = rule_index[v.policy]
    return result


def to_sarif(review: Review, *, docs_url: str | None = None, stack_file: StackRef | None = None) -> dict[str, Any]:
    """The review as one SARIF run; ``docs_url`` (default: the repository's docs in CI) feeds each rule's helpUri.

    Results point at ``stack_file`` (default: the project's ``Pulumi.<stack>.yaml``), so a blueprint's alerts
    land in the blueprint's own file.
    """
    url = docs_url if docs_url is not None else default_docs_url()
    rules = [_rule(meta, url) for meta in review.policies]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    ref = stack_file or StackRef.named(review.stack)
    lines = _config_lines(ref.path)
    uri = ref.relative_path.as_posix()
    return {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": f"pulumi-policy-{review.pack}",
                "semanticVersion": review.version,
                "rules": rules,
            }},
            "automationDetails": {"id": f"pulumi-policy/{review.stack}/"},
            "columnKind": "utf16CodeUnits",
            "results": [_result(v, uri, index, lines) for v in review.violations],
            "properties": {"stack": review.stack, "mandatory": len(review.mandatory),
                           "advisory": len(review.advisory)},
        }],
    }


def write_sarif(review: Review, path: str | Path, *, docs_url: str | None = None,
                stack_file: StackRef | None = None) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(to_sarif(review, docs_url=docs_url, stack_file=stack_file), indent=2) + "\n")
    return out
