"""One source per fact: what the program and the pack must agree on is written once, in ``agent_contract``.

The program (``components/``, ``config/``, ``__main__.py``), the planner and the pack import these values; a
literal copy anywhere else would be a second source that can drift (as the cluster-scoped kinds once did).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import agent_contract
import pytest
from agent_contract import aws, kubernetes, tags, types

from config.catalog import WAF_COUNTABLE_RULES
from config.credentials import KNOWN_PREFIXES
from config.edge import TLS_POLICIES
from config.services import SENSITIVE_NAME

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_DIR = Path(agent_contract.__file__).resolve().parent
SOURCES = ("__main__.py", "components", "config", "planning", "policies/agent_policies", "policies/agent_costing")


# Contract values that only mean one thing: keys, patterns, policy names and type tokens. Values that are also
# ordinary words elsewhere (a kind such as "Namespace", a WAF rule name, a secret kind that is also a secret's
# name) are left out: a scan for them would report every legitimate use.
DISTINCT = re.compile(r"(_TAG|_ANNOTATION|_PATTERN|_TLS_POLICY|TLS12_PLUS_POLICIES|^VM_AGENT_SERVICE)$")


def _contract_values() -> dict[str, str]:
    """The distinct strings the contract defines (single values and the members of its tuples), by name."""
    values: dict[str, str] = {}
    for module in (aws, kubernetes, tags, types):
        for name, value in vars(module).items():
            if not (name.isupper() and DISTINCT.search(name)):
                continue
            for item in [value] if isinstance(value, str) else list(value):
                values[item] = f"{module.__name__}.{name}"
    return values


def _python_files() -> list[Path]:
    found = []
    for entry in SOURCES:
        path = ROOT / entry
        found.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return found


def test_the_contract_is_the_installed_package_of_this_checkout():
    assert CONTRACT_DIR == ROOT / "policies" / "agent_contract"


def test_the_contract_imports_only_the_standard_library():
    for path in CONTRACT_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert all(n.split(".")[0] in sys.stdlib_module_names for n in names), (path, names)


def test_no_program_planner_or_pack_module_repeats_a_contract_value():
    facts = _contract_values()
    copies = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in facts:
                # A component's own type token in its super().__init__ is where the token is defined for Pulumi.
                if facts[node.value].startswith("agent_contract.types") and "components" in path.parts:
                    continue
                copies.append(f"{path.relative_to(ROOT)}:{node.lineno} repeats {facts[node.value]}")
    assert not copies, "import these from agent_contract instead:\n" + "\n".join(copies)


@pytest.mark.parametrize(("program", "contract"), [
    (set(TLS_POLICIES), set(aws.TLS12_PLUS_POLICIES)),
    (WAF_COUNTABLE_RULES, aws.WAF_COUNTABLE_RULES),
    (KNOWN_PREFIXES.pattern, kubernetes.CREDENTIAL_VALUE_PATTERN),
    ((SENSITIVE_NAME.pattern, SENSITIVE_NAME.flags & re.IGNORECASE),
     (kubernetes.SENSITIVE_NAME_PATTERN, re.IGNORECASE)),
])
def test_config_validates_with_the_contract_values(program, contract):
    assert program == contract
