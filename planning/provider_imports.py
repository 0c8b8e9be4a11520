"""Import the provider SDKs with their annotations left unevaluated, so an offline plan starts in half the time.

The generated modules of pulumi-aws and pulumi-kubernetes annotate every property and argument of thousands of
classes (``Optional[pulumi.Input[Sequence[pulumi.Input['WebAclRuleArgs']]]]``); Python evaluates each annotation
when the class is created, which is most of their import time (pulumi_aws.wafv2 alone: about 0.7 s of a prod
plan's 3.8 s of imports). Compiled as if they began with ``from __future__ import annotations`` (PEP 563) the
annotations stay strings: nothing at run time reads them but the SDK's own ``typing.get_type_hints`` calls
(pulumi/_types.py), which resolve strings in the module's globals, as they must for user code written that way.
``tests/test_provider_imports.py`` checks that every stack plans and reviews to the same JSON either way.

pulumi-aws's packages (the root and each service, ``pulumi_aws.ec2``) also import every one of their modules at
once (``from .vpc_endpoint import *`` for each of ec2's 181 members); the program uses a few of each. Loaded here,
such a package binds a member's public names (the ``__all__`` each generated module declares) when one of them is
first used (module ``__getattr__``, PEP 562), so a plan imports the members it uses and no others. Each name is
bound to the same object either way (``tests/test_provider_imports.py``).

Only the planner (``python -m planning``, its benchmark and the tests) installs this; the Pulumi CLI runs the
program with ordinary imports. The bytecode is cached beside the environment that holds the sources (not in their
``__pycache__``, whose files an ordinary import would then load), keyed like a ``.pyc`` by the source's mtime and
size; where that directory cannot be written, each module is compiled from source.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.machinery
import marshal
import os
import re
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


# A package's "import every member" line (``from .vpc_endpoint import *``). Members named ``_x`` (enums, input
# types) stay eager: every member module needs them.
_STAR = re.compile(r"^from \.([a-z0-9_]+) import \*$", re.MULTILINE)
_ALL = re.compile(r"^__all__ = \[([^\]]*)\]", re.MULTILINE)
_LAZY_PACKAGES = "pulumi_aws"

_LAZY_MEMBERS = """
_LAZY_MEMBERS = {members!r}
_LAZY_NAMES = {{name: member for member, names in _LAZY_MEMBERS.items() for name in names}}


def __getattr__(name):
    import importlib
    member = _LAZY_NAMES.get(name, name if name in _LAZY_MEMBERS else None)
    if member is None:
        raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}")
    module = importlib.import_module(__name__ + "." + member)
    # As ``from .member import *`` would, after the import bound the module itself to its name.
    for bound in _LAZY_MEMBERS[member]:
        globals()[bound] = getattr(module, bound)
    return globals()[name]


def __dir__():
    return sorted({{*globals(), *_LAZY_NAMES, *_LAZY_MEMBERS}})
"""


def _declared(folder: Path, member: str) -> list[str] | None:
    """The names ``from .member import *`` binds: its literal ``__all__``, or None where there is none."""
    try:
        found = _ALL.search((folder / f"{member}.py").read_text())
    except OSError:
        return None
    return re.findall(r"['\"]([^'\"]+)['\"]", found.group(1)) if found else None


def _lazy_package_source(source: str, folder: Path) -> str:
    """A generated package's source with its member star-imports bound on first use (see the module docstring).

    Deferred is only a member whose bindings cannot depend on the star-imports' order: one with a literal
    ``__all__`` and no name another member (or the enums and input types) also binds. Every other member stays an
    eager import, in its place.
    """
    members = [m.group(1) for m in _STAR.finditer(source)]
    declared = {m: _declared(folder, m) for m in members}
    bound_by: dict[str, set[str]] = {}
    for member, names in declared.items():
        for name in names or []:
            bound_by.setdefault(name, set()).add(member)
    eager = {m for m in members if m.startswith("_") or declared[m] is None}
    eager |= {m for by in bound_by.values() if len(by) > 1 for m in by}
    lazy = {m: names for m, names in declared.items() if m not in eager and names is not None}
    body = _STAR.sub(lambda match: "" if match.group(1) in lazy else match.group(0), source)
    return body + _LAZY_MEMBERS.format(members=lazy)


def _is_lazy_package(fullname: str, path: str) -> bool:
    return fullname.partition(".")[0] == _LAZY_PACKAGES and fullname.count(".") <= 1 and \
        path.endswith("__init__.py")


def _package_stamp(path: str) -> bytes:
    """A lazy package's source stamp, those of the members whose names it lists and this module's (the rewrite)."""
    folder = os.path.dirname(path)
    members = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
    digest = hashlib.sha256(b"".join(_stamp(os.path.join(folder, f)) + f.encode() for f in members))
    digest.update(_stamp(__file__))
    return _stamp(path) + b":" + digest.hexdigest()[:16].encode()


class _PostponedAnnotationsLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        lazy = _is_lazy_package(fullname, path)
        stamp = _package_stamp(path) if lazy else _stamp(path)
        cached = CACHE_DIR / f"{fullname}.bin"
        with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
            head, _, body = cached.read_bytes().partition(b"\n")
            if head == stamp:
                return marshal.loads(body)
        source: str | bytes = self.get_data(path)
        if lazy:
            source = _lazy_package_source(bytes(source).decode(), Path(path).parent)
        code = compile(source, path, "exec", flags=_FLAGS, dont_inherit=True)
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
