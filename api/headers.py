"""The headers every answer carries, set by one plain ASGI middleware (Starlette's `@app.middleware("http")` wraps
each request in extra tasks and streams, which cost more than many a handler here: bench/api_load.py).

- `Cache-Control: no-store`: answers hold personal data, and some a PIN shown once (the pages' static assets set
  their own caching).
- A Content Security Policy allowing this origin only, so even a vendored script that wants a remote image (as
  Redoc's footer logo does) cannot fetch it; `/docs` alone may run inline script, as Swagger UI starts from one;
  WebAssembly may be compiled (the diagrams' Graphviz), JavaScript may not be `eval`ed.
- No framing, no MIME sniffing, no referrer to other sites ("no-referrer" would make a form post say
  "Origin: null" and fail the pages' CSRF check).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
           "script-src 'self' 'wasm-unsafe-eval'{inline}; worker-src 'self' blob:; connect-src 'self'; "
           "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
PAGES = _POLICY.format(inline="")
SWAGGER = _POLICY.format(inline=" 'unsafe-inline'")


class StandardHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = SWAGGER if scope["path"] == "/docs" else PAGES

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Cache-Control", "no-store")
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
