"""Every operation of the OpenAPI document, driven by schemathesis: no 5xx, and answers as documented.

The app is the real one (`api.app.create_app`) over a real SQLite file, with a fake clock and the practice of
`conftest.seed_practice`; schemathesis calls it in-process over ASGI. Each operation runs once per role, because
the role decides which code answers: admin reaches every handler but the integration credential's, integration
reaches those (EHR events, portal callbacks, imports), and staff and auditor meet the 403s of the others.
Admin everywhere, and integration on its own endpoints, run every phase (the schema's examples, the coverage
phase's boundary and negative values, random fuzzing); the other pairs run a short fuzzing pass only, since their
answers mostly stop at authorisation.

SQLite only: conformance to the schema is a property of the API layer (parsing, status codes, response models,
the one error mapper); what differs between databases lies below it and is covered by the other API tests, which
run on both. Bounded and repeatable for CI: a fixed seed, derandomized Hypothesis, no example database, few
examples per operation, no shrinking.

The schema and the app are built when the module is imported: schemathesis makes one test per operation while
pytest collects, from the document the app serves (`schemathesis.pytest.from_fixture` would defer it, but it
breaks on pytest 9.2: "'Function' object has no attribute '_nodeid'").

What the generated tests found is pinned below in FOUND, one exact request each, so it stays found whatever the
generated data becomes.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from seeded_service import ROLES, seeded_service

# The tags whose handlers a role reaches that admin does not: there it runs every phase, as admin does everywhere.
OWN_TAGS = {"integration": ["integration", "imports"]}

# Checks: no 5xx (an unexpected error inside the app reaches the test as its exception, which fails it too);
# status codes, content types, headers and bodies as the operation documents them; `ignored_auth` re-sends a
# successful request without its token and with a wrong one, and both must be refused; `missing_required_header`;
# `unsupported_method` (a method the path lacks is a 405). Left out, each because it flags behaviour the API means
# to have or a framework detail: `positive_data_acceptance` (a valid body naming a patient that does not exist is
# rightly a 404, a guard's refusal a 422: test_api_positive_data.py checks instead that schema-valid data is refused
# only by the rules that depend on data, each named); `negative_data_rejection` (query filters still read a number
# as a date or time, `GET /patients?birth_date=0`, `GET /audit/events?until=0.5`: harmless on a search, reported);
# `allow_header_conformance` (Starlette's 405 names only the methods of the first route on a path: DELETE /sites
# answers `Allow: GET` without POST; reported); the stateful checks (the document declares no links).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, ignored_auth, missing_required_header, unsupported_method]

SERVICE = seeded_service("portalflow-schema-")
TOKENS, APP = SERVICE.tokens, SERVICE.app

# The coverage phase also sends each path the methods it lacks; two are enough to see the 405 (every method would
# be a fifth of all requests).
_EVERY_PHASE = {"examples": {"enabled": True}, "coverage": {"enabled": True, "unexpected-methods": ["delete", "trace"]},
                "fuzzing": {"enabled": True}, "stateful": {"enabled": False}}
_FUZZING_ONLY = {"examples": {"enabled": False}, "coverage": {"enabled": False}, "fuzzing": {"enabled": True},
                 "stateful": {"enabled": False}}


def _generation(max_examples: int) -> dict[str, Any]:
    return {"max-examples": max_examples, "deterministic": True, "database": "none", "no-shrink": True}


def _schema(role: str) -> schemathesis.BaseSchema:
    full = role == "admin"
    config: dict[str, Any] = {
        "seed": 20260302,
        "headers": {"Authorization": f"Bearer {TOKENS[role]}"},
        "generation": _generation(10 if full else 3),
        "phases": _EVERY_PHASE if full else _FUZZING_ONLY,
        "operations": [{"include-tag": tag, "phases": _EVERY_PHASE, "generation": _generation(10)}
                       for tag in OWN_TAGS.get(role, [])],
    }
    return schemathesis.openapi.from_asgi("/openapi.json", APP, config=schemathesis.Config.from_dict(config))


# pytest 9.2 builds a test's id from its original name and its parametrize ids only, and schemathesis 4.32 gives
# the bare function name, so every operation would share one id; a one-value parametrize brings back
# `[role][METHOD /path]` in the ids (and with them -k, --lf and the reports).
@pytest.mark.parametrize("checks", [CHECKS], ids=["checks"])
@schemathesis.pytest.parametrize(**{role: _schema(role) for role in ROLES})
@settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_without_a_server_error_and_as_its_schema_says(
        case: schemathesis.Case, checks: list[schemathesis.CheckFunction]) -> None:
    # The token is the test's own, from the config, and is said so: schemathesis 4.32 sometimes takes a configured
    # header for a generated one (a fuzzed POST /integration/events whose patient an earlier test created), and then
    # reads its 2xx as "accepts invalid authentication" without sending the probes that show the API does not.
    token = (case.headers or {}).get("Authorization")
    case.call_and_validate(checks=checks, headers={"Authorization": token} if token else None)


# The requests the generated tests found (and neighbours found by hand), pinned: each must answer with a status
# its operation documents, in a content type documented for that status, and never a 5xx. Every one was a bug
# (a 500, an undocumented status or media type, a number taken as a date) and is fixed.
FOUND = [
    pytest.param("POST", "/auth/login", "admin", {"content": b"\xff", "headers": {"Content-Type": "application/json"}},
                 id="a JSON body that is not UTF-8"),
    pytest.param("PATCH", "/sites/main", "admin", {"json": {"specialist_office": None}},
                 id="a site's specialist_office set to null"),
    pytest.param("POST", "/providers", "admin", {"json": {"id": "d" * 59, "name": "Dr. Long"}},
                 id="a provider id too long for its audit chain"),
    pytest.param("PUT", "/sites/main/calendar", "admin", {"json": {"zone": "America/New_York", "go_live": 0}},
                 id="a go-live date written as a number"),
    pytest.param("GET", "/workflows/no-such-workflow/diagram", "staff", {}, id="the diagram of no workflow"),
    pytest.param("POST", "/imports/patients", "integration", {"content": b"x", "headers": {"Content-Type": "text/x"}},
                 id="an import in an unsupported media type"),
    pytest.param("GET", "/audit/events", "auditor", {"params": {"after_id": 2**63 - 1}},
                 id="audit events after the largest id the database holds"),
    pytest.param("GET", "/audit/events", "admin", {"params": {"after_id": 2**63}},
                 id="audit events after an id too large for the database"),
    pytest.param("GET", "/audit/export", "admin", {"params": {"after_id": 2**63}},
                 id="audit export after an id too large for the database"),
    pytest.param("GET", "/audit/events", "auditor", {"params": {"since": "0001-01-01T00:00:00+14:00"}},
                 id="audit events since a moment before year 1 in UTC"),
    pytest.param("GET", "/audit/events", "auditor", {"params": {"until": "9999-12-31T23:59:59-14:00"}},
                 id="audit events until a moment after year 9999 in UTC"),
]


@pytest.mark.parametrize(("method", "path", "role", "request_kwargs"), FOUND)
def test_a_request_the_generated_tests_found_answers_as_its_operation_documents(
        method: str, path: str, role: str, request_kwargs: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(APP)  # an unexpected error inside the app is raised here, not hidden in a 500
    headers = {"Authorization": f"Bearer {TOKENS[role]}", **request_kwargs.pop("headers", {})}
    response = client.request(method, path, headers=headers, **request_kwargs)
    paths = APP.openapi()["paths"]
    documented = paths[next(p for p in paths if _matches(p, path))][method.lower()]["responses"]
    assert response.status_code < 500, response.text
    assert str(response.status_code) in documented, f"{response.status_code} is not documented: {response.text}"
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in documented[str(response.status_code)].get("content", {}), \
        f"{media_type} is not documented for {response.status_code}"


def _matches(template: str, path: str) -> bool:
    parts, given = template.strip("/").split("/"), path.strip("/").split("/")
    return len(parts) == len(given) and all(p == g or p.startswith("{") for p, g in zip(parts, given, strict=True))
