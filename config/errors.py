"""One error that names every bad key, so a stack is fixed in one pass, in words a user can act on.

Pydantic's own messages name Python classes ("instance of NetworkConfig") and regular expressions; here
every error becomes "camelCase.path: what was given, what is allowed, an example".
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pulumi
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


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


class Problems(ValueError):  # noqa: N818 - a list of problems, raised like a ValueError
    """Raised by a model validator that found problems with several of its keys.

    Each problem is ("relative.camelCase.path", reason); the error report prefixes the model's own path,
    so every bad key is named on its own line instead of one line blaming the whole block.
    """

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p}: {r}" if p else r for p, r in self.problems))

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Problems:
        """From "path: reason" lines (the form cross-section rules return)."""
        return cls(tuple(line.split(": ", 1)) if ": " in line else ("", line) for line in lines)  # type: ignore[misc]


def _internal(part: str | int) -> bool:
    """Pydantic location parts that name validators, not keys the user wrote."""
    return isinstance(part, str) and (part.startswith("function-") or part == "[key]")


def show(value: Any) -> str:
    """A given value as the user would write it in the stack file (JSON), shortened."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    try:
        text = json.dumps(value, default=str, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a boolean)"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {show(value)}"
    return show(value)


def _walk(root: type[BaseModel] | None, loc: Sequence[str | int]) -> tuple[FieldInfo | None, Any]:
    """The field a location names (None for list items and map entries) and the annotation found there."""
    field: FieldInfo | None = None
    annotation: Any = root
    for part in loc:
        annotation = _strip_optional(annotation)
        origin = get_origin(annotation)
        if origin in (list, tuple, set, frozenset):
            args = get_args(annotation)
            field, annotation = None, args[0] if args else None
            continue
        if origin is dict:
            field, annotation = None, get_args(annotation)[1]
            continue
        model = _model_of(annotation)
        if model is None:
            return None, None
        field = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        if field is None:
            return None, None
        annotation = field.annotation
    return field, annotation


def _strip_optional(annotation: Any) -> Any:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return args[0]
    if get_origin(annotation) is Annotated:
        return _strip_optional(args[0])
    return annotation


def _model_of(annotation: Any) -> type[BaseModel] | None:
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def example_of(field: FieldInfo | None) -> str | None:
    """An example value for a field: its stated example, else its default when that is a plain value."""
    if field is None:
        return None
    if field.examples:
        return show(field.examples[0])
    if field.is_required():
        return None
    default = plain(field.get_default(call_default_factory=True))
    if default is None or default == {} or default == []:
        return None
    return show(default)


def plain(value: Any) -> Any:
    """Models inside defaults as the user writes them (camelCase keys)."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, mode="json")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _example_suffix(field: FieldInfo | None) -> str:
    example = example_of(field)
    return f" (e.g. {example})" if example else ""


def _unknown_key(root: type[BaseModel] | None, loc: Sequence[str | int]) -> str:
    _, annotation = _walk(root, loc[:-1])
    model = _model_of(annotation)
    if model is None:
        return "unknown key"
    keys = sorted(f.alias or n for n, f in model.model_fields.items())
    close = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown key{hint} (keys here: {', '.join(keys)})"


def _reason(err: dict[str, Any], root: type[BaseModel] | None, loc: Sequence[str | int]) -> str:
    """Pydantic's error in words: what was given, what is allowed, an example."""
    kind, ctx, given = err["type"], err.get("ctx") or {}, err.get("input")
    field, _ = _walk(root, loc) if root is not None else (None, None)
    example = _example_suffix(field)
    got = f"got {_kind(given)}"
    if kind == "missing":
        return f"is required{example}"
    if kind == "extra_forbidden":
        return _unknown_key(root, loc)
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        return f"must be an object of settings, {got}{example}"
    if kind in ("list_type", "tuple_type", "set_type", "iterable_type"):
        return f"must be a list, {got}{example}"
    if kind in ("string_type", "string_sub_type"):
        return f"must be a text string, {got}{example}"
    if kind in ("int_type", "int_parsing", "int_from_float", "int_parsing_size"):
        return f"must be a whole number, {got}{example}"
    if kind in ("float_type", "float_parsing", "decimal_type", "decimal_parsing"):
        return f"must be a number, {got}{example}"
    if kind == "finite_number":
        return f"must be a finite number, {got}{example}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, {got}"
    if kind in ("literal_error", "enum"):
        return f"{show(given)} is not allowed; use one of {ctx.get('expected', '')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}, {got}"
    if kind == "greater_than":
        return f"must be greater than {ctx['gt']}, {got}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}, {got}"
    if kind == "less_than":
        return f"must be less than {ctx['lt']}, {got}"
    if kind == "string_too_short":
        return f"must not be empty (at least {ctx['min_length']} character{'s' if ctx['min_length'] != 1 else ''})" \
               f"{example}"
    if kind == "string_too_long":
        return f"is too long (at most {ctx['max_length']} characters)"
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} entr{'ies' if ctx['min_length'] != 1 else 'y'}{example}"
    if kind == "too_long":
        return f"takes at most {ctx['max_length']} entr{'ies' if ctx['max_length'] != 1 else 'y'}"
    if kind == "string_pattern_mismatch":
        return f"{show(given)} is not in the expected format{example}"
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "none_required":
        return f"must be null, {got}"
    # Anything else: pydantic's message without class names.
    msg = str(err["msg"])
    return msg.split(" or instance of ")[0]


def issues_from(exc: ValidationError, prefix: Sequence[str | int] = (),
                root: type[BaseModel] | None = None) -> list[tuple[str, str]]:
    """Flatten pydantic errors into (camelCase path, reason) pairs.

    ``root`` is the model validated at ``prefix``: it lets the report add allowed keys and examples.
    """
    found = []
    for err in exc.errors(include_url=False):
        own = [p for p in err["loc"] if not _internal(p)]
        loc = [*prefix, *own]
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, Problems):
            for rel, why in error.problems:
                parts: list[str | int] = [int(p) if p.isdigit() else p for p in rel.split(".") if p] if rel else []
                found.append((_path([*loc, *parts]), why))
            continue
        reason = _reason(err, root, own)
        if not err["loc"] and err["type"] == "value_error":
            # Root-level rules span sections: each line is "camelCase.path: reason".
            for line in reason.splitlines():
                path, _, why = line.partition(": ")
                found.append((_path([*prefix, *path.split(".")]), why))
            continue
        found.append((_path(loc), reason))
    return found
