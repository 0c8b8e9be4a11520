"""Shell and SQL are files under components/*/templates/, rendered and compared with golden output."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.core.templates import render, template_text
from components.data import bootstrap_job, bootstrap_vm
from components.services.vm.nginx import ProxySpec
from components.services.vm.userdata import UserDataInputs
from components.services.vm.userdata import render as render_user_data
from config.edge import routes
from tests.config_support import validated
from tests.harness import DEDICATED_VM

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


def _user_data() -> dict[str, str]:
    """Each dev service's boot script for fixed values: an api behind nginx, and a worker with its queue timer."""
    cfg = validated("dev", DEDICATED_VM)  # one service per instance, behind the public edge's ALB
    edge_routes = {r.service: r for r in routes(cfg.edge, cfg.services)}
    out = {}
    for name, svc in cfg.services.items():
        proxy = ProxySpec(cfg.edge, edge_routes[name], svc.probes.readiness_path, "10.0.0.0/16") \
            if name in edge_routes else None
        out[name] = render_user_data(UserDataInputs(
            service=name, config=svc, region="us-east-1",
            image=f"111122223333.dkr.ecr.us-east-1.amazonaws.com/{name}@sha256:" + "ab" * 32,
            registry="111122223333.dkr.ecr.us-east-1.amazonaws.com",
            log_group=f"/agent-platform/dev/services/{name}",
            environment={"SERVICE_NAME": name, "LOG_LEVEL": "info", "QUOTED": "it's"},
            secret_arns={s: f"arn:aws:secretsmanager:us-east-1:111122223333:secret:{s}-AbCdEf" for s in svc.secrets},
            redis_host="redis.example.internal", redis_port=6379, proxy=proxy))
    return out


def test_the_service_user_data_renders_as_the_golden_files():
    """Golden files written from the f-strings these templates replaced; both shapes (proxy, queue) appear."""
    rendered = _user_data()
    assert any("agent-queue-depth" in text for text in rendered.values())
    assert any("/etc/nginx/nginx.conf" in text for text in rendered.values())
    for name, text in rendered.items():
        assert "@@{" not in text
        assert text == (GOLDEN / f"vm-userdata-{name}.sh").read_text(), name
