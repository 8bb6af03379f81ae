"""Issue 15, item 7: data valid by the OpenAPI document is not refused, save by the rules the document cannot state.

schemathesis generates only positive data (valid by the document the app serves: the examples, the coverage phase's
boundary values, random fuzzing) for every operation, as admin, and as the integration on its own endpoints. Path
parameters name things the seeded practice has (site main, patient p-jane, household h-lee, user bob, ...), so a
body reaches the rules behind its path instead of a 404. A 400 or 422 answer fails the test unless its `field` and
words are one of REFUSED_BY_DATA for that operation: a refusal that depends on what is stored (an id taken, a site
that does not exist, what the workflow is about), on the clock, or on a rule JSON Schema cannot relate (a phone
number and its country, a header and a body field), each with its reason. Operations whose every answer depends
on stored data are left out (LEFT_OUT), each with its reason. A 404, a 409 and a 401 are allowed anywhere: they
are about what exists, not about the data's shape.

SQLite only, bounded and repeatable like test_api_schema.py: a fixed seed, derandomized, no example database, no
shrinking, few examples per operation.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from seeded_service import seeded_service

SERVICE = seeded_service("portalflow-positive-")

# Things of the seeded practice, for path parameters. Not the admin's own user: revoking its tokens or setting
# its password would end the run.
PATH = {"path.site_id": "main", "path.patient_id": "p-jane", "path.household_id": "h-lee", "path.user_id": "bob",
        "path.provider_id": "dr-pcp", "path.workflow_id": "nextgen-pxp-portal-invites", "path.version": 2,
        "path.message_id": "auto_invite"}

DATA = "what is stored"
# Operation -> the refusals allowed for schema-valid data: (field, words in the message) -> why the document cannot
# state it. Anything else refused with 400 or 422 is a rule the document should state, and fails the test.
REFUSED_BY_DATA: dict[str, dict[tuple[str | None, str], str]] = {
    "PUT /users/{user_id}/sites": {("sites", "no site"): f"{DATA}: the sites that exist"},
    "PUT /users/{user_id}/password": {
        ("reason", "needs a reason"): "who is asking: a reason is needed when an admin sets another user's password, "
                                      "and the document cannot relate the caller to the path"},
    "POST /users/{user_id}/tokens": {("user_id", "deactivated"): f"{DATA}: whether the user is active"},
    "POST /sites": {
        ("phone", "is not a phone number"): "libphonenumber's numbering plans, per the site's country",
        ("body.subdivision", "unknown holidays subdivision"): "the holidays package's subdivisions, per country",
        ("workflows", "no workflow"): f"{DATA}: the published workflows"},
    "PATCH /sites/{site_id}": {
        ("phone", "is not a phone number"): "libphonenumber's numbering plans, per the site's stored country",
        ("workflows", "no workflow"): f"{DATA}: the published workflows"},
    "PUT /sites/{site_id}/calendar": {
        ("body.hours", "closes before it opens"): "the order of two times within a text: told in words",
        ("body.hours", "overlaps"): "spans of one day against each other: told in words",
        ("body.subdivision", "unknown holidays subdivision"): "the holidays package's subdivisions, per country"},
    "POST /patients": {("body.birth_date", "is in the future"): "the server's clock"},
    "PATCH /patients/{patient_id}": {("pcp_id", "no provider"): f"{DATA}: the providers that exist",
                                     ("responsible_provider_id", "no provider"): f"{DATA}: the providers"},
    "POST /households": {("body.patient_id", "at site"): f"{DATA}: the site each child is at"},
    "PATCH /households/{household_id}": {
        ("guardian_email_confirmed_personal", "no email address"): f"{DATA}: whether an email is on file"},
    "POST /households/{household_id}/members": {("body.patient_id", "at site"): f"{DATA}: the child's site"},
    "POST /enrollments": {(None, "is for a"): f"{DATA}: whether the workflow is about a patient or a household",
                          (None, "does not use"): f"{DATA}: the workflows the site uses",
                          (None, "already running"): f"{DATA}: the enrollments running"},
    "POST /workflows/{workflow_id}/migrations": {("map", ""): f"{DATA}: the states of each published version"},
    "GET /workflows/{workflow_id}/messages/{message_id}/preview": {
        ("message", ""): f"{DATA}: the messages of the published versions",
        ("patient", "not both"): "two query parameters: OpenAPI cannot relate them; told in words",
        ("patient", "is about a"): f"{DATA}: what the workflow is about",
        ("household", "is about a"): f"{DATA}: what the workflow is about",
        ("site", "is at site"): f"{DATA}: the patient's site"},
    "POST /onboarding": {("workflow_id", "is for households"): f"{DATA}: what the workflow is about",
                         ("trigger", "has no action"): f"{DATA}: the workflow's actions"},
    "POST /integration/events": {
        ("body.key", "idempotency key is required"): "a header or a body field: OpenAPI cannot relate them",
        ("body.key", "differ"): "a header and a body field: OpenAPI cannot relate them",
        ("key", "already used"): f"{DATA}: the keys already received"},
    "GET /audit/events": {("since", "earlier than until"): "two query parameters: OpenAPI cannot relate them",
                          ("since", "outside the years"): "a time zone's offset at the first or last UTC moment",
                          ("until", "outside the years"): "a time zone's offset at the first or last UTC moment"},
    "GET /audit/export": {("since", "earlier than until"): "two query parameters: OpenAPI cannot relate them",
                          ("since", "outside the years"): "a time zone's offset at the first or last UTC moment",
                          ("until", "outside the years"): "a time zone's offset at the first or last UTC moment"},
}

# Operations left out whole: every refusal of theirs depends on what is stored.
LEFT_OUT = {
    "POST /enrollments/{enrollment_id}/steps/{step_id}": "the steps of the action in the enrollment's state",
    "POST /enrollments/{enrollment_id}/triggers/{trigger}": "the actions of the enrollment's state, their guards",
    "POST /portal/registrations": "a PIN that was issued (any other is refused alike, by design)",
    "POST /portal/children": "a PIN that was issued (any other is refused alike, by design)",
    "POST /portal/links": "a link that was sent (any other is refused alike, by design)",
    "POST /imports/patients": "a file: a CSV header's columns are told in words; rows are reported, not refused",
}


def refusal_is_allowed(operation: str, status: int, error: dict[str, Any]) -> bool:
    if status == 400 and error.get("code") == "credential_refused":
        return False  # only the portal's PIN and link endpoints answer it, and they are left out
    return any(error.get("field") == field and words in error.get("message", "")
               for field, words in REFUSED_BY_DATA.get(operation, {}))


def schema_valid_data_is_not_refused(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """A check: positive data answered 400 or 422 only for a refusal listed for its operation."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return
    error = response.json()["error"]
    if not refusal_is_allowed(case.operation.label, response.status_code, error):
        raise AssertionError(f"{case.operation.label} refused data valid by its schema: {response.status_code} "
                             f"{error['field']}: {error['message']}")


