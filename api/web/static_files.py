"""The vendored assets and the stylesheet, served by the app with an hour's caching (every other answer is
`no-store`, as it may hold personal data; these never do)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.web.templating import STATIC


class Assets(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=STATIC)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = "public, max-age=3600"
        return response
