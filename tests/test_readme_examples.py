"""The README's "try a change" commands do what the README says they do."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from planning import cli

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE = re.compile(r"^\.venv/bin/python -m planning (?P<args>.+?)\s+# (?P<says>.*\(exit (?P<code>\d)\).*)$", re.M)


def examples() -> list[tuple[list[str], int, str]]:
    found = [(shlex.split(m["args"]), int(m["code"]), m["says"]) for m in EXAMPLE.finditer(README.read_text())]
    assert len(found) >= 2, "the README lost its planning examples"
    return found


@pytest.mark.parametrize("argv, code, says", examples(), ids=lambda v: str(v)[:40])
def test_each_readme_example_exits_as_documented(argv, code, says, capsys):
    assert cli.main([*argv, "--quiet"]) == code
    out = capsys.readouterr()
    if code == 1:  # "naming the policy"
        assert "[mandatory] " in out.out
    if code == 2:  # "one error naming the key, nothing registered"
        keys = [argv[i + 1].split("=", 1)[0] for i, a in enumerate(argv) if a == "--set"]
        assert "no resources were registered" in out.err
        assert any(f"{key}:" in out.err for key in keys)
