"""The import rules of ``components/`` and ``config/``, read from the source with ``ast`` (nothing is imported).

Why a hand-written check rather than import-linter: the rules are two short tables, the check needs no extra
dependency, and it counts every import, including those under ``if TYPE_CHECKING:`` and inside functions, which
hide cycles from a runtime import graph but not from the reader.

A module belongs to the *unit* with the longest matching prefix. A module may import another module of its own
unit, or a module of a unit with a strictly lower rank. Units with the same rank are independent siblings
(``network``, ``cluster`` and ``backup`` do not import each other). Separately, the module graph has no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# Layer 0 at the bottom. A stack's components are composed in this order by __main__.py.
COMPONENT_UNITS: Mapping[str, float] = {
    "components.core": 0,
    "components.network": 1,
    "components.cluster": 1,
    "components.backup": 1,
    "components.delivery": 1,  # CI reach: the in-VPC runner
    "components.data": 2,
    "components.services": 3,  # the contract both runtimes share
    "components.services.eks": 3.5,
    "components.services.vm": 3.5,
    "components.edge": 4,
    "components.observability": 5,
    "components.runtime": 6,  # the runtime seam: composes one implementation per runtime from all of the above
}

# The config tree: leaf facts, the model base, field types shared by sections, the sections, then the root.
CONFIG_UNITS: Mapping[str, float] = {
    "config.errors": 0, "config.catalog": 0, "config.credentials": 0, "config.cron": 0, "config.tiers": 0,
    "config.charts": 0, "config.image_pins": 0,
    "config.base": 1,
    "config.images": 2, "config.ingress": 2, "config.vector": 2,
    "config.network": 3, "config.cluster": 3, "config.backup": 3, "config.budget": 3, "config.data": 3,
    "config.delivery": 3,
    "config.services": 4,
    "config.edge": 5, "config.vm": 5,
    "config.observability": 6,
    "config.platform": 7,
    "config.loader": 8,
    "config.reference": 9,
    "config": 9,  # the package itself re-exports the loader
}

# Whole trees that must not be imported from another tree (config knows nothing of components).
FORBIDDEN_TREES: Mapping[str, tuple[str, ...]] = {"config": ("components",)}


@dataclass(frozen=True)
class Violation:
    importer: str
    imported: str
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.imported}: {self.why}"


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of ``packages`` under ``root``, by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(path: Path, name: str, known: Iterable[str]) -> list[tuple[str, int]]:
    """The known modules ``path`` imports, with line numbers; ``from pkg import mod`` counts as ``pkg.mod``."""
    known = set(known)
    is_package = path.name == "__init__.py"
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.append((full if full in known else base, node.lineno))
    return sorted({(mod, line) for mod, line in out if mod in known})


def unit_of(module: str, units: Mapping[str, float]) -> str | None:
    best = None
    for unit in units:
        if (module == unit or module.startswith(unit + ".")) and (best is None or len(unit) > len(best)):
            best = unit
    return best


def layer_violations(root: Path, units: Mapping[str, float], packages: Iterable[str],
                     forbidden: Mapping[str, tuple[str, ...]] = FORBIDDEN_TREES) -> list[Violation]:
    """Upward or sideways imports between units, imports into forbidden trees, and modules in no unit."""
    mods = modules(root, packages)
    known = set(mods)
    problems: list[Violation] = []
    for name, path in mods.items():
        tree = name.split(".")[0]
        for imported, line in imports(path, name, known):
            if imported.split(".")[0] in forbidden.get(tree, ()):
                problems.append(Violation(name, imported, line, f"{tree} must not import {imported.split('.')[0]}"))
                continue
            mine, theirs = unit_of(name, units), unit_of(imported, units)
            if mine is None or theirs is None:
                if imported.split(".")[0] == tree and name != tree:
                    problems.append(Violation(name, imported, line, "module belongs to no layer; add it to the table"))
                continue
            if mine == theirs or mine.split(".")[0] != theirs.split(".")[0] or units[theirs] < units[mine]:
                continue  # each tree has its own layers: components may use any of config
            where = "a sibling of" if units[theirs] == units[mine] else "a layer above"
            problems.append(Violation(name, imported, line, f"{theirs} is {where} {mine}"))
    return problems


def cycles(root: Path, packages: Iterable[str]) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan), each sorted, in a stable order."""
    mods = modules(root, packages)
    graph = {name: sorted({m for m, _ in imports(path, name, mods)} - {name}) for name, path in mods.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)
