"""A route whose parameters a function written for it resolves, instead of FastAPI's dependency solver.

FastAPI resolves a route's parameters on every request by walking its dependency tree: for an enrollment read, a solve
for the route and for each dependency in its tree (the app's NUL check, the role check, the caller, the engine, the
bearer token), each building caches and checking every parameter's kind. Under a profiler that walk was a quarter of a
read's time (bench/reads_profile.py), and reads are what staff screens and integrations send most.

A hand-resolved route keeps everything FastAPI knows of it: its path, its response model, the dependencies its
signature declares (so /openapi.json documents its security and errors as before), and the error handlers and
middlewares around it. Only the walk is replaced: `resolve(request, response)` is written for the endpoint and
calls the very same dependency functions, in the order FastAPI would, and returns the endpoint's arguments. The
answer is then made as FastAPI makes it: the endpoint's result validated against the response model and written as
JSON by Pydantic, with the status code and headers the endpoint set on its `Response` parameter.

The price is that the resolver must follow the signature: tests/api/test_hand_resolved_route.py compares the
dependencies FastAPI finds in each hand-resolved route with the ones its resolver calls, and every answer (200,
401, 403, 404, 422) with the one FastAPI's own solver gives, byte for byte. Nor does the resolver see
`app.dependency_overrides` (tests override nothing on this route), and the response model's include, exclude and
`response_class` options are refused when the route is made: the handler applies none of them.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

Resolver = Callable[[Request, Response], Awaitable[dict[str, Any]]]
_NOT_APPLIED = ("response_model_include", "response_model_exclude", "response_model_exclude_unset",
                "response_model_exclude_defaults", "response_model_exclude_none")


class HandResolvedRoute(APIRoute):
    """Set `resolver` in a subclass (`hand_resolved(resolver)` makes one) and give it as the route's class."""

    resolver: Resolver

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint, resolve, status_code = self.endpoint, type(self).resolver, self.status_code
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"{self.path}: a hand-resolved route's endpoint must be `async def`")
        # What the handler below does not apply: refused when the route is made, rather than ignored.
        unapplied = [name for name in _NOT_APPLIED if getattr(self, name)]
        unapplied += [] if self.response_model_by_alias else ["response_model_by_alias=False"]
        unapplied += [] if isinstance(self.response_class, DefaultPlaceholder) else ["response_class"]
        if unapplied:
            raise TypeError(f"{self.path}: a hand-resolved route does not apply {', '.join(unapplied)}")
        model: TypeAdapter[Any] = TypeAdapter(self.response_model)

        async def handle(request: Request) -> Response:
            sub = Response()  # what the endpoint sets on its Response parameter, as FastAPI's solver makes it
            del sub.headers["content-length"]
            sub.status_code = None  # type: ignore[assignment]
            answer = await endpoint(**await resolve(request, sub))
            body = model.dump_json(model.validate_python(answer), by_alias=True)
            response = Response(body, status_code=sub.status_code or status_code or 200, media_type="application/json")
            response.headers.raw.extend(sub.headers.raw)
            return response

        return handle


def hand_resolved(resolver: Resolver) -> type[HandResolvedRoute]:
    """A route class whose requests `resolver` resolves."""
    return type(f"HandResolved_{resolver.__name__}", (HandResolvedRoute,), {"resolver": staticmethod(resolver)})
