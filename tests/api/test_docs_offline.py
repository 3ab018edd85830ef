"""/api/v1/docs works without internet: every asset it names is served by this server."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.server


def test_docs_page_references_only_local_assets_and_each_is_served(client: httpx.Client) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.text
    assert "SwaggerUIBundle" in html
    assert re.findall(r"(?:https?:)?//[\w.-]+", html) == [], "the page names an external host"
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assets += re.findall(r"""url:\s*['"]([^'"]+)['"]""", html)  # the OpenAPI document
    assert len(assets) >= 4, assets
    kinds = {}
    for url in assets:
        assert url.startswith("/api/v1/"), url
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.content, url
        kinds[url.rsplit(".", 1)[-1]] = answer.headers["content-type"]
    assert "javascript" in kinds["js"]
    assert kinds["css"].startswith("text/css")
    assert kinds["json"].startswith("application/json")
    # Swagger UI 5 renders OpenAPI 3.1, which FastAPI writes
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.1")
    bundle = client.get("/api/v1/docs/assets/swagger-ui-bundle.js").text
    assert re.search(r'"5\.\d+\.\d+"', bundle)
    assert '"validatorUrl": null' in html
