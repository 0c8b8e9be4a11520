"""The suite's on-disk plan cache (tests/plan_cache.py) gives a stored plan only to the tree that made it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from planning.bench import FLOOR_PROGRAM
from planning.engine import run_program
from tests import plan_cache


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _digest(root: Path) -> str | None:
    plan_cache.tree_digest.cache_clear()
    try:
        return plan_cache.tree_digest(root)
    finally:
        plan_cache.tree_digest.cache_clear()


def test_every_change_to_the_tree_git_sees_changes_the_key(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("out/\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    _git(tmp_path, "add", ".")
    first = _digest(tmp_path)
    assert first is not None and _digest(tmp_path) == first
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "dev.json").write_text("{}")
    assert _digest(tmp_path) == first  # an ignored file is no input of a plan
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {a: 1}\n")
    edited = _digest(tmp_path)
    assert edited != first  # an edit, staged or not
    (tmp_path / "new_component.py").write_text("")
    assert _digest(tmp_path) not in (first, edited)  # an untracked file
    (tmp_path / "new_component.py").unlink()
    assert _digest(tmp_path) == edited
    (tmp_path / "Pulumi.dev.yaml").unlink()
    assert _digest(tmp_path) not in (first, edited)  # a deleted file


def test_editing_a_test_module_keeps_the_key_and_editing_what_plans_changes_it(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    for name in ("tests/test_edge.py", "tests/policies/test_planted.py", "tests/harness.py",
                 "tests/fixtures/Pulumi.alice.yaml", "tests/config_support.py", "components/test_helpers.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    _git(tmp_path, "add", ".")
    first = _digest(tmp_path)
    for test_module in ("tests/test_edge.py", "tests/policies/test_planted.py", "tests/test_new.py"):
        (tmp_path / test_module).write_text("assert True\n")
        assert _digest(tmp_path) == first, test_module  # reaches plans only through their keys
    for planning_input in ("tests/harness.py", "tests/fixtures/Pulumi.alice.yaml", "tests/config_support.py",
                           "components/test_helpers.py"):
        (tmp_path / planning_input).write_text("changed\n")
        assert _digest(tmp_path) != first, planning_input
        first = _digest(tmp_path)


def test_the_run_keys_its_plans_by_one_digest_taken_before_collection(pytestconfig: pytest.Config) -> None:
    from tests.conftest import WORKER_DIGEST

    assert plan_cache._run_digest != plan_cache._UNPINNED, "pinned when the run was configured"
    workerinput = getattr(pytestconfig, "workerinput", None)
    if workerinput is not None:  # an xdist worker keys by the controller's digest, as its siblings do
        assert plan_cache.run_digest() == workerinput[WORKER_DIGEST]


def test_a_pinned_digest_names_the_folder_whatever_the_tree_has_become(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_cache, "DIRECTORY", tmp_path / "plans")
    monkeypatch.setattr(plan_cache, "_run_digest", "the-tree-at-the-start")
    monkeypatch.setenv("PLAN_CACHE", "on")
    assert plan_cache.cached("key", lambda: 1) == 1
    assert [p.name for p in (tmp_path / "plans").iterdir()] == ["the-tree-at-the-start"]
    monkeypatch.setattr(plan_cache, "_run_digest", None)  # taken outside a checkout: nothing is kept
    assert not plan_cache.enabled()


def test_outside_a_checkout_nothing_is_cached(tmp_path: Path) -> None:
    assert _digest(tmp_path) is None


def test_a_plan_is_made_once_then_read_back_as_a_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_cache, "DIRECTORY", tmp_path / "plans")
    monkeypatch.setenv("PLAN_CACHE", "on")
    stale = tmp_path / "plans" / "an-older-tree"
    stale.mkdir(parents=True)
    monkeypatch.setenv("PLANNING_FLOOR_RESOURCES", "3")
    made = []

    def make():
        made.append(1)
        return run_program("dev", program=FLOOR_PROGRAM)  # three buckets: a real plan, in milliseconds

    first = plan_cache.cached("dev-key", make)
    again = plan_cache.cached("dev-key", make)
    assert made == [1]
    assert again is not first and again == first  # what a test did to its copy never reaches another
    assert not stale.exists()  # plans of another tree are dropped
    monkeypatch.setenv("PLAN_CACHE", "off")
    plan_cache.cached("dev-key", make)
    assert made == [1, 1]


def test_the_shared_review_of_a_plan_is_its_review_and_a_changed_copy_gets_its_own() -> None:
    import dataclasses

    from planning.review import review
    from tests import harness

    base = harness.plan("dev")
    assert harness.review(base).to_json() == review(base).to_json()  # from memory, disk or fresh: the same verdicts
    assert harness.review(base) is harness.review(base)
    changed = dataclasses.replace(base, resources=base.resources[:20])
    assert harness.review(changed).to_json()["summary"]["resources"] == 20


def test_where_nothing_can_be_stored_plans_are_made_as_without_a_cache(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setattr(plan_cache, "DIRECTORY", tmp_path / "a-file" / "plans")  # no folder can be made there
    monkeypatch.setenv("PLAN_CACHE", "on")
    made = []
    assert [plan_cache.cached("key", lambda: made.append(1) or len(made)) for _ in range(2)] == [1, 2]


def test_overrides_that_give_the_program_the_same_config_share_one_plan() -> None:
    from planning.engine import read_stack_config
    from tests.harness import plan

    network = read_stack_config("dev")["agent-platform:network"]
    stack_plan = plan("dev")
    # A value the stack file already has, written as a dotted path or as the whole block: the same program inputs.
    assert plan("dev", {"network.cidr": network["cidr"]}) is stack_plan
    assert plan("dev", {"network": dict(network)}) is stack_plan
    assert plan("dev", {"network": dict(network)}, preview=True) is not stack_plan
