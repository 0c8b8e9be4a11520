"""The GitHub workflows hold the delivery properties docs/ci.md promises.

Pinned actions, no template injection, no long-lived Pulumi token, least-privilege permissions per job, EKS stacks
previewed, deployed and drift-checked from inside their VPC, deploys only in protected environments.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.delivery import runner_project_name
from tests.conftest import DEPLOYED_STACKS, STACKS

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _jobs(path: Path) -> dict[str, dict[str, Any]]:
    return _load(path)["jobs"]


def _steps(path: Path):
    for job_name, job in _jobs(path).items():
        for step in job.get("steps", []):
            yield job_name, job, step


def _runtime(stack: str) -> str:
    cfg = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return cfg.get("agent-platform:runtime", "eks")


EKS_STACKS = [s for s in STACKS if _runtime(s) == "eks"]


def test_there_are_workflows_to_check():
    assert {p.name for p in FILES} >= {"pr.yml", "deploy.yml", "deploy-stack.yml", "release.yml", "drift.yml"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_full_sha_with_its_version(path: Path):
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*(?:- )?uses:\s*(.+)$", line)
        if not match or match.group(1).startswith(("./", "$/")):
            continue
        assert _PINNED.match(match.group(1)), f"{path.name}: {match.group(1)!r} is not pinned as <sha> # vX.Y.Z"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_a_shell(path: Path):
    for job_name, _, step in _steps(path):
        if "run" in step:
            assert "${{" not in step["run"], f"{path.name}:{job_name}: pass values to run: through env"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_long_lived_pulumi_token(path: Path):
    text = path.read_text()
    assert "PULUMI_ACCESS_TOKEN" not in text
    assert "secrets." not in text, f"{path.name}: repository secrets are not used; credentials come from OIDC"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_permissions_are_empty_by_default_and_granted_per_job(path: Path):
    doc = _load(path)
    assert doc["permissions"] == {}
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"{path.name}:{name} declares no permissions"
        assert "write-all" not in str(job["permissions"])
        writes = {k for k, v in job["permissions"].items() if v == "write"}
        uses = " ".join(str(s.get("uses", "")) for s in job.get("steps", []))
        if "id-token" in writes and "uses" not in job:
            assert "configure-aws-credentials" in uses or "auth-actions" in uses, f"{path.name}:{name}"


def test_pulumi_commands_authenticate_per_job_with_oidc():
    for path in FILES:
        for job_name, job in _jobs(path).items():
            steps = job.get("steps", [])
            pulumi_steps = [i for i, s in enumerate(steps)
                            if str(s.get("uses", "")).startswith("pulumi/actions@")
                            and s.get("with", {}).get("command")]
            if not pulumi_steps:
                continue
            auth = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("pulumi/auth-actions@")]
            assert auth and auth[0] < pulumi_steps[0], f"{path.name}:{job_name}"
            w = steps[auth[0]]["with"]
            assert w["requested-token-type"] == "urn:pulumi:token-type:access_token:team"
            assert w["scope"].startswith("team:")
            assert job["permissions"].get("id-token") == "write"


def test_deploys_run_only_in_the_stack_environment():
    """`pulumi up` (and the deploy role) only inside the GitHub environment named after the stack."""
    ups = [(path, name, job) for path in FILES for name, job in _jobs(path).items()
           if any(s.get("with", {}).get("command") == "up" for s in job.get("steps", []))]
    assert [p.name for p, _, _ in ups] == ["deploy-stack.yml"]
    for _, _, job in ups:
        assert job["environment"] == "${{ inputs.stack }}"
    for path in FILES:
        for name, job in _jobs(path).items():
            if "vars.AWS_ROLE_ARN" in yaml.safe_dump(job) or "vars.AWS_RELEASE_ROLE_ARN" in yaml.safe_dump(job):
                assert "environment" in job, f"{path.name}:{name} uses a deploy role outside an environment"


def test_pull_request_previews_are_read_only():
    preview = _jobs(WORKFLOWS / "pr.yml")["preview"]
    assert "environment" not in preview
    dump = yaml.safe_dump(preview)
    assert "AWS_ROLE_ARN" not in dump.replace("AWS_PREVIEW_ROLE_ARN", "")
    assert "PULUMI_DEPLOY_TEAM" not in dump and "PULUMI_PREVIEW_TEAM" in dump
    assert {s.get("with", {}).get("command") for s in preview["steps"]} - {None} == {"preview"}


def _runner_by_stack(path: Path, job: str) -> dict[str, str]:
    return {e["stack"]: e["vpc-runner"] for e in _jobs(path)[job]["strategy"]["matrix"]["include"]}


def _called_runners(path: Path) -> dict[str, str]:
    return {j["with"]["stack"]: j["with"]["vpc-runner"] for j in _jobs(path).values() if "uses" in j}


@pytest.mark.parametrize("runners", [
    pytest.param(lambda: _runner_by_stack(WORKFLOWS / "pr.yml", "preview"), id="pr-preview"),
    pytest.param(lambda: _runner_by_stack(WORKFLOWS / "drift.yml", "detect"), id="drift"),
    pytest.param(lambda: _called_runners(WORKFLOWS / "deploy.yml"), id="deploy"),
    pytest.param(lambda: _called_runners(WORKFLOWS / "release.yml"), id="release"),
])
def test_eks_stacks_run_on_their_in_vpc_runner(runners):
    """Every deployed stack, and only those: a standby stack (prod-dr) has no live resources to preview or drift."""
    by_stack = runners()
    assert set(by_stack) == set(DEPLOYED_STACKS)
    assert EKS_STACKS, "the example stacks include EKS stacks"
    for stack in DEPLOYED_STACKS:
        expected = runner_project_name(stack) if stack in EKS_STACKS else ""
        assert by_stack[stack] == expected, stack


@pytest.mark.parametrize("path,job", [("pr.yml", "preview"), ("drift.yml", "detect"), ("deploy-stack.yml", "up")])
def test_runner_label_is_the_codebuild_label_when_a_vpc_runner_is_set(path, job):
    runs_on = _jobs(WORKFLOWS / path)[job]["runs-on"]
    assert "format('codebuild-{0}-{1}-{2}'" in runs_on and "github.run_id, github.run_attempt" in runs_on


def test_dependabot_updates_actions_and_pip():
    cfg = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert {u["package-ecosystem"] for u in cfg["updates"]} >= {"github-actions", "pip"}


def test_policies_are_code_owned():
    owners = (ROOT / ".github" / "CODEOWNERS").read_text()
    assert re.search(r"^/policies/\s+@\S+", owners, re.M)


@pytest.mark.parametrize("tool,args", [
    ("zizmor", ["--min-severity", "low", str(WORKFLOWS)]),
    ("actionlint", ["-config-file", str(ROOT / ".github" / "actionlint.yaml")]),
])
def test_workflow_linters_report_nothing(tool, args):
    exe = ROOT / ".venv" / "bin" / tool
    binary = str(exe) if exe.exists() else shutil.which(tool)
    assert binary, f"{tool} is pinned in requirements-dev.txt"
    out = subprocess.run([binary, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_pull_request_comment_links_the_run_that_holds_every_stack_report():
    """Reviewers find each stack's HTML page from the PR comment, not by browsing the Actions tab."""
    uploads = [step for job, _, step in _steps(WORKFLOWS / "pr.yml")
               if job == "review" and str(step.get("uses", "")).startswith("actions/upload-artifact@")]
    assert any(step["with"]["name"] == "review-${{ matrix.stack }}" and step["with"]["path"] == "out/"
               for step in uploads), "the review job must upload out/ (which holds <stack>.html) per stack"
    cost = [step for job, _, step in _steps(WORKFLOWS / "pr.yml") if job == "cost"]
    writer = next(i for i, step in enumerate(cost) if "out/cost-diff.md" in step.get("run", "")
                  and "RUN_URL" in step.get("run", ""))
    assert "/actions/runs/${{ github.run_id }}" in cost[writer]["env"]["RUN_URL"]
    for stack in STACKS:
        assert f"review-{stack}" in cost[writer]["run"]
    commenter = next(i for i, step in enumerate(cost) if "gh pr comment" in step.get("run", ""))
    assert writer < commenter and "--body-file out/cost-diff.md" in cost[commenter]["run"]


