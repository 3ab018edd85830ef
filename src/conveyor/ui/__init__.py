"""The web UI: a built single-page app shipped in the package (``static/``), served at ``/``.

The sources live in ``ui/`` at the repository root (TypeScript, Preact, uPlot, built by
Vite with ``make ui``); the built files are committed here so installing Conveyor needs no
npm and the UI opens with no network. ``static/build.json`` records the hash of the sources
the bundle was built from (:func:`sources_hash`); a test fails when they drift apart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

__all__ = ["RESERVED_PREFIXES", "STATIC_DIR", "install_ui", "sources_hash"]

STATIC_DIR = Path(__file__).parent / "static"

#: Paths the UI never answers (APIs, serving, docs): unknown ones there stay JSON 404s.
RESERVED_PREFIXES = ("/api/", "/ajax-api/", "/serving", "/v2", "/docs", "/openapi.json", "/health")

#: What ``ui/scripts/stamp.mjs`` hashes, relative to ``ui/``.
SOURCES = (
    "index.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "src",
)


def sources_hash(root: Path) -> str:
    """The sha256 over the UI sources under ``root`` (the same walk as stamp.mjs)."""
    files: list[str] = []
    for name in SOURCES:
        path = root / name
        if path.is_dir():
            files.extend(p.relative_to(root).as_posix() for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            files.append(name)
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0")
        digest.update((root / rel).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def install_ui(app: Any, static_dir: Path = STATIC_DIR) -> None:
    """Serve the UI on ``app``: its files, and ``index.html`` for every other GET path
    (the app's router reads the URL) except the reserved prefixes. Call it after every
    other route is added: the fallback matches only what nothing else did."""
    from conveyor.ui.routes import ui_route

    app.router.routes.append(ui_route(static_dir))
