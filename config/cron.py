"""AWS cron expressions (AWS Backup and EventBridge share the syntax), checked field by field.

``cron(Minutes Hours Day-of-month Month Day-of-week Year)``; one of day-of-month and day-of-week is ``?``.
Source: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html#eb-cron-expressions
(AWS Backup: https://docs.aws.amazon.com/aws-backup/latest/devguide/creating-a-backup-plan.html, "cron expressions").
"""

from __future__ import annotations

import re

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

# name, lowest, highest, names for values, extra wildcards the field takes
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...], str], ...] = (
    ("minutes", 0, 59, (), ""),
    ("hours", 0, 23, (), ""),
    ("day-of-month", 1, 31, (), "?LW"),
    ("month", 1, 12, MONTHS, ""),
    ("day-of-week", 1, 7, WEEKDAYS, "?L#"),
    ("year", 1970, 2199, (), ""),
)
EXAMPLE = "cron(0 6 ? * SAT *)"


def _value(token: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if token.upper() in names:
        return True
    return token.isdigit() and low <= int(token) <= high


def _field_problem(text: str, name: str, low: int, high: int, names: tuple[str, ...], extra: str) -> str | None:
    allowed = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
    wrong = f"{name} '{text}' is not valid: use {allowed}, '*', lists (a,b), ranges (a-b) or steps (a/n)"
    if text == "*" or (text == "?" and "?" in extra):
        return None
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isdigit() and int(step) > 0):
            return wrong
        if name == "day-of-month" and re.fullmatch(r"L|LW|\d{1,2}W", base):
            if base not in ("L", "LW") and not _value(base[:-1], low, high, names):
                return wrong
            continue
        if name == "day-of-week" and re.fullmatch(r"\w+L|\w+#[1-5]", base):
            if not _value(re.split(r"L|#", base)[0], low, high, names):
                return wrong
            continue
        bounds = base.split("-") if base != "*" else []
        if base != "*" and (len(bounds) > 2 or not all(_value(b, low, high, names) for b in bounds)):
            return wrong
    return None


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not an AWS cron expression, or None."""
    match = re.fullmatch(r"cron\((.*)\)", expression.strip())
    fields = match.group(1).split() if match else []
    if len(fields) != 6:
        return (f"'{expression}' is not an AWS cron expression: cron(minutes hours day-of-month month day-of-week "
                f"year), e.g. {EXAMPLE}")
    for text, (name, low, high, names, extra) in zip(fields, _FIELDS, strict=True):
        problem = _field_problem(text, name, low, high, names, extra)
        if problem:
            return f"'{expression}': {problem} (e.g. {EXAMPLE})"
    if (fields[2] == "?") == (fields[4] == "?"):
        return f"'{expression}': exactly one of day-of-month and day-of-week must be '?' (e.g. {EXAMPLE})"
    return None
