"""Small builders for Grafana dashboard JSON (schema 39), so dashboards read as lists of queries.

Panels are laid out left to right in a 24-column grid; ``Layout`` tracks the position so a dashboard
is declared in reading order without hand-written coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
CLOUDWATCH_UID = "cloudwatch"
CLOUDWATCH = {"type": "cloudwatch", "uid": CLOUDWATCH_UID}
GRID_WIDTH = 24


@dataclass
class Layout:
    """Assigns ids and grid positions in declaration order."""

    x: int = 0
    y: int = 0
    row_height: int = 0
    next_id: int = 1
    panels: list[dict[str, Any]] = field(default_factory=list)

    def add(self, panel: dict[str, Any], *, w: int, h: int) -> dict[str, Any]:
        if self.x + w > GRID_WIDTH:
            self._newline()
        panel = {"id": self.next_id, **panel, "gridPos": {"h": h, "w": w, "x": self.x, "y": self.y}}
        self.next_id += 1
        self.x += w
        self.row_height = max(self.row_height, h)
        self.panels.append(panel)
        return panel

    def row(self, title: str, *, repeat: str | None = None) -> None:
        self._newline()
        panel: dict[str, Any] = {"type": "row", "title": title, "collapsed": False, "panels": []}
        if repeat:
            panel["repeat"] = repeat
        self.add(panel, w=GRID_WIDTH, h=1)
        self._newline()

    def _newline(self) -> None:
        self.y += self.row_height
        self.x = 0
        self.row_height = 0


def prom(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "datasource": PROMETHEUS, "expr": expr, "legendFormat": legend, "range": True}


def cloudwatch(namespace: str, metric: str, dimensions: Mapping[str, Any], *, stat: str = "Sum",
               label: str = "", ref: str = "A", region: str = "default") -> dict[str, Any]:
    """A CloudWatch metric query; dimension values may be Pulumi Outputs (resolved when serialised)."""
    return {
        "refId": ref, "datasource": CLOUDWATCH, "queryMode": "Metrics", "region": region,
        "namespace": namespace, "metricName": metric, "dimensions": dict(dimensions), "statistic": stat,
        "period": "60", "matchExact": True, "metricQueryType": 0, "metricEditorMode": 0, "label": label,
        "id": "", "expression": "",
    }


def timeseries(title: str, targets: Sequence[dict[str, Any]], *, unit: str = "short", description: str = "",
               datasource: Mapping[str, str] = PROMETHEUS, stack: bool = False,
               thresholds: Sequence[tuple[float, str]] = ()) -> dict[str, Any]:
    custom: dict[str, Any] = {"lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    defaults: dict[str, Any] = {"unit": unit, "custom": custom}
    if thresholds:
        custom["thresholdsStyle"] = {"mode": "line"}
        defaults["thresholds"] = _thresholds(thresholds)
    return {
        "type": "timeseries", "title": title, "description": description, "datasource": dict(datasource),
        "targets": list(targets), "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def stat(title: str, targets: Sequence[dict[str, Any]], *, unit: str = "short", description: str = "",
         datasource: Mapping[str, str] = PROMETHEUS,
         thresholds: Sequence[tuple[float, str]] = ()) -> dict[str, Any]:
    return {
        "type": "stat", "title": title, "description": description, "datasource": dict(datasource),
        "targets": list(targets),
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": _thresholds(thresholds)}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "value", "graphMode": "area", "textMode": "auto"},
    }


def bar_gauge(title: str, targets: Sequence[dict[str, Any]], *, unit: str = "short",
              description: str = "") -> dict[str, Any]:
    return {
        "type": "bargauge", "title": title, "description": description, "datasource": dict(PROMETHEUS),
        "targets": list(targets),
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": _thresholds(())}, "overrides": []},
        "options": {"orientation": "horizontal", "displayMode": "gradient",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    }


def _thresholds(steps: Sequence[tuple[float, str]]) -> dict[str, Any]:
    return {"mode": "absolute",
            "steps": [{"color": "green", "value": None}, *({"color": c, "value": v} for v, c in steps)]}


def datasource_variable() -> dict[str, Any]:
    return {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {"text": "Prometheus", "value": "prometheus"}, "hide": 0}


def custom_variable(name: str, label: str, values: Sequence[str]) -> dict[str, Any]:
    """A multi-value variable with a fixed list, defaulting to All (repeated rows show each value)."""
    options = [{"text": "All", "value": "$__all", "selected": True}]
    options += [{"text": v, "value": v, "selected": False} for v in values]
    return {
        "name": name, "label": label, "type": "custom", "query": ",".join(values), "multi": True,
        "includeAll": True, "current": {"text": ["All"], "value": ["$__all"], "selected": True},
        "options": options, "hide": 0,
    }


def dashboard(uid: str, title: str, layout: Layout, *, tags: Sequence[str], description: str,
              variables: Sequence[dict[str, Any]] = (), links: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["agent-platform", *tags],
        "schemaVersion": 39, "version": 1, "editable": False, "graphTooltip": 1, "timezone": "browser",
        "time": {"from": "now-6h", "to": "now"}, "refresh": "1m",
        "templating": {"list": list(variables)}, "annotations": {"list": []}, "links": list(links),
        "panels": layout.panels,
    }
