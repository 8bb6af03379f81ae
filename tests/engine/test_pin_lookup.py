"""PINs are found by a keyed digest and checked with one Argon2 verification, and no Argon2 work ever holds the
write lock: the portal's cost no longer grows with the PINs open for a birth date, and a PIN generation no longer
stalls every other writer."""

from __future__ import annotations

import sqlite3
import stat
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from practice import seed_practice
from sqlalchemy import select, update

from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.credentials.hashing import TEST_COST, SecretHasher
from engine.credentials.pin_lookup import PIN_KEY_FILE, derived_lookup
from engine.credentials.pins import normalise_pin
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import REFUSED, PresentPin
from engine.enrollments.start import StartEnrollment
from engine.errors import CredentialRefused
from engine.storage.key_files import key_from_file
from engine.storage.tables import credentials

ANA = ActorRef("ana", "staff", Actor.STAFF)
JANE_BORN = date(1980, 4, 1)
SECRET = b"q" * 43 + b"="  # the `flow` fixture's key


def _pin_for(flow: Any, patient_id: str = "p-jane") -> str:
    started = flow.start(StartEnrollment("nextgen-regenerate-expired-pin", ANA, patient_id=patient_id))
    (shown,) = flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", ANA)).shown
    return str(shown.value)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Argon2 verification made, by kind: "stored" (a row's hash) or "stand-in"."""
    made: list[str] = []
    verify = SecretHasher.verify

    def counted_verify(self: SecretHasher, stored: str, presented: str) -> bool:
        made.append("stored")
        return verify(self, stored, presented)

    def counted_nothing(self: SecretHasher, presented: str) -> bool:
        made.append("stand-in")
        self._stand_in = self._stand_in or self.hash("stand-in")
        return verify(self, self._stand_in, presented) and False

    monkeypatch.setattr(SecretHasher, "verify", counted_verify)
    monkeypatch.setattr(SecretHasher, "verify_nothing", counted_nothing)
    return made


def test_a_pin_is_stored_as_an_argon2_hash_and_a_keyed_digest_and_never_in_clear(flow: Any) -> None:
    pin = _pin_for(flow)
    with flow.db.connect() as conn:
        row = conn.execute(select(credentials).where(credentials.c.kind == "pin")).one()
    assert row.secret_hash.startswith("$argon2id$")
    assert row.lookup == derived_lookup(SECRET).digest(JANE_BORN, normalise_pin(pin))
    assert row.lookup != derived_lookup(b"another key").digest(JANE_BORN, normalise_pin(pin))
    assert all(normalise_pin(pin) not in str(value) for value in row)


def test_the_right_pin_costs_one_verification_however_many_pins_share_its_birth_date(
        flow: Any, verifications: list[str]) -> None:
    pins = [_pin_for(flow, "p-jane")]
    flow.people.update_patient(ANA, "p-noemail", {"birth_date": JANE_BORN.isoformat()})
    with flow.db.begin() as conn:  # two more open PINs for the same birth date
        jane_enrollment = conn.execute(select(credentials.c.enrollment_id)).scalar_one()
        conn.execute(credentials.insert(), [{
            "id": f"other-{n}", "kind": "pin", "purpose": "registration", "enrollment_id": jane_enrollment,
            "patient_id": "p-noemail", "secret_hash": SecretHasher(TEST_COST).hash(f"OTHER{n:03}"),
            "lookup": derived_lookup(SECRET).digest(JANE_BORN, f"OTHER{n:03}"), "do_not_send": False,
            "failures": 0, "created_at": flow.services.clock.now(),
            "expires_at": flow.services.clock.now().replace(year=2099)} for n in range(2)])
    verifications.clear()
    assert flow.present_pin(PresentPin(pins[0], JANE_BORN)).to_state == "registered"
    assert verifications == ["stored"]


def test_a_wrong_pin_costs_one_verification_whether_or_not_its_birth_date_has_open_pins(
        flow: Any, verifications: list[str]) -> None:
    _pin_for(flow)
    for born in (JANE_BORN, date(1999, 12, 31)):
        verifications.clear()
        with pytest.raises(CredentialRefused, match=f"^{REFUSED}$"):
            flow.present_pin(PresentPin("ZZZZ-ZZZZ", born))
        assert verifications == ["stand-in"], born
    with flow.db.connect() as conn:  # the wrong guess still counted against the open PIN of that birth date
        assert conn.execute(select(credentials.c.failures)).scalar_one() == 1


def test_argon2_never_runs_while_the_sqlite_write_lock_is_held(tmp_path: Path, clock: Any, workflows_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "portalflow.db"
    flow = build(f"sqlite:///{database}", workflows_dir, clock=clock, hash_cost=TEST_COST, secret_key=SECRET)
    seed_practice(flow.db)
    held: list[str] = []
    hash_, verify = SecretHasher.hash, SecretHasher.verify

    def lock_is_free(what: str) -> None:
        probe = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        except sqlite3.OperationalError:
            held.append(what)
        finally:
            probe.close()

    def probed_hash(self: SecretHasher, secret: str) -> str:
        lock_is_free("hash")
        return hash_(self, secret)

    def probed_verify(self: SecretHasher, stored: str, presented: str) -> bool:
        lock_is_free("verify")
        return verify(self, stored, presented)

    monkeypatch.setattr(SecretHasher, "hash", probed_hash)
    monkeypatch.setattr(SecretHasher, "verify", probed_verify)
    try:
        pin = _pin_for(flow)
        with pytest.raises(CredentialRefused):
            flow.present_pin(PresentPin("ZZZZ-ZZZZ", JANE_BORN))
        assert flow.present_pin(PresentPin(pin, JANE_BORN)).to_state == "registered"
    finally:
        flow.close()
    assert held == []


def test_a_corrected_birth_date_keeps_the_pin_working_with_the_new_date_and_not_the_old(flow: Any) -> None:
    pin = _pin_for(flow)
    flow.people.update_patient(ANA, "p-jane", {"birth_date": "1980-04-02"})
    with pytest.raises(CredentialRefused):
        flow.present_pin(PresentPin(pin, JANE_BORN))
    assert flow.present_pin(PresentPin(pin, date(1980, 4, 2))).to_state == "registered"


def test_a_pin_replaced_while_it_was_being_checked_is_refused_and_not_redeemed(
        flow: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pin = _pin_for(flow)
    verify = SecretHasher.verify

    def replaced_meanwhile(self: SecretHasher, stored: str, presented: str) -> bool:
        with flow.db.begin() as conn:  # as a regeneration does, in its own transaction, while the portal checks
            conn.execute(update(credentials).values(revoked_at=flow.services.clock.now()))
        return verify(self, stored, presented)

    monkeypatch.setattr(SecretHasher, "verify", replaced_meanwhile)
    with pytest.raises(CredentialRefused, match=f"^{REFUSED}$"):
        flow.present_pin(PresentPin(pin, JANE_BORN))
    with flow.db.connect() as conn:
        assert conn.execute(select(credentials.c.used_at).where(credentials.c.used_at.is_not(None))).first() is None


def test_the_pin_key_is_made_once_beside_the_outbox_key_and_without_it_no_pin_is_found(
        tmp_path: Path, clock: Any, workflows_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'portalflow.db'}"
    key_file = tmp_path / "var" / "outbox.key"
    flow = build(url, workflows_dir, clock=clock, hash_cost=TEST_COST, key_file=key_file)
    seed_practice(flow.db)
    pin = _pin_for(flow)
    flow.close()
    pin_key = tmp_path / "var" / PIN_KEY_FILE
    assert stat.S_IMODE(pin_key.stat().st_mode) == 0o600
    elsewhere = build(url, workflows_dir, clock=clock, hash_cost=TEST_COST, key_file=tmp_path / "new" / "outbox.key")
    try:
        with pytest.raises(CredentialRefused):  # a restored database without its key file finds no PIN
            elsewhere.present_pin(PresentPin(pin, JANE_BORN))
    finally:
        elsewhere.close()
    again = build(url, workflows_dir, clock=clock, hash_cost=TEST_COST, key_file=key_file)
    try:
        assert again.present_pin(PresentPin(pin, JANE_BORN)).to_state == "registered"
    finally:
        again.close()


def test_processes_making_a_key_file_at_the_same_moment_all_get_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.key"
    start = threading.Barrier(8)
    keys: list[bytes] = []

    def make() -> None:
        start.wait()
        keys.append(key_from_file(path, lambda: threading.get_ident().to_bytes(8, "big").hex().encode()))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1
    assert keys[0] == path.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == ["k.key"]  # no draft left behind
