"""Resource identity: what Pulumi keys state by, and the golden files that guard it.

Pulumi identifies a resource by its URN: the type chain of its parents, its own type and its name.
Change any of them without an ``aliases`` option and the engine deletes the old resource and
creates a new one, which for a database, a bucket or a KMS key means data loss. The golden files
under ``tests/golden/identity/`` list every stack's identities; a test compares each plan with them.

    python -m planning.identity            # compare every stack with its golden file
    python -m planning.identity --update   # rewrite the golden files (a deliberate act)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from planning.engine import PROJECT, ROOT, STACKS
from planning.model import Plan, PlannedResource

GOLDEN_DIR = ROOT / "tests" / "golden" / "identity"
_ROOT_TYPE = "pulumi:pulumi:Stack"


def identity_of(urn: str) -> str:
    """A URN without the ``urn:pulumi:<stack>::<project>::`` prefix: ``parent$types::name``."""
    return urn.split("::", 2)[2]


def _qualified_type(urn: str) -> str:
    return identity_of(urn).split("::", 1)[0]


def _make_urn(stack: str, parent_urn: str | None, type_: str, name: str) -> str:
    """As the engine builds it (pkg/resource/urn.go): the parent's whole type chain, the stack left out."""
    chain = type_
    if parent_urn and _qualified_type(parent_urn) != _ROOT_TYPE:
        chain = f"{_qualified_type(parent_urn)}${type_}"
    return f"urn:pulumi:{stack}::{PROJECT}::{chain}::{name}"


def previous_urns(plan: Plan) -> dict[str, set[str]]:
    """Every URN each resource answers to, keyed by its own URN as the engine would compute it.

    The mock engine abbreviates URNs (only the immediate parent's type); the real engine chains every
    ancestor's type, so identities are recomputed here. An alias that leaves the parent unset inherits
    every URN the parent answers to, as in the engine, so renaming a component carries its children along.
    """
    by_urn = {r.urn: r for r in plan.resources}
    memo: dict[str, tuple[str, set[str]]] = {}

    def resolve(res: PlannedResource) -> tuple[str, set[str]]:
        if res.urn not in memo:
            parent = by_urn.get(res.parent or "")
            parent_now, parent_urns = resolve(parent) if parent is not None else (None, {None})
            now = _make_urn(plan.stack, parent_now, res.type, res.name)
            found = {_make_urn(plan.stack, p, res.type, res.name) for p in parent_urns}
            for alias in res.aliases:
                type_, name = alias.type or res.type, alias.name or res.name
                if alias.urn:
                    found.add(alias.urn)
                elif alias.no_parent:
                    found.add(_make_urn(plan.stack, None, type_, name))
                elif alias.parent_urn:
                    found.add(_make_urn(plan.stack, alias.parent_urn, type_, name))
                else:
                    found.update(_make_urn(plan.stack, p, type_, name) for p in parent_urns)
            memo[res.urn] = (now, found)
        return memo[res.urn]

    return dict(resolve(r) for r in plan.resources)


def identities(plan: Plan) -> list[str]:
    return sorted(identity_of(urn) for urn in previous_urns(plan))


@dataclass
class IdentityDiff:
    """How a plan's identities differ from the golden list."""

    replaced: list[str] = field(default_factory=list)  # in the golden file, answered by no resource
    renamed: dict[str, str] = field(default_factory=dict)  # golden identity -> new identity, via an alias
    added: list[str] = field(default_factory=list)  # new identities that claim no golden one

    @property
    def changed(self) -> bool:
        return bool(self.replaced or self.renamed or self.added)

    def report(self, stack: str) -> str:
        lines = [f"resource identities of stack '{stack}' differ from {GOLDEN_DIR.relative_to(ROOT)}/{stack}.txt:"]
        if self.replaced:
            lines.append(f"  {len(self.replaced)} would be REPLACED (deleted and created again, losing their data):")
            lines += [f"    - {i}" for i in self.replaced]
            lines.append("    Give the renamed resource `aliases=[pulumi.Alias(name=<old name>, ...)]` so Pulumi "
                         "keeps it, or, if the replacement is intended, say so and update the golden file.")
        if self.renamed:
            lines.append(f"  {len(self.renamed)} renamed, covered by aliases (no replacement):")
            lines += [f"    - {old} -> {new}" for old, new in sorted(self.renamed.items())]
        if self.added:
            lines.append(f"  {len(self.added)} new:")
            lines += [f"    + {i}" for i in self.added]
        lines.append("  Once every change above is deliberate: python -m planning.identity --update")
        return "\n".join(lines)


def compare(golden: Iterable[str], plan: Plan) -> IdentityDiff:
    golden_set = set(golden)
    answers = previous_urns(plan)
    current = {identity_of(urn) for urn in answers}
    diff = IdentityDiff()
    claimed: set[str] = set()
    for urn, previous in sorted(answers.items()):
        new_identity = identity_of(urn)
        olds = {identity_of(u) for u in previous} & golden_set
        claimed |= olds
        for old in sorted(olds - {new_identity}):
            if old not in current:
                diff.renamed[old] = new_identity
        if new_identity not in golden_set and not olds:
            diff.added.append(new_identity)
    diff.replaced = sorted(golden_set - claimed)
    diff.added.sort()
    return diff


def golden_path(stack: str) -> Path:
    return GOLDEN_DIR / f"{stack}.txt"


def read_golden(stack: str) -> list[str]:
    path = golden_path(stack)
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def write_golden(stack: str, plan: Plan) -> Path:
    path = golden_path(stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Resource identities of stack '{stack}' (parent types$type::name). Pulumi replaces a resource\n"
              "# whose identity changes without an alias. Regenerate: python -m planning.identity --update\n")
    path.write_text(header + "".join(f"{i}\n" for i in identities(plan)))
    return path


def main(argv: list[str] | None = None, plans: Mapping[str, Plan] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planning.identity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="rewrite the golden files from the current plans")
    parser.add_argument("stacks", nargs="*", metavar="STACK", help=f"stacks to check (default: {' '.join(STACKS)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.stacks) - set(STACKS))
    if unknown:
        parser.error(f"unknown stack(s) {unknown}; choose from {list(STACKS)}")
    from planning.engine import run_program

    status = 0
    for stack in args.stacks or STACKS:
        plan = plans[stack] if plans is not None else run_program(stack)
        if args.update:
            print(f"wrote {write_golden(stack, plan).relative_to(ROOT)} ({len(plan)} resources)")
            continue
        diff = compare(read_golden(stack), plan)
        if diff.changed:
            print(diff.report(stack))
            status = 1
        else:
            print(f"{stack}: {len(plan)} resource identities match the golden file")
    return status


if __name__ == "__main__":
    sys.exit(main())
