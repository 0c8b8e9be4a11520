"""Suite-wide settings.

Each test process plans whole stacks under the mock engine, holding hundreds of thousands of long-lived
objects; CPython's default collector thresholds (700, 10, 10) rescan them thousands of times. The same
larger thresholds as ``python -m planning`` (planning/__main__.py) keep the suite's results and cut its time.
"""

import gc
from typing import Any

import pytest

from planning import provider_imports

# The provider SDKs load as ``python -m planning`` loads them (planning/provider_imports.py); PROVIDER_IMPORTS=plain
# turns it off, e.g. to compare.
provider_imports.install()

from planning.engine import DEPLOYED_STACKS, STACKS  # noqa: E402 - imported once the providers' loader is in place
from tests import plan_cache  # noqa: E402

gc.set_threshold(50_000, 50, 100)

# The tree's digest, taken once by the run's first process and handed to its workers (tests/plan_cache.py).
WORKER_DIGEST = "plan_tree_digest"


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    plan_cache.pin_run_digest(workerinput[WORKER_DIGEST] if workerinput is not None else plan_cache.tree_digest())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist's controller, before starting each worker."""
    node.workerinput[WORKER_DIGEST] = plan_cache.run_digest()


# Inert unless SUITE_STATS names a folder (make test-stats): where the suite's time goes.
pytest_plugins = ["tests.suite_stats"]

# The stacks every suite-wide check runs over (the Pulumi.<stack>.yaml files the planner knows), for
# ``from tests.conftest import STACKS``; the one definition is planning.engine.STACKS.
__all__ = ["DEPLOYED_STACKS", "STACKS"]
