"""What every generated region of a doc shares: replacing the region, and the write/``--check`` command.

``planning.diagrams``, ``planning.teardown`` and ``planning.permissions`` each render a marked region of one
document from the offline plans; ``make generate`` writes them and tests fail when one is stale.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

from planning.engine import ROOT
from planning.model import Plan


def replace_region(text: str, start: str, end: str, region: str, doc: Path) -> str:
    """``text`` with everything from ``start`` to ``end`` replaced by ``region`` (which carries the markers)."""
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"{doc.name}: no {start} ... {end} region")
    return pattern.sub(lambda _m: region, text)


def main(argv: list[str] | None, *, prog: str, description: str | None, doc: Path,
         render_file: Callable[[str, Callable[[str], Plan]], str]) -> int:
    """Rewrite ``doc`` from the plans, or with ``--check`` exit 1 when the committed text is stale."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the generated region is stale")
    args = parser.parse_args(argv)
    from planning.engine import run_program

    current = doc.read_text()
    fresh = render_file(current, cache(run_program))
    if args.check:
        print(f"{doc.relative_to(ROOT)} is {'current' if fresh == current else f'stale: run `{prog}`'}")
        return 0 if fresh == current else 1
    doc.write_text(fresh)
    print(f"wrote {doc.relative_to(ROOT)}")
    return 0
