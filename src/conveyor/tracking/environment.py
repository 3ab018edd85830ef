"""What a run records about where it ran: git commit, dirty flag, Python, packages, command."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["KEY_PACKAGES", "capture_source"]

#: Packages whose versions every run records when installed.
KEY_PACKAGES = (
    "conveyor-mlops",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "lightgbm",
    "xgboost",
    "onnx",
    "onnxruntime",
    "torch",
    "tensorflow",
)


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(cwd: Path | None = None) -> dict[str, Any]:
    """Commit, branch and dirty flag of the repository around ``cwd`` ({} outside git)."""
    cwd = cwd or Path.cwd()
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return {}
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {
        "commit": commit,
        "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd) or "",
        "dirty": bool(status),
        "root": _git(["rev-parse", "--show-toplevel"], cwd) or "",
    }


@functools.cache
def _packages() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in KEY_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


_GIT_TTL_S = 5.0
_git_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def _cached_git(cwd: str) -> dict[str, Any]:
    # Many runs a second from one process must not pay two git calls each; a few
    # seconds of staleness in the dirty flag is the accepted trade.
    now = time.monotonic()
    hit = _git_cache.get(cwd)
    if hit is None or now - hit[0] > _GIT_TTL_S:
        hit = (now, git_state(Path(cwd)))
        _git_cache[cwd] = hit
    return hit[1]


def capture_source() -> dict[str, Any]:
    """The run's source record (git state is re-read at most every few seconds)."""
    return {
        "git": _cached_git(str(Path.cwd())),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "packages": _packages(),
        "command": list(sys.argv),
        "executable": sys.executable,
    }
