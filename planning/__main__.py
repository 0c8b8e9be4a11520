"""``python -m planning``: plan a stack offline, review it against the policy pack, price it."""

import gc

# The planner builds hundreds of thousands of long-lived objects (provider SDK modules, resource inputs,
# protobuf messages) and frees few, so CPython's default thresholds (700, 10, 10) make the cyclic collector
# rescan them thousands of times per run. Fewer, larger collections give identical output in much less time;
# `make bench` and `python -m planning --stack prod --quiet` measure it. Freezing after the imports takes the
# modules out of every later collection.
gc.set_threshold(50_000, 50, 100)

import sys  # noqa: E402

from planning.cli import main  # noqa: E402 - imported after the collector is tuned, then frozen

gc.freeze()
if sys.argv[1:2] == ["preflight"]:  # `python -m planning preflight --stack prod` (docs/preflight.md)
    from planning.preflight.cli import main as preflight

    raise SystemExit(preflight(sys.argv[2:]))
raise SystemExit(main())
