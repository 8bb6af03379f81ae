"""Bearer tokens recognised a moment ago are answered from the process's memory, within a stated bound: a change
made through this process ends them at once; one made by another process (here a second `Users` on the same
database, as the other worker or the CLI would be) within `TokenCache.seconds`; a token's own expiry is exact."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from definitions.model import Actor
from engine.actors import ActorRef
from engine.credentials.hashing import TEST_COST, SecretHasher
from engine.credentials.tokens import token_digest
from engine.errors import AuthenticationFailed
from engine.front_door.users import Users
from engine.people.token_cache import TokenCache
from engine.storage.tables import sites

ROOT = ActorRef("root", "admin", Actor.STAFF)


class Ticks:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _reads(db: Engine) -> list[str]:
    """Every statement sent to the database from now on."""
    seen: list[str] = []
    event.listen(db, "before_cursor_execute", lambda _c, _cur, statement, *_rest: seen.append(statement))
    return seen


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def here(flow: Any, clock: Any, ticks: Ticks) -> Users:
    """This process's users, with the cache under test; the practice has a second site, "north"."""
    with flow.db.begin() as conn:
        conn.execute(insert(sites).values(id="north", name="North Clinic", timezone="America/New_York",
                                          portal_url="https://portal.example.test", phone="(617) 555-0199",
                                          specialist_office=False))
    return Users(flow.db, clock, SecretHasher(TEST_COST), TokenCache(5.0, ticks=ticks))


@pytest.fixture
def elsewhere(flow: Any, clock: Any) -> Users:
    """Another process's users on the same database: its changes are not seen by `here` until the bound."""
    return Users(flow.db, clock, SecretHasher(TEST_COST), TokenCache(5.0))


def _token(users: Users, user_id: str = "zoe", **kwargs: Any) -> str:
    users.create(ROOT, user_id, "Zoe Zhang", "staff")
    return users.issue_token(ROOT, user_id, "script", **kwargs).value


def test_a_token_used_again_within_the_bound_is_recognised_without_reading_the_database(
        flow: Any, here: Users) -> None:
    token = _token(here)
    assert here.authenticate(token).id == "zoe"
    statements = _reads(flow.db)
    assert here.authenticate(token).id == "zoe"
    assert statements == []


def test_the_user_and_their_sites_are_read_in_one_statement(flow: Any, here: Users) -> None:
    token = _token(here)
    here.set_sites(ROOT, "zoe", ["main", "north"])
    statements = _reads(flow.db)
    user = here.authenticate(token)
    assert user.sites == frozenset({"main", "north"})
    assert len(statements) == 1


def test_a_token_revoked_by_another_process_stops_working_here_once_the_bound_has_passed(
        here: Users, elsewhere: Users, ticks: Ticks) -> None:
    token = _token(here)
    here.authenticate(token)
    assert elsewhere.revoke_tokens(ROOT, "zoe") == 1
    ticks.now += 4.9
    assert here.authenticate(token).id == "zoe"  # within the bound: this process has not looked again yet
    ticks.now += 0.1
    with pytest.raises(AuthenticationFailed, match="revoked"):
        here.authenticate(token)


def test_a_role_changed_by_another_process_is_seen_here_once_the_bound_has_passed(
        here: Users, elsewhere: Users, ticks: Ticks) -> None:
    token = _token(here)
    assert here.authenticate(token).role == "staff"
    elsewhere.change_role(ROOT, "zoe", "auditor")
    ticks.now += 5.0
    assert here.authenticate(token).role == "auditor"


@pytest.mark.parametrize("change", ["revoke", "role", "sites", "password"])
def test_a_change_made_through_this_process_takes_effect_at_once(here: Users, change: str) -> None:
    token = _token(here)
    here.authenticate(token)
    if change == "revoke":
        here.revoke_tokens(ROOT, "zoe")
        with pytest.raises(AuthenticationFailed, match="revoked"):
            here.authenticate(token)
    elif change == "role":
        here.change_role(ROOT, "zoe", "designer")
        assert here.authenticate(token).role == "designer"
    elif change == "sites":
        here.set_sites(ROOT, "zoe", ["north"])
        assert here.authenticate(token).sites == frozenset({"north"})
    else:
        here.set_password(ROOT, "zoe", "a new password by hand", "locked out")
        assert here.authenticate(token).must_change_password


def test_a_recognised_token_still_ends_exactly_when_it_expires(here: Users, clock: Any) -> None:
    token = _token(here, valid_for=timedelta(minutes=10))
    here.authenticate(token)
    clock.advance(timedelta(minutes=10))
    with pytest.raises(AuthenticationFailed, match="expired"):
        here.authenticate(token)


def test_refused_tokens_are_never_kept(here: Users) -> None:
    for n in range(3):
        with pytest.raises(AuthenticationFailed):
            here.authenticate(f"pf_not-a-token-{n}")
    assert here.tokens.get("anything") is None
    assert len(here.tokens._kept) == 0


def test_the_cache_is_keyed_by_the_tokens_digest_and_keeps_no_more_than_its_size(here: Users) -> None:
    tokens = [_token(here, f"u{n}") for n in range(3)]
    for token in tokens:
        here.authenticate(token)
    assert set(here.tokens._kept) == {token_digest(t) for t in tokens}
    small = TokenCache(5.0, size=2)
    for token in tokens:
        small.keep(token_digest(token), here.authenticate(token), None)
    assert list(small._kept) == [token_digest(t) for t in tokens[1:]]  # the oldest left first


def test_recognising_from_memory_alone_knows_only_tokens_seen_within_the_bound_and_still_checks_expiry(
        flow: Any, here: Users, ticks: Ticks, clock: Any) -> None:
    token = _token(here, valid_for=timedelta(minutes=10))
    statements = _reads(flow.db)
    assert here.recognised(token) is None  # never seen here: only the database can say
    assert here.recognised("pf_not-a-token") is None
    assert statements == []
    assert here.authenticate(token).id == "zoe"
    recognised = here.recognised(token)
    assert recognised is not None
    assert recognised.id == "zoe"
    ticks.now += 5.0
    assert here.recognised(token) is None  # the bound passed: look again
    here.authenticate(token)
    clock.advance(timedelta(minutes=10))
    with pytest.raises(AuthenticationFailed, match="expired"):
        here.recognised(token)
