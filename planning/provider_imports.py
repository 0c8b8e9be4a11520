"""Import the provider SDKs with their annotations left unevaluated, so an offline plan starts in half the time.

The generated modules of pulumi-aws and pulumi-kubernetes annotate every property and argument of thousands of
classes (``Optional[pulumi.Input[Sequence[pulumi.Input['WebAclRuleArgs']]]]``); Python evaluates each annotation
when the class is created, which is most of their import time (pulumi_aws.wafv2 alone: about 0.7 s of a prod
plan's 3.8 s of imports). Compiled as if they began with ``from __future__ import annotations`` (PEP 563) the
annotations stay strings: nothing at run time reads them but the SDK's own ``typing.get_type_hints`` calls
(pulumi/_types.py), which resolve strings in the module's globals, as they must for user code written that way.
``tests/test_provider_imports.py`` checks that every stack plans and reviews to the same JSON either way.

Only the planner (``python -m planning``, its benchmark and the tests) installs this; the Pulumi CLI runs the
program with ordinary imports. The bytecode is cached beside the environment that holds the sources (not in their
``__pycache__``, whose files an ordinary import would then load), keyed like a ``.pyc`` by the source's mtime and
size; where that directory cannot be written, each module is compiled from source.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import marshal
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import CodeType, ModuleType

PACKAGES = ("pulumi_aws", "pulumi_kubernetes")
CACHE_DIR = Path(sys.prefix) / "agent-platform-bytecode" / sys.implementation.cache_tag
# The future statement above binds ``annotations`` to its feature, whose flag compile() takes.
_FLAGS = annotations.compiler_flag


def _stamp(path: str) -> bytes:
    """What makes a cached compilation stale: the source's modification time and size (as a .pyc's header)."""
    st = os.stat(path)
    return f"{st.st_mtime_ns}:{st.st_size}".encode()


class _PostponedAnnotationsLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        stamp = _stamp(path)
        cached = CACHE_DIR / f"{fullname}.bin"
        with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
            head, _, body = cached.read_bytes().partition(b"\n")
            if head == stamp:
                return marshal.loads(body)
        code = compile(self.get_data(path), path, "exec", flags=_FLAGS, dont_inherit=True)
        _write(cached, stamp + b"\n" + marshal.dumps(code))
        return code


def _write(target: Path, data: bytes) -> None:
    """Write atomically (parallel test workers may compile the same module), or not at all."""
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


class _ProviderFinder(importlib.abc.MetaPathFinder):
    """Finds the providers' modules as the path finder does, then loads their sources with the loader above."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and type(spec.loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _PostponedAnnotationsLoader(spec.loader.name, spec.loader.path)
        return spec


def install() -> None:
    """Load the providers' modules imported from now on with postponed annotations (idempotent); not when the
    environment sets PROVIDER_IMPORTS=plain."""
    if os.environ.get("PROVIDER_IMPORTS") == "plain":
        return
    if not any(isinstance(f, _ProviderFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _ProviderFinder())


def uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _ProviderFinder)]
