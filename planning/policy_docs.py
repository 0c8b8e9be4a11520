"""Policy documentation generated from the policy objects and the per-stack policy config files.

Markdown files carry generated regions between markers, rewritten in place:

    <!-- policies:start --> ... <!-- policies:end -->                 the table of policies
    <!-- policy-details:start --> ... <!-- policy-details:end -->     one section per policy (optional)
    <!-- policy-frameworks:start --> ... <!-- policy-frameworks:end -->  framework mapping and coverage (optional)

    python -m planning.policy_docs                      # rewrite docs/policies.md
    python -m planning.policy_docs docs/policies.md --check    # exit 1 if a region is out of date
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
FRAMEWORKS = ("<!-- policy-frameworks:start -->", "<!-- policy-frameworks:end -->")
FRAMEWORK_COLUMNS = (("checkov", "Checkov"), ("fsbp", "Security Hub FSBP"), ("cis", "CIS (AWS / EKS)"), ("pss", "PSS"))
FRAMEWORK_NAMES = {"fsbp": "AWS Security Hub FSBP", "checkov": "Checkov", "cis-aws": "CIS AWS Foundations 3.0.0",
                   "cis-eks": "CIS Amazon EKS 1.5.0", "pss": "Kubernetes Pod Security Standards"}


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


def control_coverage() -> dict[tuple[str, str], list[str]]:
    """(framework, control id) to the policies that implement it: by reference tag, or listed in ``also``."""
    from planning.controls import CATALOGUE

    covered: dict[tuple[str, str], list[str]] = {}
    for policy in policies():
        for tag in PolicyMeta.of(policy).reference_tags:
            key, _, control = tag.partition(":")
            framework = key.rsplit("-v", 1)[0]
            covered.setdefault((framework, control), []).append(policy.name)
    for framework, controls in CATALOGUE.items():
        for control in controls:
            for name in control.also:
                names = covered.setdefault((framework, control.id), [])
                if name not in names:
                    names.append(name)
    return covered


def render_frameworks() -> str:
    """Each policy's Checkov / FSBP / CIS / PSS controls, then per framework how many catalogued ones are covered."""
    from planning.controls import CATALOGUE

    covered = control_coverage()
    by_policy: dict[str, dict[str, list[str]]] = {}
    for (framework, control), names in covered.items():
        column = "cis" if framework.startswith("cis-") else framework
        label = f"{'AWS' if framework == 'cis-aws' else 'EKS'} {control}" if column == "cis" else control
        for name in names:
            by_policy.setdefault(name, {}).setdefault(column, []).append(label)
    out = ["### Policy to control mapping", "",
           "| Policy | " + " | ".join(title for _, title in FRAMEWORK_COLUMNS) + " |",
           "|---|" + "---|" * len(FRAMEWORK_COLUMNS)]
    for policy in policies():
        cells = [", ".join(sorted(set(by_policy.get(policy.name, {}).get(key, [])))) or "-"
                 for key, _ in FRAMEWORK_COLUMNS]
        out.append(f"| [`{policy.name}`](#{policy.name}) | " + " | ".join(_cell(c) for c in cells) + " |")
    out += ["", "### Coverage per framework", "",
            "Controls that apply to the resource types the program creates (catalogued in `planning/controls.py`).",
            "", "| Framework | Catalogued | Covered | Deliberately not covered |", "|---|---|---|---|"]
    for framework, controls in CATALOGUE.items():
        done = sum(1 for c in controls if (framework, c.id) in covered)
        out.append(f"| {FRAMEWORK_NAMES[framework]} | {len(controls)} | {done} | {len(controls) - done} |")
    for framework, controls in CATALOGUE.items():
        out += ["", f"#### {FRAMEWORK_NAMES[framework]}", "", "| Control | Title | Covered by / why not |",
                "|---|---|---|"]
        for control in controls:
            names = covered.get((framework, control.id))
            verdict = ", ".join(f"`{n}`" for n in names) if names else f"not covered: {control.not_covered}"
            out.append(f"| {control.id} | {_cell(control.title)} | {_cell(verdict)} |")
    return "\n".join(out) + "\n"


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
    text = replace_region(text, FRAMEWORKS, render_frameworks(), required=False)
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
