"""Policy documentation generated from the policy objects and the per-stack policy config files.

Markdown files carry generated regions between markers, rewritten in place:

    <!-- policies:start --> ... <!-- policies:end -->                 the table of policies
    <!-- policy-details:start --> ... <!-- policy-details:end -->     one section per policy (optional)

    python -m planning.policy_docs                      # rewrite docs/policies.md
    python -m planning.policy_docs README.md --check    # exit 1 if a region is out of date
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from planning.review import (
    ROOT,
    EffectiveConfig,
    PolicyMeta,
    configured_stacks,
    effective_config,
    load_policy_config,
    policies,
)

DOCS = ROOT / "docs" / "policies.md"
TABLE = ("<!-- policies:start -->", "<!-- policies:end -->")
DETAILS = ("<!-- policy-details:start -->", "<!-- policy-details:end -->")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _per_stack() -> tuple[list[str], dict[str, dict[str, EffectiveConfig]]]:
    stacks = configured_stacks()
    policy_list = policies()
    return stacks, {s: effective_config(policy_list, load_policy_config(s)) for s in stacks}


def render_table(link_base: str = "") -> str:
    """The policy table; names link to ``<link_base>#<policy>`` (the detail sections in docs/policies.md)."""
    stacks, per_stack = _per_stack()
    header = f"| Policy | Severity | Enforcement ({' / '.join(stacks)}) | What it checks | Framework ids |"
    lines = [header, "|---|---|---|---|---|"]
    for policy in policies():
        meta = PolicyMeta.of(policy)
        levels = " / ".join(per_stack[s][policy.name].enforcement for s in stacks) or meta.default_enforcement
        lines.append(
            f"| [`{meta.name}`]({link_base}#{meta.name}) | {meta.severity} | {levels} | {_cell(meta.description)} "
            f"| {_cell(', '.join(meta.references)) or '-'} |"
        )
    return "\n".join(lines)


def render_details() -> str:
    """One section per policy: what it checks, how to fix it, its settings and each stack's values."""
    stacks, per_stack = _per_stack()
    out: list[str] = []
    for policy in policies():
        meta = PolicyMeta.of(policy)
        out += [
            f"### {meta.name}",
            "",
            meta.description,
            "",
            f"- Kind: {meta.kind} policy; severity {meta.severity}; topics: {', '.join(meta.topics)}",
            f"- Enforcement: default {meta.default_enforcement}"
            + "".join(f"; {s} {per_stack[s][meta.name].enforcement}" for s in stacks),
            f"- Compliance: {', '.join(meta.references) or 'none mapped'}",
            f"- Remediation: {_cell(meta.remediation)}",
            "",
            "| Setting | Default | Per stack | Meaning |",
            "|---|---|---|---|",
        ]
        for key, schema in meta.config_schema.items():
            default = schema.get("default")
            overrides = [f"{s}: `{json.dumps(per_stack[s][meta.name].properties.get(key))}`" for s in stacks
                         if per_stack[s][meta.name].properties.get(key) != default]
            out.append(f"| `{key}` | `{json.dumps(default)}` | {', '.join(overrides) or '-'} "
                       f"| {_cell(str(schema.get('description', '')))} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def replace_region(text: str, markers: tuple[str, str], body: str, *, required: bool = True) -> str:
    start, end = markers
    if start not in text and end not in text and not required:
        return text
    head, sep, rest = text.partition(start)
    middle, sep2, tail = rest.partition(end)
    if not sep or not sep2 or start in tail or start in middle:
        raise ValueError(f"expected exactly one {start} ... {end} region")
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def render_file(path: Path) -> str:
    """``path``'s text with its generated regions brought up to date."""
    text = path.read_text()
    rel = Path(os.path.relpath(DOCS, path.resolve().parent)).as_posix()
    link_base = "" if path.resolve() == DOCS.resolve() else rel
    text = replace_region(text, TABLE, render_table(link_base))
    return replace_region(text, DETAILS, render_details(), required=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planning.policy_docs", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=[DOCS], help="markdown files (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="fail instead of rewriting when a region is stale")
    args = parser.parse_args(argv)
    stale = []
    for path in args.files:
        current = path.read_text()
        wanted = render_file(path)
        if current != wanted:
            stale.append(path)
            if not args.check:
                path.write_text(wanted)
    verb = "out of date" if args.check else "updated"
    for path in stale:
        print(f"{path}: {verb}", file=sys.stderr if args.check else sys.stdout)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
