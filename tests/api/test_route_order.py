"""The app lists its busiest routes first (FastAPI tries routes in order), which is safe only because no two of its
routers answer the same method and path: then the order decides how soon a request finds its route, never which."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import BaseRoute


def _routes_by_entry(app: Any) -> list[tuple[int, BaseRoute]]:
    """Every route with the index of the app's entry it comes from (an included router, or a route of its own)."""
    found = []
    for index, entry in enumerate(app.router.routes):
        inner = getattr(entry, "original_router", None)
        found += [(index, route) for route in (inner.routes if inner is not None else [entry])]
    return found


def _example(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_no_two_routers_answer_the_same_method_and_path(api: Any) -> None:
    routes = _routes_by_entry(api.client.app)
    shared = []
    for index, route in routes:
        for other_index, other in routes:
            if index == other_index or not hasattr(route, "path_regex") or not hasattr(other, "path"):
                continue
            methods = getattr(route, "methods", None)
            other_methods = getattr(other, "methods", None)
            same_method = not methods or not other_methods or set(methods) & set(other_methods)
            if same_method and route.path_regex.match(_example(other.path)):
                shared.append((route.path, other.path))
    assert shared == []


def test_an_enrollment_read_finds_its_route_before_any_page(api: Any) -> None:
    paths = [getattr(route, "path", "") for _, route in _routes_by_entry(api.client.app)]
    first_page = next(i for i, path in enumerate(paths) if path.startswith("/app/"))
    assert paths.index("/enrollments/{enrollment_id}") < first_page
    assert paths.index("/worklists/invites-waiting") < first_page
