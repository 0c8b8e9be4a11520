"""``python -m planning`` as a user runs it: a fresh process that leaves without tearing the interpreter down."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from config.errors import ConfigError
from planning.engine import run_program, with_paths

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


def _unclosed_loops_left_by(plan_once) -> list[warnings.WarningMessage]:
    """The loops ``plan_once`` leaves unclosed, once its executor threads (and their thread-local loops) are gone."""
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        plan_once()
        for thread in threading.enumerate():
            if thread.name.startswith("asyncio_"):  # the plan loop's default executor, shutting down
                thread.join(timeout=10)
        gc.collect()
    return [w for w in caught if "unclosed event loop" in str(w.message)]


def test_a_plan_that_fails_closes_its_event_loop() -> None:
    """A refused config stops the program inside the loop; the loop is closed then, not left to the collector,
    which may find its self-pipe gone and print "Exception ignored in BaseEventLoop.__del__" into a later run."""
    def refused() -> None:
        with pytest.raises(ConfigError):
            run_program("dev", with_paths("dev", {"dataTier.vectorStore": "milvus"}))

    assert not _unclosed_loops_left_by(refused)


def test_a_plan_closes_the_loops_the_mock_monitor_gives_its_threads() -> None:
    """The SDK's mock monitor gives every executor thread that registers a resource or answers an invoke an event
    loop of its own (sync_await._ensure_event_loop) and never closes it; the planner closes them with the plan."""
    assert not _unclosed_loops_left_by(lambda: run_program("dev", with_paths("dev", {})))
