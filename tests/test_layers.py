"""components/ and config/ import only downward and have no import cycle (rules in tests/layers.py)."""

from __future__ import annotations

from pathlib import Path

from tests.layers import COMPONENT_UNITS, CONFIG_UNITS, cycles, layer_violations, modules

ROOT = Path(__file__).resolve().parents[1]
UNITS = {**COMPONENT_UNITS, **CONFIG_UNITS}


def test_components_and_config_import_only_downward():
    problems = layer_violations(ROOT, UNITS, ["components", "config"])
    assert not problems, "\n".join(map(str, problems))


def test_components_and_config_have_no_import_cycle():
    assert cycles(ROOT, ["components", "config"]) == []


def test_every_module_belongs_to_a_layer():
    from tests.layers import unit_of

    homeless = [m for m in modules(ROOT, ["components", "config"]) if m != "components" and unit_of(m, UNITS) is None]
    assert homeless == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_check_catches_upward_sideways_hidden_and_forbidden_imports(tmp_path):
    root = _tree(tmp_path, {
        "components/__init__.py": "",
        "components/core/__init__.py": "",
        "components/core/tags.py": "from components.data import tier\n",  # upward
        "components/network/__init__.py": "",
        "components/network/vpc.py": "from components.cluster.eks import Cluster\n",  # sideways
        "components/cluster/__init__.py": "",
        "components/cluster/eks.py": "from components.core import tags\n",  # fine
        "components/data/__init__.py": "",
        "components/data/tier.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from components.edge.edge import Edge\n"
            "def f():\n    from ..observability import stack\n"),  # hidden upward imports
        "components/edge/__init__.py": "",
        "components/edge/edge.py": "import components.core.tags\n",  # fine
        "components/observability/__init__.py": "",
        "components/observability/stack.py": "from components.edge import edge\n",  # fine
        "config/__init__.py": "",
        "config/edge.py": "from components.cluster import eks\n",  # config must not import components
    })
    found = {(v.importer, v.imported) for v in layer_violations(root, UNITS, ["components", "config"])}
    assert found == {
        ("components.core.tags", "components.data.tier"),
        ("components.network.vpc", "components.cluster.eks"),
        ("components.data.tier", "components.edge.edge"),
        ("components.data.tier", "components.observability.stack"),
        ("config.edge", "components.cluster.eks"),
    }


def test_the_check_catches_a_cycle_inside_one_layer(tmp_path):
    root = _tree(tmp_path, {
        "components/__init__.py": "",
        "components/edge/__init__.py": "",
        "components/edge/edge.py": "from components.edge.listeners import listeners\n",
        "components/edge/listeners.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                        "    from components.edge.edge import VmTarget\n",
        "components/edge/tls.py": "from components.edge import listeners\n",
    })
    assert layer_violations(root, UNITS, ["components"]) == []
    assert cycles(root, ["components"]) == [["components.edge.edge", "components.edge.listeners"]]


def _runtime_checks(path: Path) -> list[str]:
    """Comparisons that ask which runtime this is: ``x.runtime``, ``== "vm"``/``"eks"``, ``cluster is None``."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr == "runtime" and isinstance(node.ctx, ast.Load):
            found.append(f"{path.name}:{node.lineno} reads .runtime")
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value in ("vm", "eks") for o in operands):
                found.append(f"{path.name}:{node.lineno} compares with a runtime name")
            if any(isinstance(o, (ast.Name, ast.Attribute)) and (getattr(o, "id", None) or getattr(o, "attr", ""))
                   in ("cluster", "vm_runtime") for o in operands):
                found.append(f"{path.name}:{node.lineno} tests for a cluster")
    return found


def test_the_runtime_is_chosen_in_one_place():
    """Only components/runtime/ knows EKS from VMs; the rest receive a bootstrap, a backend or a target."""
    allowed = {ROOT / "components" / "runtime" / "select.py"}
    files = [ROOT / "__main__.py", *sorted((ROOT / "components").rglob("*.py"))]
    found = [hit for path in files if path not in allowed for hit in _runtime_checks(path)]
    assert found == []


def test_the_runtime_check_sees_the_old_branches(tmp_path):
    old = tmp_path / "old.py"
    old.write_text('if args.cluster is None:\n    pass\nelif platform.config.runtime == "vm":\n    pass\n'
                   'on_eks = config.runtime == "eks"\n')
    assert len(_runtime_checks(old)) == 5


def test_components_receive_a_stack_context_without_config():
    """Args say what a component uses: the shared context carries names and account facts, no config section."""
    import dataclasses

    from components.core.context import StackContext

    names = {f.name for f in dataclasses.fields(StackContext)}
    assert names == {"name", "project", "stack", "environment", "region", "account_id", "partition", "protect",
                     "protected_tier", "tags"}
    # Only the composition (runtime seam) and the context's own constructor see the whole config.
    allowed = {"components.core.context", "components.runtime.seam", "components.runtime.eks",
               "components.runtime.vm", "components.runtime.select"}
    readers = sorted(name for name, path in modules(ROOT, ["components"]).items()
                     if name not in allowed and ("PlatformConfig" in path.read_text()
                                                 or ".config.data_tier" in path.read_text()))
    assert readers == []
