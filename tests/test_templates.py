"""Shell and SQL are files under components/*/templates/, rendered and compared with golden output."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.core.templates import render, template_text
from components.data import bootstrap_job, bootstrap_vm

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden" / "templates"
# Fixed inputs: a quote in a value shows the exports are shell-quoted, an ARN that they are passed as given.
ENVIRONMENT = {"MASTER_LOGIN_ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:master-AbCdEf",
               "APP_LOGIN_ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:app-AbCdEf",
               "PGHOST": "db.example.internal", "APP_USER": "agent's app"}


def test_the_vm_bootstrap_renders_as_the_golden_file():
    """The golden file was written from the f-strings these templates replaced, before they were removed."""
    body = bootstrap_vm.render_body(region="us-east-1", log_group_name="/agent-platform/dev/db-bootstrap",
                                    environment=ENVIRONMENT)
    full = bootstrap_vm.render(digest="0123456789abcdef", group_name="agent-platform-dev-db-bootstrap-0123456789",
                               body=body)
    assert full == (GOLDEN / "vm-bootstrap.sh").read_text()


def test_the_job_scripts_are_the_template_files_verbatim():
    files = bootstrap_job.script_files()
    assert files == {name: (bootstrap_job.TEMPLATES / name).read_text() for name in files}
    assert files["bootstrap.sh"].startswith("#!/bin/sh\n") and "\\gexec" in files["bootstrap.sql"]


def test_no_placeholder_is_left_unrendered():
    body = bootstrap_vm.render_body(region="us-east-1", log_group_name="g", environment=ENVIRONMENT)
    assert "@@{" not in bootstrap_vm.render(digest="d", group_name="g", body=body)


def test_a_missing_value_fails_instead_of_leaving_a_placeholder(tmp_path):
    (tmp_path / "t.sh").write_text('echo "$HOME @@{who}" @@@@\n')
    assert render(tmp_path, "t.sh", who="me") == 'echo "$HOME me" @@\n'
    with pytest.raises(KeyError):
        render(tmp_path, "t.sh")
    assert template_text(tmp_path, "t.sh") == 'echo "$HOME @@{who}" @@@@\n'


def test_every_template_file_is_used():
    stored = {p.relative_to(ROOT).as_posix() for p in ROOT.glob("components/**/templates/*") if p.is_file()}
    sources = "\n".join(p.read_text() for p in ROOT.glob("components/**/*.py"))
    unused = sorted(s for s in stored if f'"{Path(s).name}"' not in sources)
    assert unused == []
