"""One self-contained HTML page per plan: what a reviewer looks at instead of scrolling a terminal.

Built only from the document ``python -m planning --json`` writes (plan, cost, review), so a saved plan gives
the same page as a live one. Everything is inline (style, SVG, no script, no fonts or images fetched): the
file opens offline, from a CI artifact or an e-mail attachment. Collapsing uses ``<details>``, which needs
no script. Inputs come from the saved plan, whose secrets are already masked.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any

from planning.model import MASK, UNKNOWN, Plan, PlannedResource, is_secret, plan_from_json
from planning.report.diff import KNOWN_AFTER_APPLY, InputChange, PlanDiff, diff_plans
from planning.report.graph import component_graph, render_svg

STYLE = Path(__file__).with_name("report.css")
SEVERITIES = ("critical", "high", "medium", "low", "")


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _delta(before: float, after: float) -> str:
    change = after - before
    cls = "up" if change > 0 else "down" if change < 0 else ""
    sign = "+" if change > 0 else "-" if change < 0 else "±"
    return f'<span class="delta {cls}">{sign}{_usd(abs(change))}</span>'


def _display_inputs(value: Any) -> Any:
    """Inputs for reading: secrets as the mask, values unknown until apply said so."""
    if is_secret(value):
        return MASK
    if isinstance(value, dict):
        return {k: _display_inputs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_display_inputs(v) for v in value]
    if value == UNKNOWN:
        return KNOWN_AFTER_APPLY
    return value


def _count_secrets(value: Any) -> int:
    if is_secret(value):
        return 1
    if isinstance(value, dict):
        return sum(_count_secrets(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_secrets(v) for v in value)
    return 0


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- sections ------------------------------------------------------------------------------------------------------


def _header(document: Mapping[str, Any], plan: Plan, diff: PlanDiff | None) -> str:
    review = document.get("review")
    cost = document.get("cost") or {}
    custom = sum(1 for r in plan if r.custom)
    components = len(component_graph(plan).nodes)
    cards: list[tuple[str, str, bool]] = [("resources", f"{custom}", False), ("components", f"{components}", False)]
    if review:
        summary = review["summary"]
        verdict = ("PASS: no mandatory policy is violated" if summary["passed"] else
                   f"FAIL: {summary['mandatory']} mandatory policy violation(s) block deployment")
        cls = "pass" if summary["passed"] else "fail"
        cards += [("policies", str(summary["policies"]), False),
                  ("mandatory violations", str(summary["mandatory"]), summary["mandatory"] > 0),
                  ("advisory findings", str(summary["advisory"]), False)]
    else:
        verdict, cls = "NOT REVIEWED: planned without the policy review", "fail"
    if cost:
        budget = cost.get("budgetUsd")
        over = budget is not None and cost["totalMonthlyUsd"] > budget
        cards.append(("monthly cost" + (f" of {_usd(budget)} budget" if budget is not None else ""),
                      _usd(cost["totalMonthlyUsd"]), over))
    if diff is not None:
        counts = diff.counts()
        cards.append((f"changes against base ({diff.base_stack})",
                      ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "none",
                      bool(counts["replaced"] or counts["removed"])))
    cards_html = "".join(f'<div class="count{" bad" if bad else ""}"><b>{escape(value)}</b>{escape(label)}</div>'
                         for label, value, bad in cards)
    return (f'<h1>Stack <span id="stack">{escape(plan.stack)}</span>: offline plan and policy review</h1>'
            f'<div id="verdict" class="{cls}">{escape(verdict)}</div>'
            f'<div class="counts" id="counts">{cards_html}</div>')


def _findings(document: Mapping[str, Any], docs_url: str) -> str:
    review = document.get("review")
    if not review:
        return '<section id="findings"><h2>Policy findings</h2><p>The plan was not reviewed.</p></section>'
    meta = {p["name"]: p for p in review["policies"]}
    violations = review["violations"]
    pack = review["pack"]
    out = ['<section id="findings"><h2>Policy findings</h2>',
           f'<p class="muted">{escape(pack["name"])} {escape(pack["version"])}: {len(review["policies"])} policies '
           f"over {review['summary']['resources']} resources. Each policy is described, with its settings per "
           f'stack, in <a href="{escape(docs_url)}">docs/policies.md</a>.</p>']
    if not violations:
        out.append("<p>Every policy passes.</p>")
    for severity in SEVERITIES:
        group = [v for v in violations if v["severity"] == severity]
        if not group:
            continue
        out.append(f'<h3 class="severity" data-severity="{escape(severity or "unspecified")}">'
                   f"{escape((severity or 'unspecified').capitalize())} ({len(group)})</h3>")
        by_component: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for v in group:
            by_component[v["component"]].append(v)
        for component in sorted(by_component):
            out.append(f"<h4>{escape(component)}</h4>")
            for v in by_component[component]:
                policy = meta.get(v["policy"], {})
                refs = ", ".join(policy.get("references") or [])
                out.append(
                    f'<div class="finding {escape(v["enforcement"])}" data-policy="{escape(v["policy"])}">'
                    f'<span class="badge {escape(v["enforcement"])}">{escape(v["enforcement"])}</span>'
                    f'<a class="policy" href="{escape(docs_url)}#{escape(v["policy"])}">{escape(v["policy"])}</a> '
                    f'<code>{escape(v["resourceType"])}</code> <code>{escape(v["resourceName"])}</code>'
                    f'<div class="message">{escape(v["message"])}</div>'
                    + (f"<details><summary>Remediation</summary><p>{escape(policy['remediation'])}</p>"
                       + (f'<p class="muted">{escape(refs)}</p>' if refs else "") + "</details>"
                       if policy.get("remediation") else "")
                    + "</div>")
    out.append("</section>")
    return "\n".join(out)


def _bars(by_component: Mapping[str, float]) -> str:
    """A horizontal bar chart (inline SVG) of the monthly cost per component, largest first."""
    items = sorted(by_component.items(), key=lambda kv: (-kv[1], kv[0]))
    top = max((v for _, v in items), default=0.0) or 1.0
    label_w, bar_w, row_h = 150, 420, 22
    height = row_h * len(items) + 6
    rows = []
    for i, (name, value) in enumerate(items):
        y = i * row_h + 3
        rows.append(f'<g class="bar" data-component="{escape(name)}"><text x="0" y="{y + 14}">{escape(name)}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{max(value / top * bar_w, 1):.1f}" height="{row_h - 8}"/>'
                    f'<text class="usd" x="{label_w + bar_w + 90}" y="{y + 14}">{escape(_usd(value))}</text></g>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="cost-chart" class="bars" role="img" '
            f'width="{label_w + bar_w + 96}" height="{height}"><title>Monthly cost by component</title>'
            + "".join(rows) + "</svg>")


def _cost(document: Mapping[str, Any]) -> str:
    cost = document.get("cost")
    if not cost:
        return ""
    from planning.cost_report import USAGE_FIELDS  # the usage model's own names, units and descriptions

    lines_by_component: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for line in cost["lines"]:
        lines_by_component[line["component"]].append(line)
    out = ['<section id="cost"><h2>Estimated monthly cost</h2>',
           f'<p><b id="cost-total">{escape(_usd(cost["totalMonthlyUsd"]))}</b> a month in '
           f'{escape(cost["region"])} at on-demand list prices, {cost["hoursPerMonth"]} hours a month'
           + (f', budget {escape(_usd(cost["budgetUsd"]))} '
              f'({"within" if cost["withinBudget"] else "OVER"} budget)' if cost.get("budgetUsd") is not None else "")
           + ".</p>", _bars(cost["components"]),
           '<table id="cost-table"><tr><th>Component</th><th class="usd">Monthly</th><th>Priced parts</th></tr>']
    for name, value in sorted(cost["components"].items(), key=lambda kv: (-kv[1], kv[0])):
        parts = sorted(lines_by_component[name], key=lambda x: -x["monthlyUsd"])
        detail = "".join(f"<tr><td>{escape(p['resource'])}</td><td>{escape(p['item'])}</td>"
                         f'<td class="usd">{p["quantity"]:,g} {escape(p["unit"])} &times; ${p["unitUsd"]:g}</td>'
                         f'<td class="usd">{escape(_usd(p["monthlyUsd"]))}</td></tr>' for p in parts)
        out.append(f'<tr data-component="{escape(name)}"><td>{escape(name)}</td>'
                   f'<td class="usd">{escape(_usd(value))}</td><td><details><summary>{len(parts)} line(s)</summary>'
                   f"<table>{detail}</table></details></td></tr>")
    out.append("</table>")
    if cost.get("unpriced"):
        out.append("<h3>Not priced (not in the total)</h3><ul>" + "".join(
            f"<li><code>{escape(u['resource'])}</code> ({escape(u['type'])}): {escape(u['reason'])}</li>"
            for u in cost["unpriced"]) + "</ul>")
    usage = cost.get("usage") or {}
    out.append('<h3>Usage assumptions</h3><p class="muted">From <code>cost.usage</code> in the stack config '
               '(tier defaults applied); see docs/cost.md.</p><table id="usage"><tr><th>Assumption</th>'
               '<th class="usd">Value</th><th>Unit</th><th>Meaning</th></tr>')
    for spec in USAGE_FIELDS.values():
        if spec.camel in usage:
            out.append(f"<tr><td><code>{escape(spec.camel)}</code></td><td class=\"usd\">{usage[spec.camel]:,g}</td>"
                       f"<td>{escape(spec.unit)}</td><td>{escape(spec.description)}</td></tr>")
    out.append("</table>")
    out.append(_llm(cost.get("llm")))
    out.append("</section>")
    return "\n".join(out)


def _llm(llm: Mapping[str, Any] | None) -> str:
    """LLM token spend: apart from the AWS total, with its own budget and the traffic it assumes."""
    if not llm:
        return ""
    budget = llm.get("budgetUsd")
    out = ['<h3 id="llm">LLM tokens (provider bills, not in the AWS total)</h3>',
           f'<p><b id="llm-total">{escape(_usd(llm["totalMonthlyUsd"]))}</b> a month'
           + (f', LLM budget {escape(_usd(budget))} ({"within" if llm["withinBudget"] else "OVER"} budget)'
              if budget is not None else "")
           + '; traffic from <code>cost.llm</code> and each service\'s <code>defaultModel</code>, prices from '
             "<code>policies/agent_costing/prices/llm.json</code>.</p>",
           '<table id="llm-table"><tr><th>Service</th><th>Model</th><th class="usd">Requests/month</th>'
           '<th class="usd">Tokens in</th><th class="usd">Tokens out</th><th class="usd">Monthly</th></tr>']
    for line in llm.get("lines", []):
        out.append(f"<tr><td>{escape(line['service'])}</td><td><code>{escape(line['model'])}</code></td>"
                   f"<td class=\"usd\">{line['requestsPerMonth']:,.0f}</td>"
                   f"<td class=\"usd\">{line['inputTokens']:,}</td><td class=\"usd\">{line['outputTokens']:,}</td>"
                   f"<td class=\"usd\">{escape(_usd(line['monthlyUsd']))}</td></tr>")
    out.append("</table>")
    if llm.get("unpriced"):
        out.append("<ul>" + "".join(f"<li>{escape(u['service'])}: {escape(u['reason'])}</li>"
                                    for u in llm["unpriced"]) + "</ul>")
    return "\n".join(out)


def _graph(plan: Plan, document: Mapping[str, Any]) -> str:
    graph = component_graph(plan)
    costs = (document.get("cost") or {}).get("components") or {}
    return ('<section id="graph"><h2>Component dependency graph</h2>'
            '<p class="muted">An arrow from A to B: resources of A take inputs from, or depend on, resources of B. '
            "Foundations sit at the bottom.</p>" + render_svg(graph, costs) + "</section>")


def _resource(res: PlannedResource) -> str:
    flags = "".join(f'<span class="badge">{f}</span>' for f, on in
                    (("protect", res.protect), ("retain", res.retain_on_delete)) if on)
    secrets = _count_secrets(res.inputs)
    if secrets:
        flags += f'<span class="badge secret">{secrets} secret{"s" * (secrets != 1)} masked</span>'
    body = json.dumps(_display_inputs(res.inputs), indent=2, sort_keys=True, default=str)
    return (f'<details class="resource" data-urn="{escape(res.urn)}"><summary>{escape(res.name)} '
            f'<span class="muted">{escape(res.type)}</span> {flags}</summary><pre>{escape(body)}</pre></details>')


def _tree(plan: Plan) -> str:
    children: dict[str, list[PlannedResource]] = defaultdict(list)
    for res in plan:
        if res.parent:
            children[res.parent].append(res)

    def walk(res: PlannedResource) -> Iterable[str]:
        for child in children.get(res.urn, []):
            if child.custom:
                yield _resource(child)
            kids = list(walk(child))
            if kids:
                label = "" if child.custom else f"<summary>{escape(child.name)} <span class=\"muted\">" \
                                                 f"{escape(child.type)}</span></summary>"
                yield (f'<div style="margin-left:18px">{"".join(kids)}</div>' if child.custom else
                       f'<details class="resource">{label}{"".join(kids)}</details>')

    out = ['<section id="resources"><h2>Resources by component</h2>',
           '<p class="muted">Each resource with the inputs the engine and the policy pack see; secret values are '
           "masked.</p>"]
    top_level = [r for r in plan if plan.component_of(r) is None]
    for res in sorted(top_level, key=lambda r: (r.custom, r.name)):
        if res.custom:
            out.append(_resource(res))
            continue
        count = sum(1 for r in plan if r.custom and plan.component_label(r) == res.name)
        out.append(f'<details class="component" data-component="{escape(res.name)}"><summary>{escape(res.name)} '
                   f'<span class="muted">{escape(res.type)}, {count} resources</span></summary>'
                   + "".join(walk(res)) + "</details>")
    out.append("</section>")
    return "\n".join(out)


def _changes_table(changes: Iterable[InputChange]) -> str:
    rows = "".join(f"<tr><td><code>{escape(c.path)}</code></td><td><del>{escape(_short(c.before))}</del></td>"
                   f"<td><ins>{escape(_short(c.after))}</ins></td></tr>" for c in changes)
    return f"<table>{rows}</table>" if rows else ""


def _diff(diff: PlanDiff) -> str:
    out = [f'<section id="changes"><h2>Changes against the base plan ({escape(diff.base_stack)})</h2>']
    if diff.cost_before is not None and diff.cost_after is not None:
        out.append(f'<p id="cost-delta">Monthly cost {escape(_usd(diff.cost_before))} → '
                   f"{escape(_usd(diff.cost_after))} ({_delta(diff.cost_before, diff.cost_after)})</p>")
        if diff.component_cost:
            out.append('<table><tr><th>Component</th><th class="usd">Before</th><th class="usd">After</th>'
                       '<th class="usd">Change</th></tr>' + "".join(
                           f'<tr><td>{escape(n)}</td><td class="usd">{escape(_usd(a))}</td>'
                           f'<td class="usd">{escape(_usd(b))}</td><td class="usd">{_delta(a, b)}</td></tr>'
                           for n, (a, b) in diff.component_cost.items()) + "</table>")
    if diff.new_findings or diff.resolved_findings:
        out.append("<h3>Policy findings</h3><ul>" + "".join(
            f'<li><span class="badge removed">new</span>{escape(v["policy"])} on <code>{escape(v["resourceName"])}'
            "</code></li>" for v in diff.new_findings) + "".join(
            f'<li><span class="badge added">resolved</span>{escape(v["policy"])} on '
            f'<code>{escape(v["resourceName"])}</code></li>' for v in diff.resolved_findings) + "</ul>")
    if not diff.changes:
        out.append("<p>No resource changes.</p>")
    for change in diff.changes:
        note = {"replaced": "identity changed without an alias: deleted and created again",
                "renamed": f"covered by an alias (was {change.before_urn.rsplit('::', 1)[-1]})",
                "removed": "deleted", "added": "created", "changed": "updated in place unless the provider "
                "replaces on one of these inputs"}[change.kind]
        body = _changes_table(change.options) + (_changes_table(change.inputs) if change.kind != "added" else "")
        head = (f'<span class="badge {change.kind}">{change.kind}</span><code>{escape(change.name)}</code> '
                f'<span class="muted">{escape(change.type)} in {escape(change.component)}: {escape(note)}</span>')
        out.append(f'<details class="change" data-kind="{change.kind}"><summary>{head}</summary>{body}</details>'
                   if body else f'<div class="change" data-kind="{change.kind}">{head}</div>')
    out.append("</section>")
    return "\n".join(out)


def render(document: Mapping[str, Any], *, base: Mapping[str, Any] | None = None,
           docs_url: str = "docs/policies.md") -> str:
    """The page for one plan document (``base``: a document of the plan to compare against)."""
    plan = plan_from_json(document)
    diff = diff_plans(plan_from_json(base), plan, base, document) if base is not None else None
    sections = [_header(document, plan, diff)]
    nav = ["changes"] if diff is not None else []
    nav += ["findings", "cost", "graph", "resources"]
    sections.append("<nav>" + "".join(f'<a href="#{n}">{n}</a>' for n in nav) + "</nav>")
    if diff is not None:
        sections.append(_diff(diff))
    sections += [_findings(document, docs_url), _cost(document), _graph(plan, document), _tree(plan)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>agent-platform plan: {escape(plan.stack)}</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            # No script and no fetch of any kind: the page must open offline and run nothing.
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<style>{STYLE.read_text()}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n")
