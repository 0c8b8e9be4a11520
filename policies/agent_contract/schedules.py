"""How long a five-field (Kubernetes CronJob) schedule can leave between two runs: the config and the pack both
bound a store's data loss by it (snapshot interval + replication lag <= the stack's RPO)."""

from __future__ import annotations

import itertools

DAY_MINUTES = 24 * 60


def _values(field: str, low: int, high: int) -> set[int] | None:
    """The values a cron field takes ('*', 'n', 'a-b', '*/s', 'a-b/s', lists of those); None: not understood."""
    out: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        if step_text and not step_text.isdigit():
            return None
        step = int(step_text) if step_text else 1
        if step < 1:
            return None
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            if not (first.isdigit() and last.isdigit()):
                return None
            start, end = int(first), int(last)
        elif base.isdigit():
            start = int(base)
            end = high if step_text else start
        else:
            return None
        if not low <= start <= end <= high:
            return None
        out.update(range(start, end + 1, step))
    return out


def daily_times(schedule: str) -> tuple[list[int], list[int]] | None:
    """The hours and minutes of a five-field schedule that runs every day (day-of-month, month and day-of-week all
    '*'), each sorted; None when it is not understood or runs on some days only."""
    parts = schedule.split()
    if len(parts) != 5 or parts[2:] != ["*", "*", "*"]:
        return None
    minutes, hours = _values(parts[0], 0, 59), _values(parts[1], 0, 23)
    if not minutes or not hours:
        return None
    return sorted(hours), sorted(minutes)


def max_gap_minutes(schedule: str) -> int | None:
    """The longest time between two consecutive runs of a five-field schedule, over a day.

    Only schedules that run every day are read (day-of-month, month and day-of-week all '*'): a daily one gives
    1440; None when the schedule is not understood or runs on some days only (a gap of a day or more).
    """
    times = daily_times(schedule)
    if times is None:
        return None
    hours, minutes = times
    runs = sorted(h * 60 + m for h in hours for m in minutes)
    gaps = [b - a for a, b in itertools.pairwise(runs)] + [runs[0] + DAY_MINUTES - runs[-1]]
    return max(gaps)


def runs_per_day(schedule: str) -> int | None:
    """How many times a five-field schedule runs on a day it runs: minutes x hours it names.

    A schedule limited to some days (day-of-month, month or day-of-week not '*') runs at most this often on any day,
    so a cost priced from it is an upper bound. None when the minute or hour field is not understood.
    """
    parts = schedule.split()
    if len(parts) != 5:
        return None
    minutes, hours = _values(parts[0], 0, 59), _values(parts[1], 0, 23)
    if not minutes or not hours:
        return None
    return len(minutes) * len(hours)
