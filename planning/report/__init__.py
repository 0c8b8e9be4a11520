"""The reviewer's view of a plan: one self-contained HTML page, and the one-screen terminal summary.

    python -m planning --stack prod --html out/prod.html                      # the page
    python -m planning --stack prod --html out/prod.html --base out/main.json # plus what changed
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from planning.report.html import render
from planning.review import ROOT

__all__ = ["docs_url_for", "load_document", "render", "write_report"]


def docs_url_for(out: Path) -> str:
    """Where the page links policy names: the docs at the analysed commit in CI, else a path relative to the page."""
    from planning.sarif import DOCS_PATH, default_docs_url

    in_ci = default_docs_url()
    if in_ci:
        return in_ci
    return Path(os.path.relpath(ROOT / DOCS_PATH, out.resolve().parent)).as_posix()


def load_document(path: Path) -> dict[str, Any]:
    """A plan document saved by ``python -m planning --json``."""
    document = json.loads(path.read_text())
    if not isinstance(document, dict) or "resources" not in document or "stack" not in document:
        raise SystemExit(f"{path}: not a plan saved with `python -m planning --json`")
    return document


def write_report(document: Mapping[str, Any], out: Path, base: Mapping[str, Any] | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    # The page is built from the document as it is written to disk (JSON types, secrets masked), never from
    # live objects, so a page rendered from a saved plan is the same page.
    normalised = json.loads(json.dumps(document, default=str))
    out.write_text(render(normalised, base=base, docs_url=docs_url_for(out)))
    return out
