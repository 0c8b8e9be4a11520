"""Each Helm chart version the stack installs is published in its repository's index.yaml.

A chart repository is a web server with an index.yaml listing every chart and version it serves (Helm docs,
"The Chart Repository Guide"); `helm install --version` fails on a version the index does not list.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections import defaultdict
from typing import Any

import yaml

from planning.preflight.framework import Context, Finding, Skip, check

ATTEMPTS = 3
TIMEOUT = 15


def fetch_url(url: str) -> bytes:
    """GET ``url`` (http, https or file), retried with exponential backoff on network errors and 5xx."""
    delay = 0.5
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt == ATTEMPTS:
                raise
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == ATTEMPTS:
                raise
        time.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


def _load_index(data: bytes) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # indexes run to megabytes; libyaml is 10x faster
    return yaml.load(data, Loader=loader) or {}


@check("helm-chart-versions", title="Helm chart versions published in their repositories", group="versions",
       calls=(),
       remediation="Pin a version the repository's index.yaml lists (helm search repo <repo>/<chart> --versions); "
                   "the pins live in config/charts.py.")
def helm_chart_versions(ctx: Context) -> list[Finding]:
    by_repo: dict[str, list[Any]] = defaultdict(list)
    for chart in ctx.facts.charts:
        by_repo[chart.repo].append(chart)
    findings = []
    unreachable = []
    for repo, charts in by_repo.items():
        if not repo.startswith(("http://", "https://", "file://")):
            findings += [Finding("helm-chart-versions", "skip", f"{c.chart} {c.version}",
                                 f"repository {repo or '(none)'} is not an HTTP chart repository") for c in charts]
            continue
        url = repo.rstrip("/") + "/index.yaml"
        try:
            index = _load_index(ctx.fetch_url(url))
        except urllib.error.HTTPError as exc:
            findings += [Finding("helm-chart-versions", "fail", f"{c.chart} {c.version}",
                                 f"{url} answered HTTP {exc.code}") for c in charts]
            continue
        except (urllib.error.URLError, OSError) as exc:
            unreachable.append(url)
            findings += [Finding("helm-chart-versions", "skip", f"{c.chart} {c.version}",
                                 f"{url} unreachable: {getattr(exc, 'reason', exc)}") for c in charts]
            continue
        entries = index.get("entries") or {}
        for c in charts:
            versions = [str(e.get("version")) for e in entries.get(c.chart) or []]
            subject = f"{c.chart} {c.version}"
            if not versions:
                findings.append(Finding("helm-chart-versions", "fail", subject, f"{repo} has no chart {c.chart}"))
            elif c.version not in versions:
                findings.append(Finding("helm-chart-versions", "fail", subject,
                                        f"{c.chart} {c.version} is not published in {repo} "
                                        f"(latest: {', '.join(versions[:3])})"))
            else:
                findings.append(Finding("helm-chart-versions", "pass", subject, f"published in {repo}"))
    if unreachable and len(unreachable) == len(by_repo):
        raise Skip(f"no chart repository reachable ({', '.join(unreachable)})")
    return findings
