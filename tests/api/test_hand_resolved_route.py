"""The enrollment read is hand-resolved (api/hand_resolved.py): its answers are FastAPI's own, byte for byte.

The same endpoint is mounted a second time at /reference/... as an ordinary FastAPI route, resolved by FastAPI's
dependency solver, and each request is sent to both: a read, an unknown enrollment, no token, a wrong token, a
role that may not read, a user who must change the password first, and a NUL character in the path and in the
query. And the dependencies FastAPI finds in the route's signature (and the app's) are the ones the resolver
calls: a dependency added to the route without the resolver is caught here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute

from api.cli.users import CLI_ACTOR
from api.deps import _authenticated, _bearer, get_flow, may_read
from api.errors import responses
from api.hand_resolved import HandResolvedRoute, hand_resolved
from api.nul_characters import refuse_nul_characters
from api.routes.enrollments import _resolve_read, read_enrollment
from api.schemas.enrollments import EnrollmentOut

RESOLVED_BY_HAND = {refuse_nul_characters, get_flow, _bearer, _authenticated, may_read}
VOLATILE = {"x-request-id", "date"}


def _calls(dependant: Dependant) -> Iterator[Any]:
    for inner in dependant.dependencies:
        yield inner.call
        yield from _calls(inner)


def _the_read(app: Any) -> APIRoute:
    for entry in app.router.routes:
        inner = getattr(entry, "original_router", None)
        for route in inner.routes if inner is not None else [entry]:
            if getattr(route, "path", "") == "/enrollments/{enrollment_id}" and "GET" in route.methods:
                return route  # type: ignore[no-any-return]
    raise AssertionError("no enrollment read route")


def test_the_dependencies_fastapi_finds_in_the_read_are_the_ones_its_resolver_calls(api: Any) -> None:
    app = api.client.app
    route = _the_read(app)
    assert isinstance(route, HandResolvedRoute)
    found = set(_calls(route.dependant))
    for app_wide in app.router.dependencies:
        found |= {app_wide.dependency, *_calls(get_dependant(path=route.path, call=app_wide.dependency))}
    assert found == RESOLVED_BY_HAND


def _answer(response: Any) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((k, v) for k, v in response.headers.items() if k not in VOLATILE)
    return response.status_code, response.content, headers


def test_every_answer_of_the_hand_resolved_read_is_the_one_fastapis_solver_gives(api: Any, flow: Any) -> None:
    app = api.client.app
    app.add_api_route("/reference/enrollments/{enrollment_id}", read_enrollment, methods=["GET"],
                      response_model=EnrollmentOut, responses=responses(404))
    started = api.client.post("/enrollments", headers=api.as_("ana"), json={
        "workflow_id": "nextgen-regenerate-expired-pin", "patient_id": "p-jane"}).json()["enrollment_id"]
    flow.users.create(CLI_ACTOR, "newbie", "Newbie", "staff", first_password="a temporary one 1234")
    newbie = api.client.post("/auth/login", json={"user_id": "newbie", "password": "a temporary one 1234"}
                             ).json()["token"]
    cases = [
        (f"/enrollments/{started}", api.as_("ana"), 200),
        (f"/enrollments/{started}", api.as_("audrey"), 200),
        ("/enrollments/e-nobody", api.as_("ana"), 404),
        (f"/enrollments/{started}", {}, 401),
        (f"/enrollments/{started}", {"Authorization": "Bearer not-a-token"}, 401),
        (f"/enrollments/{started}", {"Authorization": "Basic YTpi"}, 401),
        (f"/enrollments/{started}", api.as_("ehr"), 403),
        (f"/enrollments/{started}", {"Authorization": f"Bearer {newbie}"}, 403),
        ("/enrollments/e%00x", api.as_("ana"), 422),
        (f"/enrollments/{started}?q=a%00b", api.as_("ana"), 422),
        ("/enrollments/e%00x", {}, 422),  # the NUL check comes before the caller is known
        ("/enrollments/e%00x", api.as_("ehr"), 422),  # and before the role
    ]
    for path, headers, status in cases:
        direct = _answer(api.client.get(path, headers=headers))
        reference = _answer(api.client.get(f"/reference{path}", headers=headers))
        assert direct[0] == status, (path, headers, direct)
        assert direct == reference, (path, headers)


def test_a_hand_resolved_route_refuses_response_options_its_handler_would_not_apply() -> None:
    router = APIRouter()
    for option in ({"response_model_exclude_none": True}, {"response_model_exclude": {"state"}},
                   {"response_model_by_alias": False}):
        with pytest.raises(TypeError, match=f"does not apply {next(iter(option))}"):
            router.add_api_route("/elsewhere/{enrollment_id}", read_enrollment, methods=["GET"],
                                 response_model=EnrollmentOut, route_class_override=hand_resolved(_resolve_read),
                                 **option)
