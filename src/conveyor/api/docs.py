"""The interactive API docs (Swagger UI) served from files shipped with the package.

FastAPI's default page loads Swagger UI's script and stylesheet from a CDN, so it is blank
on a machine without internet access. Here the page references only this server: the
assets come from the ``fastapi-offline`` distribution (Swagger UI 5, which renders
OpenAPI 3.1), mounted under ``<docs>/assets``. The validator badge is off, since it
would fetch an image from validator.swagger.io.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

__all__ = ["ASSETS", "install_docs"]

ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")


def install_docs(app: FastAPI, *, docs_url: str, openapi_url: str, title: str) -> None:
    """Serve Swagger UI at ``docs_url`` with every asset from this server."""
    assets_url = f"{docs_url}/assets"
    static = files("fastapi_offline") / "static"
    app.mount(assets_url, StaticFiles(directory=str(static)), name="docs-assets")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} API",
            swagger_js_url=f"{assets_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets_url}/swagger-ui.css",
            swagger_favicon_url=f"{assets_url}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
