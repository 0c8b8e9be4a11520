"""Stack files read through planning/stack_yaml.py give what PyYAML's own safe loader gives, a new copy each time."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from planning import stack_yaml

ROOT = Path(__file__).resolve().parent.parent
STACK_FILES = sorted(p for p in ROOT.rglob("Pulumi*.yaml") if ".venv" not in p.parts and "out" not in p.parts)


@pytest.mark.parametrize("path", STACK_FILES, ids=[str(p.relative_to(ROOT)) for p in STACK_FILES])
def test_every_stack_file_reads_as_the_pure_python_safe_loader_reads_it(path: Path) -> None:
    text = path.read_text()
    expected = yaml.load(text, Loader=yaml.SafeLoader)
    assert stack_yaml.load(text) == expected
    assert stack_yaml.load(text) == expected  # the second read, from the parsed copy


def test_each_read_is_a_new_document() -> None:
    text = (ROOT / "Pulumi.prod.yaml").read_text()
    first = stack_yaml.load(text)
    first["config"]["agent-platform:services"].clear()
    first["config"].pop("aws:region")
    again = stack_yaml.load(text)
    assert again == yaml.safe_load(text) and again["config"]["agent-platform:services"]


@pytest.mark.parametrize("text", [
    "config:\n  a: 2024-05-01\n",  # a YAML date: no JSON twin
    "config:\n  1: one\n",  # a non-string key would come back from JSON as "1"
    "config:\n  a: .nan\n",
    "config:\n  a: [1, 1.0, true, null, '1']\n",
])
def test_documents_json_cannot_give_back_are_parsed_each_time_and_stay_exact(text: str) -> None:
    expected = yaml.safe_load(text)
    for _ in range(2):
        got = stack_yaml.load(text)
        assert repr(got) == repr(expected)
        assert [type(v) for v in got["config"].values()] == [type(v) for v in expected["config"].values()]
