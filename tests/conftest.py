"""Suite-wide settings.

Each test process plans whole stacks under the mock engine, holding hundreds of thousands of long-lived
objects; CPython's default collector thresholds (700, 10, 10) rescan them thousands of times. The same
larger thresholds as ``python -m planning`` (planning/__main__.py) keep the suite's results and cut its time.
"""

import gc

from planning import provider_imports

# The provider SDKs load as ``python -m planning`` loads them (planning/provider_imports.py); PROVIDER_IMPORTS=plain
# turns it off, e.g. to compare.
provider_imports.install()

from planning.engine import DEPLOYED_STACKS, STACKS  # noqa: E402 - imported once the providers' loader is in place

gc.set_threshold(50_000, 50, 100)

# Inert unless SUITE_STATS names a folder (make test-stats): where the suite's time goes.
pytest_plugins = ["tests.suite_stats"]

# The stacks every suite-wide check runs over (the Pulumi.<stack>.yaml files the planner knows), for
# ``from tests.conftest import STACKS``; the one definition is planning.engine.STACKS.
__all__ = ["DEPLOYED_STACKS", "STACKS"]
