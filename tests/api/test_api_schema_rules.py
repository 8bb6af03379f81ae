"""Issue 15, item 7: the rules that refuse a request are stated in the OpenAPI schema where JSON Schema can state
them, and a request breaking one is answered 422 naming the field.

Each rule comes as a pair of requests that differ only where the rule looks: the good one is valid by the
document the app serves (`app.openapi()`, checked with a JSON Schema 2020-12 validator, formats included) and is
accepted; the bad one is invalid by that same document, so the document states the rule, and the answer is 422 in
the API's one error shape, naming the field. Rules that JSON Schema cannot relate (a holiday subdivision and its
country, a day's opening hours, two query parameters, a header and a body field) are told in words beside the
field: those are checked to say so, and to be answered naming the field too.

Like test_api_schema.py, SQLite only: what the document states and how the request is parsed is the API layer's.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from seeded_service import seeded_service

SERVICE = seeded_service("portalflow-rules-")
CLIENT = TestClient(SERVICE.app)  # an unexpected error inside the app is raised here, not hidden in a 500
DOCUMENT = SERVICE.app.openapi()
PXP = "nextgen-pxp-portal-invites"
DROP = object()  # in a bad body's changes: leave the field out

SITE = {"id": "north", "name": "North Clinic", "timezone": "America/Chicago", "portal_url": "https://portal.test",
        "phone": "(312) 555-0142", "country": "US", "subdivision": "IL"}
CALENDAR = {"zone": "America/Chicago", "country": "US", "subdivision": "IL", "go_live": "2026-01-05",
            "hours": {"mon": ["08:00-12:00", "13:00-17:00"]}, "closures": {"2026-12-24": "Christmas Eve"}}
PATIENT = {"id": "p-rule", "site_id": "main", "given_name": "Rae", "family_name": "Rule", "birth_date": "1990-05-06",
           "birth_sex": "F", "zip": "02139", "email": "rae@example.test", "cell_phone": "+1 617 555 0199"}
HOUSEHOLD = {"id": "h-rule", "site_id": "main", "guardian_given_name": "Kim", "guardian_family_name": "Rule",
             "guardian_email": "kim@example.test"}


def rule(method: str, path: str, role: str, good: dict[str, Any], bad: dict[str, Any], field: str,
         name: str) -> Any:
    return pytest.param(method, path, role, good, bad, field, id=name)


def unique(body: dict[str, Any], n: int) -> dict[str, Any]:
    """`body` with an id of its own, so that each good request creates something new."""
    return {**body, "id": f"{body['id']}-{n}"}


BODY_RULES = [
    rule("POST", "/users", "admin", {"id": "zed-1", "name": "Zed", "role": "staff"}, {"role": "boss"},
         "body.role", "a user's role is one of the five roles"),
    rule("POST", "/users", "admin", {"id": "zed-2", "name": "Zed", "role": "designer"}, {"id": "-zed"},
         "body.id", "a user id starts with a letter or digit"),
    rule("POST", "/users", "admin", {"id": "zed-3", "name": "Zed", "role": "auditor"}, {"name": " \t"},
         "body.name", "a user's name is not blank"),
    rule("POST", "/auth/password", "staff", {"password": "correct horse 1"}, {"password": "short horse"},
         "body.password", "a password has at least 12 characters"),
    rule("POST", "/sites", "admin", unique(SITE, 1), {"timezone": "Mars/Base"}, "body.timezone",
         "a site's time zone is an IANA zone"),
    rule("POST", "/sites", "admin", unique(SITE, 2), {"portal_url": "http://portal.test"}, "body.portal_url",
         "a site's portal address is https"),
    rule("POST", "/sites", "admin", unique(SITE, 3), {"name": "   "}, "body.name", "a site's name is not blank"),
    rule("POST", "/sites", "admin", unique(SITE, 4), {"phone": "  "}, "body.phone", "a site's phone is not blank"),
    rule("POST", "/sites", "admin", unique(SITE, 5), {"country": "Narnia"}, "body.country",
         "a site's holiday country is one the holidays package knows"),
    rule("POST", "/sites", "admin", unique(SITE, 6), {"country": DROP}, "body.subdivision",
         "a site's holiday subdivision needs a country"),
    rule("POST", "/sites", "admin", {**unique(SITE, 7), "from_address": "Front Desk <desk@north.test>"},
         {"from_address": "desk at north"}, "body.from_address", "a site's From is an email address"),
    rule("PATCH", "/sites/main", "admin", {"name": "Maple Family Practice"}, {"name": None}, "body.name",
         "a site's name may be changed, not cleared"),
    rule("PATCH", "/sites/main", "admin", {"portal_url": "https://portal.example.test"}, {"portal_url": None},
         "body.portal_url", "a site's portal address may be changed, not cleared"),
    rule("PATCH", "/sites/main", "admin", {"phone": "(617) 555-0100"}, {"phone": None}, "body.phone",
         "a site's phone may be changed, not cleared"),
    rule("PATCH", "/sites/main", "admin", {"specialist_office": False}, {"specialist_office": None},
         "body.specialist_office", "a site's specialist flag may be changed, not cleared"),
    rule("PUT", "/sites/north-1/calendar", "admin", CALENDAR, {"zone": "Mars/Base"}, "body.zone",
         "a calendar's zone is an IANA zone"),
    rule("PUT", "/sites/north-1/calendar", "admin", CALENDAR, {"hours": {"monday": ["08:00-17:00"]}},
         "body.hours.monday.[key]", "a calendar's weekdays are mon to sun"),
    rule("PUT", "/sites/north-1/calendar", "admin", CALENDAR, {"hours": {"mon": ["8-5"]}}, "body.hours.mon.0",
         "a calendar's hours are HH:MM-HH:MM"),
    rule("PUT", "/sites/north-1/calendar", "admin", CALENDAR, {"closures": {"24/12/2026": "Christmas Eve"}},
         "body.closures.24/12/2026.[key]", "a calendar's closures are dates"),
    rule("PUT", "/sites/north-1/calendar", "admin", CALENDAR, {"country": None}, "body.subdivision",
         "a calendar's holiday subdivision needs a country"),
    rule("POST", "/providers", "admin", {"id": "dr-rule", "name": "Dr. Rule"}, {"name": ""}, "body.name",
         "a provider's name is not blank"),
    rule("POST", "/patients", "staff", unique(PATIENT, 1), {"birth_sex": "female"}, "body.birth_sex",
         "a patient's birth sex is F, M or UNK"),
    rule("POST", "/patients", "staff", unique(PATIENT, 2), {"email": "rae at home"}, "body.email",
         "a patient's email is an email address"),
    rule("POST", "/patients", "staff", unique(PATIENT, 3), {"zip": "#02139"}, "body.zip",
         "a patient's zip is a postal code"),
    rule("POST", "/patients", "staff", unique(PATIENT, 4), {"cell_phone": "555"}, "body.cell_phone",
         "a patient's cell phone is a phone number"),
    rule("POST", "/patients", "staff", unique(PATIENT, 5), {"given_name": "  "}, "body.given_name",
         "a patient's given name is not blank"),
    rule("POST", "/patients", "staff", {**unique(PATIENT, 6), "email_confirmed_personal": True},
         {"email": None}, "body.email_confirmed_personal", "a patient's email is confirmed only when there is one"),
    rule("POST", "/patients", "staff", unique(PATIENT, 7), {"birth_date": "19900506"}, "body.birth_date",
         "a patient's birth date is written YYYY-MM-DD"),
    rule("PATCH", "/patients/p-jane", "staff", {"email_confirmed_personal": True},
         {"email_confirmed_personal": None}, "body.email_confirmed_personal",
         "a patient's email confirmation may be changed, not cleared"),
    rule("PATCH", "/patients/p-jane", "staff", {"name_is_placeholder": False}, {"name_is_placeholder": None},
         "body.name_is_placeholder", "a patient's placeholder flag may be changed, not cleared"),
    rule("PATCH", "/patients/p-jane", "staff", {"first_name": "Jane"}, {"first_name": ""}, "body.first_name",
         "a patient's corrected name is not blank"),
    rule("PATCH", "/patients/p-jane", "staff", {"zip": "02139"}, {"zip": "02139!"}, "body.zip",
         "a patient's corrected zip is a postal code"),
    rule("POST", "/households", "staff", unique(HOUSEHOLD, 1), {"guardian_family_name": " "},
         "body.guardian_family_name", "a household's guardian name is not blank"),
    rule("POST", "/households", "staff", unique(HOUSEHOLD, 2), {"guardian_email": "kim"}, "body.guardian_email",
         "a guardian's email is an email address"),
    rule("POST", "/households", "staff", {**unique(HOUSEHOLD, 3), "guardian_email_confirmed_personal": True},
         {"guardian_email": DROP}, "body.guardian_email_confirmed_personal",
         "a guardian's email is confirmed only when there is one"),
    rule("PATCH", "/households/h-lee", "staff", {"guardian_given_name": "Kim"}, {"guardian_given_name": None},
         "body.guardian_given_name", "a guardian's name may be changed, not cleared"),
    rule("POST", "/enrollments", "staff", {"workflow_id": "nextgen-regenerate-expired-pin", "patient_id": "p-jane"},
         {"household_id": "h-lee"}, "body.household_id", "an enrollment is started for a patient or a household"),
    rule("POST", "/enrollments", "staff", {"workflow_id": "intellichart-pins-for-siblings", "household_id": "h-lee",
                                           "selected_children": ["c-ava"]},
         {"household_id": None}, "body.household_id", "an enrollment is started for someone"),
    rule("POST", f"/workflows/{PXP}/migrations", "admin", {"to_version": 2, "dry_run": True}, {"dry_run": False},
         "body.reason", "moving enrollments needs a reason"),
    rule("POST", f"/workflows/{PXP}/migrations", "admin", {"to_version": 2, "dry_run": True},
         {"dry_run": DROP, "reason": "  "}, "body.reason", "moving enrollments needs a reason that is not blank"),
    rule("POST", "/integration/events", "integration", {"key": "k-rule-1", "kind": "chart_added",
                                                        "patient_id": "p-noemail"},
         {"kind": "chart_opened"}, "body.kind", "an event's kind is one of the four"),
    rule("POST", "/integration/events", "integration", {"key": "k-rule-2", "kind": "new_encounter",
                                                        "patient_id": "p-noemail"},
         {"changes": {"zip": "02140"}}, "body.changes", "only a demographics change carries changes"),
    rule("POST", "/integration/events", "integration", {"key": "k-rule-3", "kind": "demographics_changed",
                                                        "patient_id": "p-noemail", "changes": {"zip": "02141"}},
         {"changes": DROP}, "body.changes", "a demographics change says what changed"),
    rule("POST", "/integration/events", "integration", {"key": "k-rule-4", "kind": "demographics_changed",
                                                        "patient_id": "p-noemail", "changes": {"zip": "02142"}},
         {"changes": {"shoe_size": "9"}}, "body.changes.shoe_size", "a demographics change names known fields"),
    rule("POST", "/integration/events", "integration", {"key": "k-rule-5", "kind": "demographics_changed",
                                                        "patient_id": "p-noemail", "changes": {"zip": "02143"}},
         {"changes": {"email": "nora at home"}}, "body.changes.email",
         "a demographics change meets the demographic rules"),
    rule("POST", "/integration/events", "integration", {"key": "k-rule-6", "kind": "new_appointment",
                                                        "patient_id": "p-noemail"},
         {"key": ""}, "body.key", "an event's key is not empty"),
]


def _apply(good: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    bad = {**good, **changes}
    return {k: v for k, v in bad.items() if v is not DROP}


def _operation(method: str, path: str) -> dict[str, Any]:
    paths: dict[str, Any] = DOCUMENT["paths"]
    template = next(p for p in paths if _matches(p, path))
    operation: dict[str, Any] = paths[template][method.lower()]
    return operation


def _matches(template: str, path: str) -> bool:
    parts, given = template.strip("/").split("/"), path.strip("/").split("/")
    return len(parts) == len(given) and all(p == g or p.startswith("{") for p, g in zip(parts, given, strict=True))


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator of `schema` as the document states it, its references resolved within the document."""
    return jsonschema.Draft202012Validator({**schema, "components": DOCUMENT["components"]},
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize(("method", "path", "role", "good", "changes", "field"), BODY_RULES)
def test_a_body_breaking_a_rule_the_document_states_is_422_naming_the_field(
        method: str, path: str, role: str, good: dict[str, Any], changes: dict[str, Any], field: str) -> None:
    if path == "/sites/north-1/calendar":  # the site of the first site rule, made here if that one has not run
        CLIENT.post("/sites", headers=SERVICE.headers("admin"), json=unique(SITE, 1))
    body_schema = _operation(method, path)["requestBody"]["content"]["application/json"]["schema"]
    bad = _apply(good, changes)
    _validator(body_schema).validate(good)
    assert not _validator(body_schema).is_valid(bad), f"the document does not state the rule: {bad} is valid"

    refused = CLIENT.request(method, path, headers=SERVICE.headers(role), json=bad)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", field), error
    assert error["message"].startswith(f"{field}: ")

    accepted = CLIENT.request(method, path, headers=SERVICE.headers(role), json=good)
    assert accepted.status_code < 300, accepted.text


PARAMETER_RULES = [
    pytest.param("GET", "/audit/events", "auditor", "query", "outcome", "ok", "fine", "query.outcome",
                 id="an audit outcome is ok, refused or failed"),
    pytest.param("POST", "/enrollments/e-none/steps/confirm_email", "staff", "header", "if-match", '"1"',
                 "yesterday", "header.If-Match", id="If-Match is an enrollment version"),
]


@pytest.mark.parametrize(("method", "path", "role", "where", "name", "good", "bad", "field"), PARAMETER_RULES)
def test_a_parameter_breaking_a_rule_the_document_states_is_422_naming_it(
        method: str, path: str, role: str, where: str, name: str, good: str, bad: str, field: str) -> None:
    [parameter] = [p for p in _operation(method, path)["parameters"] if (p["in"], p["name"]) == (where, name)]
    _validator(parameter["schema"]).validate(good)
    assert not _validator(parameter["schema"]).is_valid(bad)

    def send(value: str) -> Any:
        given = {"params": {name: value}} if where == "query" else {"headers": {name: value}}
        body = {"json": {"trigger": "send_invitation"}} if method == "POST" else {}
        headers = {**SERVICE.headers(role), **given.get("headers", {})}
        return CLIENT.request(method, path, headers=headers, params=given.get("params"), **body)

    refused = send(bad)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
    assert send(good).status_code != 422  # a step of no enrollment is 404: the header itself was taken


def _described(method: str, path: str, field: str) -> str:
    """The words the document has for `field` of the operation's body, or for its parameter of that name."""
    operation = _operation(method, path)
    for parameter in operation.get("parameters", []):
        if parameter["name"].lower() == field.lower():
            return str(parameter.get("description", ""))
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return f"{schema.get('description', '')} {schema['properties'][field].get('description', '')}"


# Rules the document cannot state in JSON Schema, told in words: (the request, the words, the field named).
DESCRIBED = [
    pytest.param("PUT", "/sites/north-1/calendar", {"json": {**CALENDAR, "hours": {"mon": ["17:00-08:00"]}}},
                 "hours", "opens before it closes", "body.hours", id="a day's hours open before they close"),
    pytest.param("PUT", "/sites/north-1/calendar", {"json": {**CALENDAR, "hours": {
        "tue": ["08:00-12:00", "11:00-17:00"]}}}, "hours", "do not overlap", "body.hours",
                 id="a day's hours do not overlap"),
    pytest.param("POST", "/sites", {"json": {**unique(SITE, 8), "subdivision": "ZZ"}}, "subdivision",
                 "for that country", "body.subdivision", id="a holiday subdivision is one of its country"),
    pytest.param("POST", "/sites", {"json": {**unique(SITE, 9), "phone": "555-01"}}, "phone", "numbering plan",
                 "phone", id="a site's phone is a number of its country's numbering plan"),
    pytest.param("POST", "/patients", {"json": {**unique(PATIENT, 8), "birth_date": "2031-01-01"}}, "birth_date",
                 "not after today", "body.birth_date", id="a birth date is not in the future"),
    pytest.param("GET", "/audit/events", {"params": {"since": "2026-03-02T10:00Z", "until": "2026-03-02T09:00Z"}},
                 "since", "earlier than until", "since", id="an audit period starts before it ends"),
    pytest.param("GET", "/workflows/portal-invitation-reset-onboarding/messages/invitation_reset_email/preview",
                 {"params": {"site": "main", "patient": "p-jane", "household": "h-lee"}}, "patient",
                 "not with `household`", "patient", id="a preview is for a patient or a household"),
    pytest.param("POST", "/integration/events", {"json": {"kind": "chart_added", "patient_id": "p-jane"}},
                 "idempotency-key", "unless the body has it", "body.key", id="an event has an idempotency key"),
    pytest.param("POST", "/integration/events", {"json": {"key": "k-a", "kind": "chart_added", "patient_id": "p-jane"},
                                                 "headers": {"Idempotency-Key": "k-b"}},
                 "idempotency-key", "the same when both do", "body.key", id="an event's two keys agree"),
    pytest.param("PUT", "/users/ana/password", {"json": {"password": "correct horse 2"}}, "reason",
                 "required, not blank, when an admin sets another user's password", "reason",
                 id="an admin setting a password gives a reason"),
]
_ROLES = {"/integration": "integration", "/audit": "auditor", "/patients": "staff"}


@pytest.mark.parametrize(("method", "path", "request_kwargs", "name", "words", "field"), DESCRIBED)
def test_a_rule_json_schema_cannot_state_is_told_beside_its_field_and_answered_naming_it(
        method: str, path: str, request_kwargs: dict[str, Any], name: str, words: str, field: str) -> None:
    if path == "/sites/north-1/calendar":
        CLIENT.post("/sites", headers=SERVICE.headers("admin"), json=unique(SITE, 1))
    assert words in _described(method, path, name)
    role = next((r for prefix, r in _ROLES.items() if path.startswith(prefix)), "admin")
    headers = {**SERVICE.headers(role), **request_kwargs.pop("headers", {})}
    refused = CLIENT.request(method, path, headers=headers, **request_kwargs)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
