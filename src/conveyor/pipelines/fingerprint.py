"""The code part of a step's cache key: its source and the project code it reaches.

Starting from the step function, walk what its code objects refer to — globals named in
``co_names`` (also attributes looked up on a referenced module, ``helpers.clean``),
closure cells, nested functions and lambdas, default arguments — and keep going through
every function or class that lives in *project code*. Project code is any module whose file
is not under the interpreter's standard library or a ``site-packages`` folder (an editable
install of the user's own package counts as project code, which is the point). Conveyor
itself and everything installed contribute ``name==version`` instead of their source.

Module-level constants of project modules that the code reads (``THRESHOLD = 0.5``)
are part of the key too, by their ``repr``.

Source digests are memoised per code object (immutable: a reloaded module brings new
ones) for the life of the process; the walk itself runs on every call and costs a few
dictionary lookups per function.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import sysconfig
import threading
import types
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata as importlib_metadata
from typing import Any

__all__ = ["CodeFingerprint", "fingerprint", "is_project_module", "package_versions"]

_CONSTANT_TYPES = (int, float, str, bytes, bool, type(None))
_lock = threading.Lock()
_memo: dict[types.CodeType, str] = {}


@dataclass(slots=True)
class CodeFingerprint:
    """``functions``: qualified name → sha256 of its source (project code only);
    ``constants``: ``module.NAME`` → repr; ``packages``: distribution → version."""

    functions: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    packages: dict[str, str] = field(default_factory=dict)


@cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.update(p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages")))
    return tuple(sorted(r.rstrip("/") + "/" for r in roots))


@cache
def _distributions() -> dict[str, list[str]]:
    return dict(importlib_metadata.packages_distributions())


@cache
def _dist_version(dist: str) -> str:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return "?"


def package_versions(top_level: str) -> dict[str, str]:
    """``{distribution: version}`` for an importable top-level package name."""
    if top_level in sys.builtin_module_names or top_level in sys.stdlib_module_names:
        return {"python": "{}.{}".format(*sys.version_info[:2])}
    dists = _distributions().get(top_level) or [top_level]
    return {d: _dist_version(d) for d in dists}


@cache
def _is_project_module(name: str) -> bool:
    top = name.partition(".")[0]
    if top in ("conveyor", "builtins") or top in sys.stdlib_module_names:
        return False
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None)
    if not path:
        return name == "__main__"
    return not path.startswith(_library_roots())


def is_project_module(name: str) -> bool:
    """True for an imported module of the user's project (not stdlib, a library or Conveyor)."""
    return _is_project_module(name)


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _source_digest(obj: Any, code: types.CodeType | None) -> str:
    if code is not None:
        with _lock:
            hit = _memo.get(code)
        if hit is not None:
            return hit
    digest = _compute_digest(obj, code)
    if code is not None:
        with _lock:
            _memo[code] = digest
    return digest


def _compute_digest(obj: Any, code: types.CodeType | None) -> str:
    try:
        text = inspect.getsource(obj)
    except (OSError, TypeError):
        # no source (REPL, generated code): the code object itself is what runs
        if code is None:
            return hashlib.sha256(repr(obj).encode()).hexdigest()
        return hashlib.sha256(
            repr((code.co_code, code.co_consts, code.co_names)).encode()
        ).hexdigest()
    return hashlib.sha256(text.encode()).hexdigest()


class _Walker:
    def __init__(self) -> None:
        self.out = CodeFingerprint()
        self.seen: set[int] = set()

    def package(self, module_name: str) -> None:
        self.out.packages.update(package_versions(module_name.partition(".")[0]))

    def value(self, obj: Any, owner_globals: dict[str, Any] | None, label: str) -> None:
        """Account for one object referenced from project code."""
        if isinstance(obj, types.ModuleType):
            if not _is_project_module(obj.__name__):
                self.package(obj.__name__)
            return
        target = getattr(obj, "__wrapped__", None) or getattr(obj, "fn", None)
        if isinstance(obj, types.FunctionType | type) or (
            target is not None and isinstance(target, types.FunctionType)
        ):
            fn = obj if isinstance(obj, types.FunctionType | type) else target
            module = getattr(fn, "__module__", None) or ""
            if _is_project_module(module):
                self.function(fn)
            elif module:
                self.package(module)
            return
        if isinstance(obj, _CONSTANT_TYPES) and owner_globals is not None:
            self.out.constants[label] = repr(obj)[:200]
            return
        module = getattr(type(obj), "__module__", "") or ""
        if module and not _is_project_module(module):
            self.package(module)

    def function(self, fn: Any) -> None:
        if id(fn) in self.seen:
            return
        self.seen.add(id(fn))
        code = getattr(fn, "__code__", None)
        self.out.functions[_qualname(fn)] = _source_digest(fn, code)
        if isinstance(fn, type):
            for attr in vars(fn).values():
                inner = getattr(attr, "__func__", attr)
                if isinstance(inner, types.FunctionType):
                    self.code(inner.__code__, inner.__globals__, inner)
            return
        if code is not None:
            self.code(code, fn.__globals__, fn)
        for cell in fn.__closure__ or ():
            try:
                content = cell.cell_contents
            except ValueError:  # empty cell
                continue
            self.value(content, None, "")
        for default in fn.__defaults__ or ():
            self.value(default, None, "")

    def code(self, code: types.CodeType, globs: dict[str, Any], fn: Any) -> None:
        module = globs.get("__name__", "?")
        names = set(code.co_names)
        for name in code.co_names:
            if name not in globs:
                continue
            obj = globs[name]
            self.value(obj, globs, f"{module}.{name}")
            if isinstance(obj, types.ModuleType) and _is_project_module(obj.__name__):
                # helpers.clean: attribute names appear in co_names too
                for attr in names:
                    if attr != name and hasattr(obj, attr):
                        self.value(getattr(obj, attr), vars(obj), f"{obj.__name__}.{attr}")
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                self.code(const, globs, fn)


def fingerprint(fn: Any) -> CodeFingerprint:
    """The code fingerprint of ``fn``: the graph is walked on every call (a reloaded helper
    module is seen at once); each function's source digest is memoised per code object."""
    walker = _Walker()
    walker.function(fn)
    return walker.out


def forget() -> None:
    """Drop memoised digests (tests that rewrite modules on disk and reload them)."""
    with _lock:
        _memo.clear()
    _is_project_module.cache_clear()
