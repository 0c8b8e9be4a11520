"""The cyclic collector's settings for planning processes, shared by ``python -m planning`` and its benchmark."""

# The planner builds hundreds of thousands of long-lived objects (provider SDK modules, resource inputs,
# protobuf messages) and frees few, so CPython's default thresholds (700, 10, 10) make the cyclic collector
# rescan them thousands of times per run. Fewer, larger collections give identical output in much less time;
# `make bench` and `python -m planning --stack prod --quiet` measure it.
THRESHOLDS = (50_000, 50, 100)
