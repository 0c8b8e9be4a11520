"""Progress on stderr for the long steps, so a first run is never silent for more than a few seconds."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

HEARTBEAT_SECONDS = 5.0


@contextmanager
def step(label: str, *, enabled: bool = True, stream: TextIO | None = None,
         every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """Announce ``label``, repeat a heartbeat every ``every`` seconds while it runs, and say how long it took."""
    out = stream or sys.stderr
    if not enabled:
        yield
        return
    started = time.perf_counter()
    print(f"... {label}", file=out, flush=True)
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            print(f"    still {label} ({time.perf_counter() - started:.0f}s)", file=out, flush=True)

    thread = threading.Thread(target=beat, name="progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
    print(f"    done in {time.perf_counter() - started:.1f}s", file=out, flush=True)
