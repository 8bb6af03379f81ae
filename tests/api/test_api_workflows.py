"""Workflows over HTTP: designers and admins preview a message and move running enrollments onto a newer version
(or see what would happen); staff may not; mistakes are answered plainly."""

from __future__ import annotations

from typing import Any

PXP = "nextgen-pxp-portal-invites"


def test_a_designer_asks_for_a_dry_run_and_staff_may_not_migrate(api: Any) -> None:
    answer = api.client.post(f"/workflows/{PXP}/migrations", headers=api.as_("dee"),
                             json={"to_version": 2, "dry_run": True})
    assert answer.status_code == 200
    assert answer.json() == {"workflow_id": PXP, "to_version": 2, "dry_run": True, "outcomes": [],
                             "counts": {"moved": 0, "would move": 0, "blocked": 0, "changed meanwhile": 0},
                             "summary": f"dry run of {PXP} to version 2: nothing to move (of 0 running on older "
                                        "versions)"}
    staff = api.client.post(f"/workflows/{PXP}/migrations", headers=api.as_("ana"), json={"to_version": 2})
    assert staff.status_code == 403


def test_an_unknown_version_is_404_and_moving_without_a_reason_is_422_naming_it(api: Any) -> None:
    unknown = api.client.post(f"/workflows/{PXP}/migrations", headers=api.as_("root"),
                              json={"to_version": 7, "dry_run": True})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == f"no workflow version '{PXP} v7'"
    no_reason = api.client.post(f"/workflows/{PXP}/migrations", headers=api.as_("root"), json={"to_version": 2})
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["field"] == "body.reason"
    bad_map = api.client.post(f"/workflows/{PXP}/migrations", headers=api.as_("root"),
                              json={"to_version": 2, "dry_run": True, "map": {"a": "b"}, "extra": 1})
    assert bad_map.status_code == 422


def test_a_designer_previews_a_message_over_http_and_staff_may_not(api: Any) -> None:
    path = f"/workflows/{PXP}/messages/manual_invite/preview"
    shown = api.client.get(path, headers=api.as_("dee"), params={"site": "main", "patient": "p-jane"})
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["recipient"], body["sample_person"], body["held"]) == ("jane@example.test", False, None)
    assert "https://portal.example.test/access/[one-time link]" in body["body"]
    assert api.client.get(path, headers=api.as_("ana"), params={"site": "main"}).status_code == 403
    missing = api.client.get(path, headers=api.as_("root"), params={"site": "nowhere"})
    assert missing.status_code == 404
    unknown = api.client.get(f"/workflows/{PXP}/messages/nope/preview", headers=api.as_("root"),
                             params={"site": "main"})
    assert unknown.status_code == 422
    assert "its messages: auto_invite, manual_invite" in unknown.json()["error"]["message"]
