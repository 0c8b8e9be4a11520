"""Shell and SQL live in ``templates/`` beside their component; this renders them.

Placeholders are ``@@{name}``: shell and SQL use ``$`` and ``{`` themselves, so neither can be the delimiter.
Every placeholder must be given (a missing one raises); a template with none is returned as it is stored.
"""

from __future__ import annotations

import string
from pathlib import Path


class _Template(string.Template):
    delimiter = "@@"


def template_text(directory: Path, name: str) -> str:
    """The stored text of ``directory/name`` (UTF-8, exactly as committed)."""
    return (directory / name).read_text(encoding="utf-8")


def render(directory: Path, name: str, **values: str) -> str:
    """``directory/name`` with each ``@@{key}`` replaced by ``values[key]``."""
    return _Template(template_text(directory, name)).substitute(values)
