"""Fixtures of the UI tests: a real server over a seeded store, and Debian's Chromium.

One seeded server for the UI tests, one browser per test module (CPU is scarce); each test
gets a fresh page that records console errors and uncaught exceptions and fails the test on
any of them.
The API's own 4xx answers the UI shows as states (a 404 page, an invalid filter) are not
errors of the page: the browser logs "Failed to load resource" for them, which is ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CONVEYOR_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"  # axe-core (MPL-2.0), from ui/node_modules


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: the browser tests must run)")
    pytest.skip(what)


@pytest.fixture(scope="package")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """A real server on loopback over a fresh SQLite store seeded through the HTTP client."""
    from conveyor.api import create_app
    from conveyor.api.testing import ServerThread
    from conveyor.artifacts import ArtifactStore
    from conveyor.backend.http import HttpBackend
    from conveyor.backend.local import LocalBackend
    from conveyor.config import load_settings
    from conveyor.store import MetadataStore

    from .seed import seed

    root = tmp_path_factory.mktemp("ui")
    meta = MetadataStore(f"sqlite:///{root / 'meta.db'}")
    backend = LocalBackend(meta, ArtifactStore.from_uri(str(root / "artifacts")))
    settings = load_settings(
        {"CONVEYOR_HOME": str(root), "CONVEYOR_CONFIG": str(root / "none.toml")}
    )
    with ServerThread(create_app(backend, settings=settings, auth="insecure-local")) as server:
        with HttpBackend(server.url) as client:
            data = seed(client, root)
        yield server.url, data
    meta.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class PageErrors(list[str]):
    """Console errors and uncaught exceptions of one page."""


@contextmanager
def open_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh page (1280x900) at ``base_url`` that fails the test on any console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base_url)
    context.set_default_timeout(60_000)  # the 2-core CI machine can be busy
    pg = context.new_page()
    errors = PageErrors()
    pg.on(
        "console",
        lambda m: (
            m.type == "error"
            and "Failed to load resource: the server responded with a status of 4" not in m.text
            and errors.append(m.text)
        ),
    )
    pg.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    pg.errors = errors
    yield pg
    context.close()
    assert not errors, f"console errors on the page: {errors}"


@pytest.fixture
def page(browser: Any, ui_server: tuple[str, dict[str, Any]]) -> Iterator[Any]:
    """A fresh page (1280x900, the system's colour scheme light) at the server's origin."""
    with open_page(browser, ui_server[0]) as pg:
        yield pg


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page."""
    if not AXE.exists():
        _missing(f"{AXE} is missing: copy ui/node_modules/axe-core/axe.min.js there")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return list(found)


# Frames first: Preact runs effects (which start requests) after the next paint, and renders an
# answer on the frames after it; an answer can start the next request, hence the loop.
_SETTLED = """async () => {
  const idle = () => (document.documentElement.dataset.requests ?? "0") === "0";
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const quiet = () => idle() ? Promise.resolve()
    : new Promise(r => window.addEventListener("conveyor:idle", r, { once: true }));
  do { await frames(); await quiet(); await frames(); } while (!idle());
}"""


def settle(page: Any) -> None:
    """Wait until the page's API requests are done, rendered, and no loading state is left.

    `wait_for_load_state("networkidle")` cannot tell: it returns at once after the first load, so
    a view that keeps its old rows while it reloads (after a sort, back, forward) looked settled.
    The UI counts its requests in flight on `<html data-requests>` instead."""
    page.evaluate(_SETTLED)
    page.wait_for_function("() => !document.querySelector('.state.loading')")
