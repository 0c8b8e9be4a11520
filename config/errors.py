"""One error that names every bad key, so a stack is fixed in one pass."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pulumi
from pydantic import ValidationError


def _path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


class ConfigError(pulumi.RunError):
    """Invalid stack configuration. A RunError, so the CLI prints the message without a traceback."""

    def __init__(self, stack: str, issues: Iterable[tuple[str, str]]) -> None:
        self.stack = stack
        self.issues = sorted(set(issues))
        lines = [f"  - {path}: {reason}" for path, reason in self.issues]
        count = len(self.issues)
        super().__init__(
            f"invalid configuration for stack '{stack}' ({count} problem{'s' if count != 1 else ''}); "
            "no resources were registered:\n" + "\n".join(lines)
        )

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.issues]


def _internal(part: str | int) -> bool:
    """Pydantic location parts that name validators, not keys the user wrote."""
    return isinstance(part, str) and (part.startswith("function-") or part == "[key]")


def issues_from(exc: ValidationError, prefix: Sequence[str | int] = ()) -> list[tuple[str, str]]:
    """Flatten pydantic errors into (camelCase path, reason) pairs."""
    found = []
    for err in exc.errors(include_url=False):
        loc = [*prefix, *[p for p in err["loc"] if not _internal(p)]]
        reason = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        if not err["loc"] and err["type"] == "value_error":
            # Root-level rules span sections: each line is "camelCase.path: reason".
            for line in reason.splitlines():
                path, _, why = line.partition(": ")
                found.append((_path([*prefix, *path.split(".")]), why))
            continue
        found.append((_path(loc), reason))
    return found
