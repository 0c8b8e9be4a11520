"""The plan's component graph, laid out in pure Python and drawn as SVG.

``pulumi stack graph`` needs a deployed stack; this draws the graph of a plan. Nodes are the program's
top-level components, an edge A -> B means resources of A take inputs from (or depend on) resources of B.
The layout is a small layered (Sugiyama-style) one: components that depend on nothing sit in the bottom
row, every other component one row above its highest dependency, rows ordered by the barycentre of their
neighbours to reduce crossings. It needs no Graphviz binary (nothing to install on a laptop or in CI) and
its output is byte-for-byte stable across machines, which a ``dot`` of another version would not be.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from planning.model import Plan

NODE_HEIGHT = 46
ROW_GAP = 70
COL_GAP = 28
CHAR_WIDTH = 7.4
MARGIN = 16


@dataclass(frozen=True)
class ComponentGraph:
    """Components with their resource counts, and dependency edges weighted by resource-level links."""

    nodes: tuple[str, ...]
    resources: Mapping[str, int]
    edges: Mapping[tuple[str, str], int]


def component_graph(plan: Plan) -> ComponentGraph:
    """Top-level components of ``plan`` and the links between them (self-links and providers left out)."""
    components = [r.name for r in plan if not r.custom and plan.component_of(r) is None]
    known = set(components)
    counts: Counter[str] = Counter()
    edges: Counter[tuple[str, str]] = Counter()
    for res in plan:
        if not res.custom:
            continue
        source = plan.component_label(res)
        counts[source] += 1
        if source not in known:
            continue
        targets = set(res.dependencies) | {u for urns in res.property_dependencies.values() for u in urns}
        for urn in targets:
            dep = plan.by_urn(urn)
            if dep is None:
                continue
            target = plan.component_label(dep)
            if target != source and target in known:
                edges[(source, target)] += 1
    return ComponentGraph(tuple(sorted(components)), {c: counts[c] for c in components}, dict(edges))


def _ranks(graph: ComponentGraph) -> dict[str, int]:
    """Row of each node: 0 for components that depend on nothing, else one above the highest dependency."""
    deps: dict[str, set[str]] = defaultdict(set)
    for a, b in graph.edges:
        deps[a].add(b)
    rank: dict[str, int] = {}

    def visit(node: str, path: frozenset[str]) -> int:
        if node not in rank:
            # A cycle (never expected in a Pulumi plan) is cut where it closes instead of recursing forever.
            below = [visit(d, path | {node}) for d in sorted(deps[node]) if d not in path]
            rank[node] = 1 + max(below) if below else 0
        return rank[node]

    for node in graph.nodes:
        visit(node, frozenset())
    return rank


def _order(graph: ComponentGraph, rank: Mapping[str, int]) -> list[list[str]]:
    rows: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for node in graph.nodes:
        rows[rank[node]].append(node)
    neighbours: dict[str, set[str]] = defaultdict(set)
    for a, b in graph.edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    for _ in range(4):  # a few down and up sweeps settle a graph of this size
        for sweep in (range(1, len(rows)), range(len(rows) - 2, -1, -1)):
            for i in sweep:
                position = {n: p for row in rows for p, n in enumerate(row)}

                keys: dict[str, tuple[float, str]] = {}
                for node in rows[i]:
                    near = [position[m] for m in neighbours[node] if abs(rank[m] - i) == 1]
                    keys[node] = (sum(near) / len(near) if near else position[node], node)
                rows[i].sort(key=keys.__getitem__)
    return rows


def _detail(graph: ComponentGraph, node: str, costs: Mapping[str, float]) -> str:
    detail = f"{graph.resources.get(node, 0)} resources"
    return detail + (f" · ${costs[node]:,.0f}/mo" if node in costs else "")


def _width(label: str, detail: str) -> float:
    return max(96.0, len(label) * CHAR_WIDTH + 24, len(detail) * CHAR_WIDTH * 0.85 + 20)


def render_svg(graph: ComponentGraph, cost_by_component: Mapping[str, float] | None = None) -> str:
    """The graph as an inline SVG: one ``g.node`` per component, one ``g.edge`` per dependency."""
    costs = cost_by_component or {}
    rank = _ranks(graph)
    rows = _order(graph, rank)
    details = {n: _detail(graph, n, costs) for n in graph.nodes}
    widths = {n: _width(n, details[n]) for n in graph.nodes}
    row_widths = [sum(widths[n] for n in row) + COL_GAP * (len(row) - 1) for row in rows]
    width = max(row_widths, default=200) + 2 * MARGIN
    height = len(rows) * NODE_HEIGHT + max(len(rows) - 1, 0) * ROW_GAP + 2 * MARGIN
    boxes: dict[str, tuple[float, float, float]] = {}
    for i, row in enumerate(rows):
        y = MARGIN + (len(rows) - 1 - i) * (NODE_HEIGHT + ROW_GAP)  # foundations at the bottom
        x = MARGIN + (width - 2 * MARGIN - row_widths[i]) / 2
        for node in row:
            boxes[node] = (x, y, widths[node])
            x += widths[node] + COL_GAP

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="component-graph" class="graph" role="img" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}">',
             "<title>Dependency graph of the plan's components</title>",
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
             'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
             '<path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>']
    for (a, b), count in sorted(graph.edges.items()):
        ax, ay, aw = boxes[a]
        bx, by, bw = boxes[b]
        x1, y1 = ax + aw / 2, ay + NODE_HEIGHT
        x2, y2 = bx + bw / 2, by
        if y2 <= y1:  # only after a cut cycle: draw it straight
            path = f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"
        else:
            mid = (y1 + y2) / 2
            path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"
        parts.append(f'<g class="edge" data-from="{escape(a)}" data-to="{escape(b)}">'
                     f"<title>{escape(a)} depends on {escape(b)} ({count} resource link{'s' * (count != 1)})</title>"
                     f'<path d="{path}" marker-end="url(#arrow)" stroke-width="{min(1 + count / 20, 2.5):.1f}"/></g>')
    for node in graph.nodes:
        x, y, w = boxes[node]
        detail = details[node]
        parts.append(f'<g class="node" data-component="{escape(node)}"><title>{escape(node)}: {escape(detail)}</title>'
                     f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{NODE_HEIGHT}" rx="6"/>'
                     f'<text x="{x + w / 2:.1f}" y="{y + 19:.1f}" class="label">{escape(node)}</text>'
                     f'<text x="{x + w / 2:.1f}" y="{y + 36:.1f}" class="detail">{escape(detail)}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)
