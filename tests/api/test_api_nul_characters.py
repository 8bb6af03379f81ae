"""A NUL character in any text a caller sends is refused with 422 naming where, on every database: PostgreSQL's
text cannot hold one, and storing it used to answer 500."""

from __future__ import annotations

from typing import Any


def test_a_nul_in_a_body_string_is_refused_naming_the_field_and_nothing_is_stored(api: Any) -> None:
    answer = api.client.post("/providers", headers=api.as_("root"), json={"id": "dr-nul", "name": "Dr \u0000 Who"})
    assert answer.status_code == 422, answer.text
    assert (answer.json()["error"]["field"], "NUL" in answer.json()["error"]["message"]) == ("body.name", True)
    assert all(p["id"] != "dr-nul" for p in api.client.get("/providers", headers=api.as_("root")).json())


def test_a_nul_in_a_query_value_is_refused(api: Any) -> None:
    answer = api.client.get("/patients", params={"family_name": "gar\u0000"}, headers=api.as_("ana"))
    assert answer.status_code == 422, answer.text
    assert (answer.json()["error"]["field"], "NUL" in answer.json()["error"]["message"]) == ("query.family_name", True)


def test_a_nul_in_a_path_is_refused(api: Any) -> None:
    answer = api.client.get("/patients/p-ja%00ne", headers=api.as_("ana"))
    assert answer.status_code == 422, answer.text


def test_an_escaped_backslash_before_u0000_is_ordinary_text(api: Any) -> None:
    answer = api.client.post("/providers", headers=api.as_("root"), json={"id": "dr-esc", "name": "Dr \\u0000 Who"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "Dr \\u0000 Who"

