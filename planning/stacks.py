"""A stack named by its file, so any stack file can be planned, not only the project's dev/staging/prod.

Pulumi names a stack by its file (``Pulumi.<name>.yaml``); the tier whose presets and policy settings apply is
the file's own ``agent-platform:environment``. A blueprint (``blueprints/003-bsc-rag/Pulumi.dev.yaml``) or a
developer's stack (``Pulumi.alice.yaml``) is therefore a name plus a path: the name is what the program sees
(``pulumi.get_stack()``, physical names), the path is where its config comes from.

Stdlib and PyYAML only: the engine, the model and the reports all import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planning import stack_yaml

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "agent-platform"
# Pulumi stack names: ^[a-zA-Z0-9-_.]{1,100}$ (pulumi/pkg/backend validateStackName, "a stack name may only
# contain alphanumeric, hyphens, underscores, or periods").
FILE_NAME = re.compile(r"^Pulumi\.(?P<name>[A-Za-z0-9_.-]{1,100})\.yaml$")


@dataclass(frozen=True)
class StackRef:
    """One stack: the name the program runs as and the file its config is read from."""

    name: str
    path: Path

    @classmethod
    def named(cls, name: str) -> StackRef:
        """A project stack: ``Pulumi.<name>.yaml`` beside ``Pulumi.yaml``."""
        return cls(name, ROOT / f"Pulumi.{name}.yaml")

    @classmethod
    def from_file(cls, path: str | Path) -> StackRef:
        """The stack a file defines; its name is the file's, as Pulumi reads it once copied beside Pulumi.yaml."""
        file = Path(path).expanduser().resolve()
        match = FILE_NAME.match(file.name)
        if match is None:
            raise ValueError(f"{path}: a stack file is named Pulumi.<stack>.yaml (e.g. Pulumi.dev.yaml)")
        if not file.is_file():
            raise FileNotFoundError(f"{path}: no such stack file")
        return cls(match.group("name"), file)

    @property
    def is_project_stack(self) -> bool:
        """The project's own file for this name (its policy settings are committed in policies/config/)."""
        return self.path.resolve() == (ROOT / f"Pulumi.{self.name}.yaml").resolve()

    @property
    def display(self) -> str:
        """How reports name it: the bare name for a project stack, else the file (relative to the repo)."""
        if self.is_project_stack:
            return self.name
        return str(self.relative_path)

    @property
    def relative_path(self) -> Path:
        try:
            return self.path.resolve().relative_to(ROOT)
        except ValueError:
            return self.path

    def document(self) -> dict[str, Any]:
        """The whole stack file (``config:``, ``environment:`` imports), read with the fast safe loader."""
        if not self.path.exists():
            raise FileNotFoundError(f"no stack file {self.path.name}")
        return stack_yaml.load(self.path.read_text()) or {}

    def environment(self) -> str | None:
        """The tier the file declares (``agent-platform:environment``); config validation reports a bad one."""
        value = (self.document().get("config") or {}).get(f"{PROJECT}:environment")
        return value if isinstance(value, str) else None


def as_ref(stack: str | StackRef) -> StackRef:
    """A project stack's name or a StackRef, as a StackRef (every planning entry point takes either)."""
    return stack if isinstance(stack, StackRef) else StackRef.named(stack)


def stack_file_argument(value: str) -> StackRef:
    """``--stack-file PATH`` for argparse: a bad name or a missing file is a usage error (exit 2), not a trace."""
    import argparse

    try:
        return StackRef.from_file(value)
    except (ValueError, FileNotFoundError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