def _schema(role: str) -> schemathesis.BaseSchema:
    config = {
        "seed": 20260302,
        "headers": SERVICE.headers(role),
        "parameters": PATH,
        # No text may hold NUL (api/nul_characters.py, said in the document's description for every field).
        "generation": {"mode": "positive", "max-examples": 12, "deterministic": True, "database": "none",
                       "no-shrink": True, "allow-x00": False},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True, "unexpected-methods": []},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    }
    schema = schemathesis.openapi.from_asgi("/openapi.json", SERVICE.app, config=schemathesis.Config.from_dict(config))
    schema = schema.exclude(name=list(LEFT_OUT))
    # The integration reaches only its own endpoints; admin everything else.
    return schema.include(tag="integration") if role == "integration" else schema.exclude(tag="integration")


@pytest.mark.parametrize("checks", [[not_a_server_error, schema_valid_data_is_not_refused]], ids=["checks"])
@schemathesis.pytest.parametrize(admin=_schema("admin"), integration=_schema("integration"))
@settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_data_valid_by_the_schema_is_refused_only_by_rules_that_depend_on_data(
        case: schemathesis.Case, checks: list[schemathesis.CheckFunction]) -> None:
    case.call_and_validate(checks=checks)


def test_every_allowance_and_every_left_out_operation_names_a_real_operation_with_a_reason() -> None:
    labels = {f"{method.upper()} {path}" for path, item in SERVICE.app.openapi()["paths"].items() for method in item}
    assert set(REFUSED_BY_DATA) <= labels
    assert set(LEFT_OUT) <= labels
    assert all(reason for allowed in REFUSED_BY_DATA.values() for reason in allowed.values())
    assert all(LEFT_OUT.values())


def test_a_refusal_not_listed_for_its_operation_fails_the_check() -> None:
    gone = {"code": "invalid_input", "field": "user_id", "message": "user_id: user 'ana' is deactivated"}
    assert refusal_is_allowed("POST /users/{user_id}/tokens", 422, gone)
    assert not refusal_is_allowed("POST /providers", 422, gone)
    assert not refusal_is_allowed("POST /users/{user_id}/tokens", 422,
                                  {**gone, "field": "body.label", "message": "body.label: no"})
