"""The PR cost comment and the per-line comparison: per-stack totals, per-component differences, changed lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planning.cost import compare, diff
from planning.cost.diff import render

ROOT = Path(__file__).resolve().parent.parent


def _cost(stack: str, components: dict[str, float], lines: list[tuple[str, str, float]],
          llm: float | None = None) -> dict:
    cost = {"stack": stack, "totalMonthlyUsd": sum(components.values()), "components": components,
            "budgetUsd": 500.0,
            "lines": [{"urn": f"urn:pulumi:{stack}::agent-platform::t::{r}", "item": i, "monthlyUsd": u,
                       "component": next(iter(components)), "resource": r} for r, i, u in lines]}
    if llm is not None:
        cost["llm"] = {"totalMonthlyUsd": llm, "budgetUsd": 500.0, "lines": []}
    return cost


def _write(directory: Path, stack: str, components: dict[str, float], lines: list[tuple[str, str, float]],
           llm: float | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stack}.json"
    path.write_text(json.dumps({"stack": stack, "cost": _cost(stack, components, lines, llm)}))
    return path


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
    assert "- `nodes` ec2: $100.00 -> $130.00 (+$30.00)" in text
    assert "- `runner-logs` logs: $0.00 -> $4.50 (+$4.50)" in text
    assert "`db`" not in text


def test_two_saved_plan_files_compare_the_stack_they_name(tmp_path: Path):
    base = _write(tmp_path / "a", "staging", {"network": 10.0}, [("nat", "hours", 10.0)], llm=100.0)
    head = _write(tmp_path / "b", "staging", {"network": 4.0}, [("nat-instance", "hours", 4.0)], llm=160.0)
    text = render(base, head)
    assert "### staging: $4.00/month (-$6.00)" in text
    assert "- `nat` hours: $10.00 -> $0.00 (-$10.00)" in text
    assert "LLM tokens (estimate, not on the AWS bill): $160.00/month of $500.00 LLM budget (+$60.00)" in text


def test_main_prints_and_writes_the_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    base = _write(tmp_path / "a", "dev", {"network": 10.0}, [("nat", "hours", 10.0)])
    head = _write(tmp_path / "b", "dev", {"network": 12.0}, [("nat", "hours", 12.0)])
    out = tmp_path / "out" / "diff.md"
    assert diff.main([str(base), str(head), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "### dev: $12.00/month (+$2.00)" in printed and out.read_text() == printed


def test_missing_base_is_reported_not_fatal(tmp_path: Path):
    _write(tmp_path / "head", "dev", {"network": 10.0}, [("nat", "nat", 10.0)])
    text = render(tmp_path / "base", tmp_path / "head", stacks=["dev"])
    assert "### dev: $10.00/month (no base estimate)" in text


def test_unchanged_stack_says_so(tmp_path: Path):
    for side in ("base", "head"):
        _write(tmp_path / side, "dev", {"network": 10.0}, [("nat", "nat", 10.0)])
    assert "No change." in render(tmp_path / "base", tmp_path / "head", stacks=["dev"])


def test_the_pr_workflow_and_the_docs_call_the_moved_module():
    workflow = (ROOT / ".github" / "workflows" / "pr.yml").read_text()
    assert "-m planning.cost.diff base/out/cost-base out/cost-head --output out/cost-diff.md" in workflow
    assert "planning.cost_diff" not in workflow + (ROOT / "docs" / "ci.md").read_text()


def test_compare_shows_each_line_before_and_after(tmp_path: Path):
    base = compare.from_file(_write(tmp_path, "dev", {"network": 39.0},
                                    [("network-nat-0", "NAT gateway hours", 32.85), ("eip", "address", 6.15)]))
    head = _cost("dev", {"network": 12.0}, [("network-nat-instance", "t4g.nano hours", 12.0)])
    text = compare.render("dev", head, base)
    assert "base " + str(tmp_path / "dev.json") + ": $39.00, -$27.00)" in text
    assert "network-nat-instance: t4g.nano hours" in text and "+$12.00" in text
    assert "lines only in the base:" in text and "network-nat-0: NAT gateway hours: $32.85" in text


def test_compare_without_a_baseline_says_why(tmp_path: Path):
    missing = compare.from_ref("dev", "no-such-ref-anywhere", root=tmp_path)
    assert missing.cost is None and "git archive" in missing.problem
    text = compare.render("dev", _cost("dev", {"network": 12.0}, [("nat", "hours", 12.0)]), missing)
    assert text.startswith("Estimated monthly cost of stack dev: $12.00\n  no baseline: cannot export")


def test_a_file_without_an_estimate_is_no_baseline(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"stack": "dev", "resources": []}))
    assert compare.from_file(path).cost is None


def test_compare_with_overrides_uses_the_committed_stack_as_baseline(monkeypatch: pytest.MonkeyPatch):
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(compare, "estimate_json", lambda stack, paths=None: calls.append((stack, paths)) or {})
    monkeypatch.setattr(compare, "from_ref", lambda stack, ref: compare.Baseline(f"{stack} at {ref}", None, "x"))
    args = compare.argparse.Namespace(no_base=False, base=None, base_ref=None)
    assert compare.baseline_for("dev", args, {"runtime": "eks"}).label == "dev as committed"
    assert calls == [("dev", None)]
    assert compare.baseline_for("dev", args, {}).label == "dev at main"
    args.base_ref = "v1"
    assert compare.baseline_for("dev", args, {"runtime": "eks"}).label == "dev at v1"


def test_compare_plans_the_stack_with_and_without_an_override(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """End to end on dev: doubling the LLM traffic changes no AWS line and adds its cost to the LLM estimate."""
    out = tmp_path / "dev.md"
    assert compare.main(["dev", "--set", "cost.llm.requestsPerDay=400", "--markdown", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(base dev as committed: $" in text and ", ±$0.00)" in text.splitlines()[0]
    price = json.loads((ROOT / "policies" / "agent_costing" / "prices" / "llm.json").read_text())["models"][
        "anthropic/claude-sonnet-5-5"]
    extra = 2 * 200 * 730 / 24 * (2000 * price["input"] + 500 * price["output"]) / 1e6  # api and worker
    markdown = out.read_text()
    assert "No change." in markdown and f"(+${extra:,.2f})" in markdown
