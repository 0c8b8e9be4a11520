"""How the project venv is made: one rule (the Makefile's) for developers and CI, from the faster interpreter."""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION_PYTHON = Path("/usr/bin/python3.11")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _venv_command(*overrides: str) -> str:
    """The command `make install` would make .venv with (dry run, whatever .venv holds now)."""
    dry = subprocess.run(["make", "-n", "-B", ".venv/.installed", *overrides], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    made = [line for line in dry.splitlines() if " -m venv .venv" in line]
    assert len(made) == 1, dry
    return made[0].strip()


def _makes_venvs(python: Path) -> bool:
    return python.exists() and subprocess.run([str(python), "-c", "import ensurepip, venv"],
                                              capture_output=True, check=False).returncode == 0


def test_the_venv_is_made_from_the_distributions_python_where_there_is_one():
    expected = str(DISTRIBUTION_PYTHON) if _makes_venvs(DISTRIBUTION_PYTHON) else "python3"
    assert _venv_command() == f"{expected} -m venv .venv"


def _stub(folder: Path, status: int) -> Path:
    stub = folder / f"python3.11-{status}"
    stub.write_text(f"#!/bin/sh\nexit {status}\n")
    stub.chmod(0o755)
    return stub


def test_a_distribution_python_that_cannot_make_a_venv_is_passed_over(tmp_path):
    """Debian ships ensurepip apart (python3.11-venv): without it, `-m venv` fails, so python3 makes the venv."""
    assert _venv_command(f"DISTRIBUTION_PYTHON={_stub(tmp_path, 1)}") == "python3 -m venv .venv"
    able = _stub(tmp_path, 0)
    assert _venv_command(f"DISTRIBUTION_PYTHON={able}") == f"{able} -m venv .venv"


def test_another_interpreter_can_be_chosen():
    assert _venv_command("BASE_PYTHON=python3.11") == "python3.11 -m venv .venv"


def test_ci_makes_its_venv_through_the_makefile():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make install" in ci.splitlines()
    assert "-m venv" not in ci


def _dry_run(target: str) -> list[str]:
    return subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.splitlines()


def _compile_command() -> list[str]:
    (command,) = [line for line in _dry_run("bytecode") if " -m compileall " in line]
    return shlex.split(command)


@pytest.mark.parametrize("target", ["test", "plan", "bench", "generate"])
def test_targets_that_run_the_planner_compile_the_projects_modules_first(target):
    lines = _dry_run(target)
    compiled = [i for i, line in enumerate(lines) if " -m compileall " in line]
    runs = [i for i, line in enumerate(lines) if " -m pytest " in line or " -m planning" in line]
    assert compiled and runs and compiled[0] < runs[0], lines


def test_every_tracked_python_module_has_current_bytecode_after_make_bytecode():
    """Where PYTHONDONTWRITEBYTECODE is set no process writes it, so the Makefile's command must reach every file."""
    subprocess.run(_compile_command(), cwd=ROOT, check=True)
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    missing = []
    for name in tracked:
        source = ROOT / name
        cached = Path(importlib.util.cache_from_source(str(source)))
        # A .pyc records its source's modification time (seconds) and size in bytes 8-16 of its header.
        header = cached.read_bytes()[8:16] if cached.exists() else b""
        stamp = int(source.stat().st_mtime).to_bytes(4, "little") + source.stat().st_size.to_bytes(4, "little")
        if header != stamp:
            missing.append(name)
    assert not missing, f"no current bytecode after `make bytecode` for {missing[:10]}"
