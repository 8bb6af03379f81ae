"""Issue 15, defect 7: query values are read strictly (`0` is neither a date nor false), and a 405 names every
method the path answers."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize(("path", "bad", "good"), [
    ("/patients", {"birth_date": "0"}, {"birth_date": "1980-04-01"}),
    ("/patients", {"birth_date": "4/1/1980"}, {"birth_date": "1980-04-01"}),
    ("/worklists/pins-expiring", {"include_expired": "0"}, {"include_expired": "false"}),
    ("/worklists/pins-expiring", {"include_expired": "yes"}, {"include_expired": "true"}),
    ("/audit/events", {"since": "0"}, {"since": "2026-03-02T00:00:00+00:00"}),
    ("/audit/events", {"until": "1700000000"}, {"until": "2026-03-02T09:00-05:00"}),
])
def test_a_query_value_that_is_not_written_as_documented_is_refused_naming_it(
        api: Any, path: str, bad: dict[str, str], good: dict[str, str]) -> None:
    user = "audrey" if path.startswith("/audit") else "ana"
    refused = api.client.get(path, params=bad, headers=api.as_(user))
    assert refused.status_code == 422, refused.text
    [name] = bad
    assert refused.json()["error"]["field"] == f"query.{name}"
    assert api.client.get(path, params=good, headers=api.as_(user)).status_code == 200


def test_a_method_the_path_does_not_answer_is_405_listing_every_method_it_does(api: Any) -> None:
    answer = api.client.request("DELETE", "/patients", headers=api.as_("ana"))  # GET and POST: two routes
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    assert answer.json()["error"]["code"] == "method_not_allowed"
