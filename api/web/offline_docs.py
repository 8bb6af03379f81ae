"""`/docs` (Swagger UI) and `/redoc` with their scripts, styles and icon served by the app: FastAPI's defaults load
them from a CDN, so in a clinic network without Internet access both pages were blank."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

VENDOR = "/static/vendor"
ICON = "/static/favicon.svg"
FIXES = "/static/api-reference.css"


def install(app: FastAPI) -> None:
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        # deepLinking off: with it, each operation's path is a link inside its button (nested controls).
        return _accessible(get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{title} · API",
            swagger_js_url=f"{VENDOR}/swagger-ui-bundle-5.35.0.js", swagger_css_url=f"{VENDOR}/swagger-ui-5.35.0.css",
            swagger_favicon_url=ICON, swagger_ui_parameters={"validatorUrl": None, "deepLinking": False}))

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _accessible(get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{title} · API reference",
            redoc_js_url=f"{VENDOR}/redoc-2.5.4.standalone.js", redoc_favicon_url=ICON, with_google_fonts=False))


def _accessible(page: HTMLResponse) -> HTMLResponse:
    """FastAPI's pages name no language and keep the tools' low-contrast colours: say English, add our fixes."""
    html = bytes(page.body).decode("utf-8").replace("<html>", '<html lang="en">', 1)
    html = html.replace("</head>", f'<link rel="stylesheet" href="{FIXES}">\n</head>', 1)
    return HTMLResponse(html)
