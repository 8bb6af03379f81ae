"""Every request acts as one named user with a role; tokens are stored as digests; 401 and 403 say why."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.people.sign_in_addresses import ADDRESS_FAILURES
from engine.storage.tables import api_tokens, audit_events, sign_in_addresses, staff_users


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return dict(body["error"])


def test_a_request_without_a_token_is_401_with_the_one_error_shape(api: Any) -> None:
    response = api.client.get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = _error(response)
    assert error["code"] == "unauthenticated"
    assert "Authorization: Bearer" in error["message"]


def test_an_unknown_token_is_401_and_a_known_one_names_the_user(api: Any) -> None:
    assert api.client.get("/me", headers={"Authorization": "Bearer pf_nope"}).status_code == 401
    me = api.client.get("/me", headers=api.as_("ana"))
    assert me.status_code == 200
    assert me.json()["id"] == "ana"
    assert me.json()["role"] == "staff"


def test_tokens_are_stored_only_as_digests(api: Any, flow: Any) -> None:
    with flow.db.connect() as conn:
        digests = conn.execute(select(api_tokens.c.digest)).scalars().all()
    for token in api.tokens.values():
        assert token not in digests
        assert all(token not in d for d in digests)
    assert len(digests) == len(api.tokens)


def test_a_role_that_may_not_act_gets_403_naming_the_roles_needed(api: Any) -> None:
    response = api.client.post("/enrollments", headers=api.as_("audrey"),
                               json={"workflow_id": "nextgen-regenerate-expired-pin", "patient_id": "p-jane"})
    assert response.status_code == 403
    error = _error(response)
    assert error["code"] == "forbidden"
    assert "auditor" in error["message"]
    assert "staff" in error["message"]
    assert api.client.get("/users", headers=api.as_("ana")).status_code == 403
    assert api.client.post("/integration/events", headers=api.as_("ana"),
                           json={"key": "k", "kind": "chart_added", "patient_id": "p-jane"}).status_code == 403


def test_an_admin_creates_a_user_and_issues_a_token_that_works_once_shown(api: Any, flow: Any) -> None:
    created = api.client.post("/users", headers=api.as_("root"),
                              json={"id": "cara", "name": "Cara Clerk", "role": "staff"})
    assert created.status_code == 201, created.text
    issued = api.client.post("/users/cara/tokens", headers=api.as_("root"), json={"label": "desk 2"})
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert api.client.get("/me", headers={"Authorization": f"Bearer {token}"}).json()["id"] == "cara"
    with flow.db.connect() as conn:
        rows = conn.execute(select(audit_events.c.action, audit_events.c.actor_id, audit_events.c.detail)
                            .where(audit_events.c.subject_id == "cara")).all()
    assert [r.action for r in rows] == ["user_created", "token_issued"]
    assert all(r.actor_id == "root" for r in rows)
    assert all(token not in (r.detail or "") for r in rows)


def test_a_user_id_already_taken_is_409_like_every_other_taken_id(api: Any) -> None:
    again = api.client.post("/users", headers=api.as_("root"), json={"id": "ana", "name": "Ana", "role": "staff"})
    assert again.status_code == 409
    assert _error(again)["code"] == "already_exists"
    assert _error(again)["field"] == "id"
    assert "user 'ana' already exists" in _error(again)["message"]


def test_a_badly_named_user_is_422_naming_the_field(api: Any) -> None:
    role = api.client.post("/users", headers=api.as_("root"), json={"id": "zed", "name": "Z", "role": "boss"})
    assert role.status_code == 422
    assert _error(role)["field"] == "body.role"
    missing = api.client.post("/users", headers=api.as_("root"), json={"id": "zed", "role": "staff"})
    assert missing.status_code == 422
    assert _error(missing)["field"] == "body.name"


def test_revoked_tokens_stop_working_at_once(api: Any) -> None:
    assert api.client.post("/users/bob/tokens/revoke", headers=api.as_("root")).json() == {"revoked": 1}
    response = api.client.get("/me", headers=api.as_("bob"))
    assert response.status_code == 401
    assert "revoked" in _error(response)["message"]


def test_an_expired_token_is_refused_saying_it_expired(api: Any, clock: Any) -> None:
    from datetime import timedelta

    issued = api.client.post("/users/ana/tokens", headers=api.as_("root"), json={"valid_days": 1}).json()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert api.client.get("/me", headers=headers).status_code == 200
    clock.advance(timedelta(days=1, seconds=1))
    response = api.client.get("/me", headers=headers)
    assert response.status_code == 401
    assert "expired" in _error(response)["message"]


def test_login_with_a_password_an_admin_set_requires_changing_it_first(api: Any, flow: Any) -> None:
    no_reason = api.client.put("/users/bob/password", headers=api.as_("root"), json={"password": "correct horse 1"})
    assert no_reason.status_code == 422
    assert _error(no_reason)["field"] == "reason"
    assert api.client.put("/users/bob/password", headers=api.as_("root"),
                          json={"password": "correct horse 1", "reason": "new hire, handed over in person"}
                          ).status_code == 204
    wrong = api.client.post("/auth/login", json={"user_id": "bob", "password": "wrong horse 12"})
    nobody = api.client.post("/auth/login", json={"user_id": "nobody", "password": "wrong horse 12"})
    assert wrong.status_code == nobody.status_code == 401
    assert _error(wrong)["message"] == _error(nobody)["message"]
    login = api.client.post("/auth/login", json={"user_id": "bob", "password": "correct horse 1"})
    assert login.status_code == 200
    assert login.json()["user"]["must_change_password"] is True
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    blocked = api.client.get("/workflows", headers=headers)
    assert blocked.status_code == 403
    assert _error(blocked)["code"] == "password_change_required"
    assert api.client.post("/auth/password", headers=headers, json={"password": "my own secret 42"}).status_code == 204
    assert api.client.get("/workflows", headers=headers).status_code == 200
    with flow.db.connect() as conn:
        stored = conn.execute(select(staff_users.c.password_hash).where(staff_users.c.id == "bob")).scalar_one()
        details = " ".join(r or "" for r in conn.execute(select(audit_events.c.detail)).scalars())
    assert stored.startswith("$argon2id$")
    assert "my own secret" not in stored
    assert "correct horse" not in details
    assert "my own secret" not in details


def test_login_failures_are_counted_for_the_callers_address_which_pauses_after_twenty(api: Any, flow: Any) -> None:
    assert api.client.put("/users/bob/password", headers=api.as_("root"), json={
        "password": "correct horse 1", "reason": "new hire, handed over in person"}).status_code == 204
    for n in range(ADDRESS_FAILURES):
        assert api.client.post("/auth/login", json={"user_id": f"guess-{n}", "password": "x" * 12}).status_code == 401
    paused = api.client.post("/auth/login", json={"user_id": "bob", "password": "correct horse 1"})
    assert paused.status_code == 401  # the right password too, from this address, for a while
    with flow.db.connect() as conn:
        assert conn.execute(select(sign_in_addresses.c.address)).scalars().all() == ["testclient"]


@pytest.mark.parametrize("path", ["/users", "/workflows", "/me"])
def test_every_answer_is_marked_not_to_be_stored(api: Any, path: str) -> None:
    assert api.client.get(path, headers=api.as_("root")).headers["Cache-Control"] == "no-store"


def test_the_cli_creates_the_first_admin_and_prints_its_token_once(tmp_path: Any) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'first.db'}"
    made = subprocess.run([sys.executable, "-m", "api.cli", "db", "upgrade", "--database-url", url],
                          capture_output=True, text=True, check=False)  # as `make run` would have made it
    assert made.returncode == 0, made.stderr
    done = subprocess.run([sys.executable, "-m", "api.cli", "user", "create", "admin", "--name", "First Admin",
                           "--role", "admin", "--database-url", url], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("pf_")
    assert len(token) > 40
    assert token not in done.stderr
    again = subprocess.run([sys.executable, "-m", "api.cli", "user", "create", "admin", "--name", "Twice",
                            "--role", "admin", "--database-url", url], capture_output=True, text=True, check=False)
    assert again.returncode == 2
    assert "already exists" in again.stderr
