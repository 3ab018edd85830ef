"""The committed UI bundle matches its sources and is served at / without shadowing the API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from conveyor.ui import STATIC_DIR, sources_hash

UI_SOURCES = Path(__file__).resolve().parents[2] / "ui"


def test_committed_bundle_is_built_from_the_sources() -> None:
    stamp = json.loads((STATIC_DIR / "build.json").read_text())
    assert stamp["sources_sha256"] == sources_hash(UI_SOURCES), (
        "src/conveyor/ui/static is stale: the ui/ sources changed since the last build; "
        "run `make ui` and commit src/conveyor/ui/static"
    )
    index = (STATIC_DIR / "index.html").read_text()
    assets = [p.name for p in (STATIC_DIR / "assets").iterdir()]
    assert any(name.endswith(".js") and name in index for name in assets)
    assert "http://" not in index and "https://" not in index  # no CDN: opens offline


@pytest.mark.server
def test_served_at_root_with_the_api_untouched(ui_server: tuple[str, dict[str, Any]]) -> None:
    url, data = ui_server
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser sends
    with httpx.Client(base_url=url) as http:
        for path in (
            "/",
            "/experiments",
            f"/runs/{data['runs'][0].id}",
            "/models/churn/versions/1",
        ):
            page = http.get(path, headers=html)
            assert page.status_code == 200 and "text/html" in page.headers["content-type"], path
            assert '<div id="app">' in page.text
        asset = next(p.name for p in (STATIC_DIR / "assets").iterdir() if p.suffix == ".js")
        js = http.get(f"/assets/{asset}")
        assert js.status_code == 200 and "immutable" in js.headers["cache-control"]
        for path in ("/api/v1/nope", "/serving/nope", "/v2/models", "/assets/nope.js"):
            answer = http.get(path, headers=html)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("application/json"), path
        assert http.post("/experiments").status_code in (404, 405)
        elsewhere = http.get("/experiments")  # an API client (Accept */*): JSON, not the page
        assert elsewhere.status_code == 404 and elsewhere.json()["error"]["code"] == "not_found"
        assert http.get("/api/v1/experiments").json()["experiments"]
        assert http.get("/../../etc/passwd").status_code in (
            200,
            404,
        )  # index or 404, never the file
        assert "root:" not in http.get("/assets/../../../../etc/passwd").text


def test_conveyor_ui_refuses_a_remote_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from conveyor.cli.main import app
    from conveyor.config import reset_settings

    monkeypatch.setenv("CONVEYOR_URI", "http://127.0.0.1:9")
    reset_settings()
    result = CliRunner().invoke(app, ["ui"])
    assert result.exit_code == 1
    assert "the UI is served by that server, open http://127.0.0.1:9" in result.output
