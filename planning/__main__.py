"""``python -m planning``: plan a stack offline, review it against the policy pack, price it."""

import gc
import os
import sys

from planning import gc_settings, provider_imports

# The provider SDKs' annotations stay unevaluated: half their import time (planning/provider_imports.py).
provider_imports.install()
# Freezing after the imports takes the modules out of every later collection (see planning/gc_settings.py),
# as does freezing after the plan (``gc_settings.plan_made``), which only the planner's own process does.
gc.set_threshold(*gc_settings.THRESHOLDS)
gc_settings.OWN_PROCESS = True

from planning.cli import main  # noqa: E402 - imported after the collector is tuned, then frozen

gc.freeze()
if sys.argv[1:2] == ["preflight"]:  # `python -m planning preflight --stack prod` (docs/preflight.md)
    from planning.preflight.cli import main as preflight

    status = preflight(sys.argv[2:])
else:
    status = main()
# Tearing down ~1,500 modules and every object of the plan at interpreter exit costs about a second of CPU and
# changes nothing the user sees: every file is written and closed by now. Flush and leave without it (mypy's
# ``util.hard_exit`` does the same for the same reason).
sys.stdout.flush()
sys.stderr.flush()
os._exit(status)