def test_the_pack_is_published_and_enabled_for_every_stack_from_main():
    """Server-side enforcement is automated: a change to policies/ on main reaches every stack's policy group."""
    doc = _load(WORKFLOWS / "policy.yml")
    push = doc[True]["push"]  # YAML 1.1 reads the `on:` key as True
    assert push["branches"] == ["main"] and "policies/**" in push["paths"]
    (job,) = doc["jobs"].values()
    assert job["environment"] == "policy", "publishing changes every stack's enforcement: reviewers approve it"
    runs = [s["run"] for s in job["steps"] if "run" in s]
    publish = next(i for i, r in enumerate(runs) if "pulumi policy publish" in r)
    enable = next(i for i, r in enumerate(runs) if "pulumi policy enable" in r)
    assert publish < enable
    assert re.search(r'pulumi policy enable "\$PULUMI_ORG/agent-platform" latest', runs[enable])
    assert "--policy-group \"agent-platform-$stack\"" in runs[enable]
    assert "--config \"policies/config/$stack.json\"" in runs[enable]
    loop = re.search(r"for stack in ([\w -]+); do", runs[enable])
    assert loop and set(loop.group(1).split()) == set(STACKS)
    for stack in STACKS:
        assert (ROOT / "policies" / "config" / f"{stack}.json").exists()


def test_a_release_is_promoted_into_the_stacks_repository_before_it_is_recorded():
    """The copy from dev's registry runs as the stack's own deploy role (its environment's OIDC session), and what
    the release environment records is the promoted image, never dev's (docs/ci.md, "Promotion across accounts")."""
    steps = _jobs(WORKFLOWS / "deploy-stack.yml")["up"]["steps"]
    aws = next(i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("aws-actions/configure-aws"))
    assert steps[aws]["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    promote = next(i for i, s in enumerate(steps) if "release-image.sh promote" in s.get("run", ""))
    record = next(i for i, s in enumerate(steps) if "release-image.sh record" in s.get("run", ""))
    assert aws < promote < record
    assert steps[promote]["run"] == 'tools/release-image.sh promote "$STACK" "$SERVICE" "$IMAGE"'
    assert steps[record]["env"]["PROMOTED"] == f"${{{{ steps.{steps[promote]['id']}.outputs.image }}}}"
    assert steps[record]["run"].endswith('"$PROMOTED"')
