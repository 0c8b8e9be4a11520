"""The cyclic collector's settings for planning processes, shared by ``python -m planning`` and its benchmark."""

import contextlib
import gc
from collections.abc import Iterator

# The planner builds hundreds of thousands of long-lived objects (provider SDK modules, resource inputs,
# protobuf messages) and frees few, so CPython's default thresholds (700, 10, 10) make the cyclic collector
# rescan them thousands of times per run. Fewer, larger collections give identical output in much less time;
# `make bench` and `python -m planning --stack prod --quiet` measure it.
THRESHOLDS = (50_000, 50, 100)

# Set by ``python -m planning`` (planning/__main__.py): the process is the planner's own and ends after one plan.
OWN_PROCESS = False


def plan_made() -> None:
    """Take the plan (and what the program left) out of later collections, in the planner's own process.

    The program leaves hundreds of thousands of young objects that live until the process ends; each collection
    the review, cost and output trigger would rescan all of them, so that time grew with the stack times the
    review's allocations: faster than the stack (review of 1,349 resources 1.29 s CPU unfrozen, 0.69 s frozen).
    Nothing is freed by it later either way: the process leaves with os._exit. Elsewhere (tests, library use)
    freezing would keep every later plan's garbage alive, so it does nothing there.
    """
    if OWN_PROCESS:
        gc.freeze()


@contextlib.contextmanager
def tuned() -> Iterator[None]:
    """The collector as ``python -m planning`` runs it, for code measured inside another process (the tests).

    A long-lived process (a pytest worker) holds every earlier test's objects; with the default thresholds each
    full collection rescans them, so the time of a review would grow with what ran before it, not with its own
    work. Freezing them and using the planner's thresholds measures the review as a user's process runs it.
    """
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
