"""``python -m planning --stack-file PATH``: any stack file is planned, priced and reviewed with its own facts.

One run of the CLI over a copy of the staging file named ``Pulumi.alice.yaml`` outside the repository, with a
budget far below its estimate: the run must use the file's name, the file's config and the file's own budget in
both the cost estimate and the review (the staging tier's enforcement levels, this file's facts).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from planning import cli, policy_config
from planning.engine import ROOT
from planning.model import plan_from_json
from planning.stacks import StackRef

LOW_BUDGET = 123  # far below any staging estimate, and different from staging's own budget


@pytest.fixture(scope="module")
def alice(tmp_path_factory) -> Path:
    document = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    document["config"]["agent-platform:cost"] = {"monthlyBudgetUsd": LOW_BUDGET}
    path = tmp_path_factory.mktemp("elsewhere") / "Pulumi.alice.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def run(alice, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    status = cli.main(["--stack-file", str(alice), "--quiet", "--json", str(out / "alice.json"),
                       "--sarif", str(out / "alice.sarif"), "--html", str(out / "alice.html")])
    return (status, json.loads((out / "alice.json").read_text()), json.loads((out / "alice.sarif").read_text()),
            (out / "alice.html").read_text())


def test_the_stack_is_named_by_its_file_and_runs_under_that_name(run):
    _, document, _, _ = run
    assert document["stack"] == "alice"
    assert document["stackFile"].endswith("Pulumi.alice.yaml")
    # Physical names and tags come from pulumi.get_stack(): the copied file's name, not staging's.
    tags = [r["inputs"].get("tags", {}) for r in document["resources"] if isinstance(r["inputs"].get("tags"), dict)]
    assert tags and {t.get("stack") for t in tags if "stack" in t} == {"alice"}


def test_the_estimate_and_the_review_use_the_files_own_budget(run):
    status, document, _, _ = run
    assert document["cost"]["budgetUsd"] == LOW_BUDGET
    assert document["cost"]["totalMonthlyUsd"] > LOW_BUDGET
    budget = [v for v in document["review"]["violations"] if v["policy"] == "monthly-cost-budget"]
    # staging's enforcement level (mandatory) with this file's budget: blocked, exit 1
    assert budget and budget[0]["enforcement"] == "mandatory"
    assert status == 1


def test_the_html_report_names_the_stack_and_its_file(run, alice):
    html = run[3]
    assert '<span id="stack">alice</span>' in html
    assert f'<span id="stack-file">({alice.resolve()})</span>' in html


def test_sarif_points_at_the_stack_file(run, alice):
    _, _, sarif, _ = run
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"] for loc in result["locations"]}
    assert uris == {str(alice.resolve())}


def test_a_saved_plan_of_a_stack_file_is_re_reviewed_with_that_files_facts(run, alice):
    _, document, _, _ = run
    plan = plan_from_json(document)
    assert plan.stack_ref.path == alice
    assert policy_config.for_stack(plan.stack_ref)["monthly-cost-budget"]["budgetUsd"] == LOW_BUDGET


def test_the_policy_config_of_a_stack_file_is_its_tiers_with_its_own_facts(alice):
    tier = json.loads((ROOT / "policies/config/staging.json").read_text())
    derived = policy_config.for_stack(StackRef.from_file(alice))
    assert derived["monthly-cost-budget"]["budgetUsd"] == LOW_BUDGET != tier["monthly-cost-budget"]["budgetUsd"]
    hand_owned = {k: v for k, v in tier.items() if k not in policy_config.facts(
        policy_config.platform_config(StackRef.from_file(alice)))}
    assert hand_owned and all(derived[k] == v for k, v in hand_owned.items())


def test_a_project_stack_named_by_file_is_reviewed_with_its_committed_config():
    ref = StackRef.from_file(ROOT / "Pulumi.prod.yaml")
    assert ref.is_project_stack and ref.name == "prod"
    assert policy_config.for_stack(ref) == json.loads((ROOT / "policies/config/prod.json").read_text())


@pytest.mark.parametrize("name", ["stack.yaml", "Pulumi.yaml", "Pulumi.a b.yaml"])
def test_a_file_not_named_like_a_stack_is_a_usage_error(tmp_path, name, capsys):
    path = tmp_path / name
    path.write_text("config: {}\n")
    with pytest.raises(SystemExit) as exc:
        cli.main(["--stack-file", str(path)])
    assert exc.value.code == 2
    assert "Pulumi.<stack>.yaml" in capsys.readouterr().err


def test_stack_and_stack_file_are_exclusive(alice, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--stack", "dev", "--stack-file", str(alice)])
    assert exc.value.code == 2


def _make_dry_run(*args: str) -> str:
    """What ``make`` would run (``-o``: the venv counts as installed, so only the target's own command shows)."""
    return subprocess.run(["make", "-n", "-o", ".venv/.installed", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


def test_make_plan_passes_the_stack_file_and_names_the_output_after_it():
    dry = _make_dry_run("plan", "STACK_FILE=blueprints/003-bsc-rag/Pulumi.dev.yaml")
    assert "--stack-file blueprints/003-bsc-rag/Pulumi.dev.yaml" in dry
    assert "out/003-bsc-rag-dev.json" in dry
    assert "--stack prod --json out/prod.json" in _make_dry_run("plan", "STACK=prod")


def test_policy_config_prints_the_settings_a_stack_file_is_reviewed_with(alice, capsys):
    assert policy_config.main(["--stack-file", str(alice)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == policy_config.for_stack(StackRef.from_file(alice))
    assert printed["monthly-cost-budget"]["budgetUsd"] == LOW_BUDGET
