"""The PR cost comment: per-stack totals, per-component differences and the largest changed lines."""

from __future__ import annotations

import json
from pathlib import Path

from planning.cost_diff import render


def _write(directory: Path, stack: str, components: dict[str, float], lines: list[tuple[str, str, float]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    cost = {"totalMonthlyUsd": sum(components.values()), "components": components,
            "lines": [{"urn": f"urn:pulumi:{stack}::agent-platform::t::{r}", "item": i, "monthlyUsd": u}
                      for r, i, u in lines]}
    (directory / f"{stack}.json").write_text(json.dumps({"cost": cost}))


def test_difference_per_component_and_largest_lines(tmp_path: Path):
    _write(tmp_path / "base", "prod", {"cluster": 100.0, "data": 50.0},
           [("nodes", "ec2", 100.0), ("db", "rds", 50.0)])
    _write(tmp_path / "head", "prod", {"cluster": 130.0, "data": 50.0, "delivery": 4.5},
           [("nodes", "ec2", 130.0), ("db", "rds", 50.0), ("runner-logs", "logs", 4.5)])
    text = render(tmp_path / "base", tmp_path / "head", stacks=["prod"])
    assert "### prod: $184.50/month (+$34.50)" in text
    assert "| cluster | $100.00 | $130.00 | +$30.00 |" in text
    assert "| delivery | $0.00 | $4.50 | +$4.50 |" in text
    assert "data" not in text.split("Largest")[0].split("| Difference |")[1]
    assert "- `nodes` ec2: +$30.00" in text and "- `runner-logs` logs: +$4.50" in text
    assert "`db`" not in text


def test_missing_base_is_reported_not_fatal(tmp_path: Path):
    _write(tmp_path / "head", "dev", {"network": 10.0}, [("nat", "nat", 10.0)])
    text = render(tmp_path / "base", tmp_path / "head", stacks=["dev"])
    assert "### dev: $10.00/month (no base estimate)" in text


def test_unchanged_stack_says_so(tmp_path: Path):
    for side in ("base", "head"):
        _write(tmp_path / side, "dev", {"network": 10.0}, [("nat", "nat", 10.0)])
    assert "No change." in render(tmp_path / "base", tmp_path / "head", stacks=["dev"])
