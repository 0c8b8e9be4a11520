"""An on-disk cache of planned stacks, shared by the suite's worker processes and by later runs of the same tree.

A plan costs one to three seconds of CPU; ``pytest -n 2`` gave each worker its own in-memory cache
(tests/harness.py), so every stack both workers' files plan was planned twice, and every run planned all of them
again. A plan is a function of the files of the working tree (program, config, stack files, mocks), of the
installed packages and of the Python that runs them, and of the stack, overrides and preview flag it is asked for;
the key is a hash of exactly those, so a cached plan is the plan the program would make now. Any edited, added or
removed file (``git ls-files``: tracked and untracked, not ignored) changes the key, with one exception: the test
modules themselves (``tests/**/test_*.py``). A test reaches a plan only through the stack, overrides and preview
flag in its key (tests/harness.py: plan through ``plan``/``eks_plan``; a test that patches the program plans with
``run_program``, outside the cache), so editing a test, the usual change, re-plans nothing. The harness, this
module, conftest, the fixtures and every helper module stay in the hash; an entry a test module makes from its own
code adds that module's hash to its key (tests/test_provider_imports.py). Plans of other trees are deleted when a
new tree's first plan is stored. A run hashes the tree once, when it starts (``pin_run_digest``), and every worker
keys its plans by that hash.

Entries are written once, atomically, right after planning (before any test can touch the plan), and loaded
as fresh objects, so a test can never see another test's changes through the disk. Two workers asking for the
same plan at once plan it once: the second waits on the first's lock. ``PLAN_CACHE=off`` disables it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
DIRECTORY = ROOT / ".pytest_cache" / "plans"

T = TypeVar("T")
# Imported by the program from wherever the interpreter finds them (policies/pyproject.toml, an editable install).
PACKAGES_OUTSIDE_GIT_VIEW = ("agent_contract", "agent_costing", "agent_policies")


def _is_test_module(name: str) -> bool:
    """A test module (``tests/.../test_*.py``): no input of any plan (see the module docstring)."""
    path = Path(name)
    return path.parts[0] == "tests" and path.name.startswith("test_") and path.suffix == ".py"


@cache
def tree_digest(root: Path = ROOT) -> str | None:
    """A hash of every file of the working tree git knows (not ignored) but the test modules, the installed
    packages and the Python.

    ``None`` (no cache) outside a git checkout.
    """
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                capture_output=True, check=True, cwd=root).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    digest = hashlib.sha256(sys.version.encode())
    for dist in sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()):
        digest.update(dist.encode() + b"\0")
    for name in sorted({n for n in listed.decode().split("\0") if n and not _is_test_module(n)}):
        path = root / name
        digest.update(name.encode() + b"\0")
        # A file listed but deleted in the working tree counts as gone; the link .venv is ignored by git.
        digest.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"-")
    # The pack's packages are installed editable; a process may import them from another checkout than this one.
    for package in PACKAGES_OUTSIDE_GIT_VIEW:
        spec = importlib.util.find_spec(package)
        folder = Path(spec.origin).parent if spec and spec.origin else None
        digest.update(f"{package}@{folder}".encode())
        if folder is not None and not folder.is_relative_to(root):
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                digest.update(str(path).encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


_UNPINNED = "unpinned"
_run_digest: str | None = _UNPINNED


def pin_run_digest(digest: str | None) -> None:
    """Key this process's plans by ``digest`` from now on. The run's first process takes the tree's digest once,
    before any test module imports the program, and hands it to every worker (tests/conftest.py): the workers
    share one folder even if a file changes during the run, and a plan made by code loaded before an edit is
    never stored under the edited tree's key."""
    global _run_digest
    _run_digest = digest


def run_digest() -> str | None:
    """The digest this process's plans are kept under: the pinned one, else the tree's now."""
    return tree_digest() if _run_digest == _UNPINNED else _run_digest


def enabled() -> bool:
    return os.environ.get("PLAN_CACHE", "on") != "off" and run_digest() is not None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune_other_trees(current: Path) -> None:
    for other in DIRECTORY.iterdir():
        if other != current and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)


def cached(key: str, make: Callable[[], T]) -> T:
    """``make()``, or what it returned for ``key`` on this tree before (in any process).

    The cache only saves time: where it cannot be read or written (a read-only checkout, a folder another run
    just pruned) the value is made and returned as without it.
    """
    if not enabled():
        return make()
    folder = DIRECTORY / str(run_digest())
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    entry = folder / f"{name}.pickle"
    with contextlib.ExitStack() as held:
        try:
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True)
                _prune_other_trees(folder)
            held.enter_context(_locked(folder / f"{name}.lock"))
        except OSError:
            return make()
        if entry.exists():
            with contextlib.suppress(Exception):  # a truncated or stale entry is made again
                return pickle.loads(entry.read_bytes())
        value = make()
        partial = folder / f"{name}.{os.getpid()}.partial"
        with contextlib.suppress(Exception):  # not kept: made again next time
            partial.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(partial, entry)
        return value
