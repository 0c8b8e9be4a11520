"""A stack that imports a Pulumi ESC environment plans offline without the keys the environment provides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config import ConfigError
from planning import cli, engine
from planning.stacks import StackRef

PROD = engine.ROOT / "Pulumi.prod.yaml"
KEYS = ("openaiApiKey", "anthropicApiKey", "openrouterApiKey", "googleApiKey")


def _stack_without_keys(tmp_path: Path, environment: list[str] | None) -> StackRef:
    """The prod stack file without its provider keys, as a copy named Pulumi.prod.yaml outside the project."""
    doc = yaml.safe_load(PROD.read_text())
    for key in KEYS:
        doc["config"].pop(f"agent-platform:{key}")
    if environment is not None:
        doc["environment"] = environment
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(doc))
    return StackRef.from_file(tmp_path / "Pulumi.prod.yaml")


def test_keys_from_an_imported_environment_are_mock_secrets_with_a_note(tmp_path, capsys):
    prod = _stack_without_keys(tmp_path, ["agent-platform/prod-secrets", "agent-platform/prod-images"])
    config, secret_keys = engine.runtime_config(prod)
    for key in KEYS:
        assert f"agent-platform:{key}" in secret_keys
        assert config[f"agent-platform:{key}"].startswith("mock-secret-value-of-")
    plan = engine.run_program(prod)
    assert plan.resources
    assert cli.main(["--stack-file", str(prod.path), "--quiet", "--no-review"]) == 0
    err = capsys.readouterr().err
    for key in KEYS:
        assert f"note: agent-platform:{key}: not in the stack file" in err
    assert "agent-platform/prod-secrets, agent-platform/prod-images" in err


def test_without_an_environment_a_missing_key_is_still_a_config_error(tmp_path):
    prod = _stack_without_keys(tmp_path, None)
    assert engine.environment_stand_ins(prod) == []
    with pytest.raises(ConfigError) as err:
        engine.run_program(prod)
    assert all(key in str(err.value) for key in KEYS)


def test_a_key_in_the_stack_file_is_not_replaced(tmp_path):
    doc = yaml.safe_load(PROD.read_text())
    doc["environment"] = ["agent-platform/prod-secrets"]
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(doc))
    assert engine.environment_stand_ins(StackRef.from_file(tmp_path / "Pulumi.prod.yaml")) == []
