"""``python -m planning`` as a user runs it: a fresh process that leaves without tearing the interpreter down."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_plan_run_flushes_its_output_and_loads_only_the_providers_it_uses(tmp_path: Path) -> None:
    out = tmp_path / "dev.json"
    # -X importtime lists every module the process loads, on stderr.
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "planning", "--stack", "dev", "--quiet", "--no-review",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    # stdout is a pipe here, so block-buffered: everything printed must still arrive before os._exit.
    assert run.stdout.rstrip().endswith(f"plan written to {out}")
    assert "Stack dev:" in run.stdout
    assert json.loads(out.read_text())["stack"] == "dev"
    loaded = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    # dev pins every image by digest and runs no cluster: neither the Docker nor the Kubernetes resource SDK loads.
    assert not {m for m in loaded if m.startswith("pulumi_docker")}
    assert not {m for m in loaded if m.startswith("pulumi_kubernetes.core")}
    assert "pulumi_aws.ec2" in loaded  # the check reads the module list it thinks it reads
