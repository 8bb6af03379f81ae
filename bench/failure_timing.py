"""How long each failure takes at the portal and at staff sign-in: a caller must not tell them apart by time.

    python -m bench.failure_timing [--rounds 15] [--dir DIR]

Untimed: a SQLite file on the disk, one site and its patients, PINs issued through the engine at the production
Argon2id cost, an invitation link sent, staff users with passwords; then each failure is put in its state
directly (a PIN expired, one locked, one used; a link used, one expired; a user paused, one deactivated).
Timed: every failure path once per round, in a shuffled order, through the engine's front door (the same calls
the API makes); each path's median over the rounds. The paths are grouped by what the caller presents (a PIN and
birth date; a link; a user name and password): within a group the slowest median must be within 10 % of the
fastest (issue 15, defect 4). Each path's longest hold of SQLite's write lock is printed too (issue 14: a wrong
PIN holds it under 5 ms). Last line: one JSON object (`bench.summary`).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar

from sqlalchemy import delete, update

from bench.api_load_server import WORKFLOWS, insert_practice
from bench.summary import print_summary
from definitions.model import Actor
from engine.actors import ActorRef
from engine.bootstrap import build
from engine.enrollments.advance import AdvanceEnrollment
from engine.enrollments.portal import PresentPin
from engine.enrollments.start import StartEnrollment
from engine.errors import AuthenticationFailed, CredentialRefused
from engine.front_door.flow import PortalFlow
from engine.storage.tables import credentials, sign_in_addresses, staff_users
from engine.storage.write_queue import WriterQueue

BORN = date(1980, 1, 1)  # every bench patient's birth date (bench.api_load_server.insert_practice)
NOBODY_BORN = date(1911, 11, 11)
PASSWORD = "correct horse battery staple"  # the bench's own throwaway users
TARGET = 1.10
ADMIN = ActorRef("bench-admin", "admin", Actor.STAFF)
STAFF = ActorRef("bench-staff", "staff", Actor.STAFF)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.failure_timing", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds; each runs every path once")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the database (default: a temporary one)")
    return parser.parse_args()


class Seeded:
    """What the failure paths present, each already in the state its path needs."""

    def __init__(self, flow: PortalFlow) -> None:
        self.flow = flow
        insert_practice(flow.db, [f"p{i}" for i in range(6)])
        for user in ("bench-admin", "wrong-pw", "paused", "deactivated", "no-password"):
            flow.users.create(ADMIN, user, user, "admin" if user == "bench-admin" else "staff",
                              linked_to_staff_record=True)
            if user != "no-password":
                flow.users.set_password(ADMIN, user, PASSWORD, "bench set-up")
        flow.users.create(ADMIN, "bench-staff", "Bench Staff", "staff", linked_to_staff_record=True)
        self.pins = {name: self._pin(f"p{i}") for i, name in enumerate(("open", "expired", "locked", "used"))}
        flow.present_pin(PresentPin(self.pins["used"], BORN))
        self.links = {name: self._link(f"p{4 + i}") for i, name in enumerate(("used", "expired"))}
        flow.present_link(self.links["used"])
        long_ago = datetime(2000, 1, 1)
        with flow.db.begin() as conn:
            for kind, name, values in (("pin", "expired", {"expires_at": long_ago}),
                                       ("pin", "locked", {"locked_at": long_ago}),
                                       ("link", "expired", {"expires_at": long_ago})):
                conn.execute(update(credentials).where(
                    (credentials.c.kind == kind) & (credentials.c.patient_id == self._owner[kind, name]))
                    .values(**values))
            conn.execute(update(staff_users).where(staff_users.c.id == "deactivated").values(active=False))
        self.reset()

    _owner: ClassVar[dict[tuple[str, str], str]] = {
        ("pin", "open"): "p0", ("pin", "expired"): "p1", ("pin", "locked"): "p2", ("pin", "used"): "p3",
        ("link", "used"): "p4", ("link", "expired"): "p5"}

    def _pin(self, patient_id: str) -> str:
        started = self.flow.start(StartEnrollment("nextgen-regenerate-expired-pin", STAFF, patient_id=patient_id))
        (shown,) = self.flow.advance(AdvanceEnrollment(started.enrollment_id, "generate_pin", STAFF)).shown
        return shown.value

    def _link(self, patient_id: str) -> str:
        started = self.flow.start(StartEnrollment("portal-invitation-reset-onboarding", STAFF, patient_id=patient_id))
        self.flow.advance(AdvanceEnrollment(started.enrollment_id, "enable_portal_access", STAFF,
                                            inputs={"enable_access": "onboarding_tool"}))
        (shown,) = self.flow.advance(AdvanceEnrollment(started.enrollment_id, "send_invitation", STAFF, inputs={
            "send_from": "onboarding_tool", "confirm_email_personal": True})).shown
        return shown.value.rsplit("/", 1)[-1]

    def reset(self) -> None:
        """Between rounds, untimed: the wrong-password user is not yet paused, the paused one still is, the open
        PIN is far from its 100-failure lock, and the bench's address is not paused."""
        far = datetime(2100, 1, 1)
        with self.flow.db.begin() as conn:
            conn.execute(update(staff_users).where(staff_users.c.id == "wrong-pw").values(
                failed_sign_ins=0, sign_in_paused_until=None))
            conn.execute(update(staff_users).where(staff_users.c.id == "paused").values(sign_in_paused_until=far))
            conn.execute(update(credentials).where(credentials.c.kind == "pin").values(failures=0))
            conn.execute(delete(sign_in_addresses))  # else the bench's own address pauses after 20 failures

    def paths(self) -> dict[str, tuple[str, Callable[[], None]]]:
        flow = self.flow

        def pin(text: str, born: date) -> Callable[[], None]:
            return lambda: _refused(lambda: flow.present_pin(PresentPin(text, born)))

        def link(token: str) -> Callable[[], None]:
            return lambda: _refused(lambda: flow.present_link(token))

        def sign_in(user: str, password: str) -> Callable[[], None]:
            return lambda: _refused(lambda: flow.users.log_in(user, password))

        return {
            "wrong PIN, birth date with open PINs": ("PIN", pin("ZZZZ-ZZZZ", BORN)),
            "wrong PIN, birth date with none": ("PIN", pin("ZZZZ-ZZZZ", NOBODY_BORN)),
            "right PIN, wrong birth date": ("PIN", pin(self.pins["open"], NOBODY_BORN)),
            "expired PIN": ("PIN", pin(self.pins["expired"], BORN)),
            "locked PIN": ("PIN", pin(self.pins["locked"], BORN)),
            "used PIN": ("PIN", pin(self.pins["used"], BORN)),
            "unknown link": ("link", link("x" * 43)),
            "used link": ("link", link(self.links["used"])),
            "expired link": ("link", link(self.links["expired"])),
            "unknown user": ("sign-in", sign_in("nobody-here", PASSWORD)),
            "wrong password": ("sign-in", sign_in("wrong-pw", PASSWORD + "!")),
            "right password, paused": ("sign-in", sign_in("paused", PASSWORD)),
            "right password, deactivated": ("sign-in", sign_in("deactivated", PASSWORD)),
            "user without a password": ("sign-in", sign_in("no-password", PASSWORD)),
        }


def _refused(call: Callable[[], object]) -> None:
    try:
        call()
    except (CredentialRefused, AuthenticationFailed):
        return
    raise AssertionError("a failure path succeeded: the bench's set-up is wrong")


def main() -> int:
    args = _arguments()
    with tempfile.TemporaryDirectory(prefix="portalflow-failure-timing-", dir=args.dir) as folder:
        root = Path(folder)
        flow = build(f"sqlite:///{root / 'portalflow.db'}", WORKFLOWS, key_file=root / "var" / "outbox.key",
                     mail_folder=root / "var" / "mail")  # the production Argon2id cost
        try:
            seeded = Seeded(flow)
            paths = seeded.paths()
            times: dict[str, list[float]] = {name: [] for name in paths}
            holds: dict[str, list[float]] = {name: [] for name in paths}
            order = list(paths)
            with LockHolds() as held:
                for _ in range(args.rounds):
                    random.shuffle(order)
                    for name in order:
                        held.clear()
                        began = time.perf_counter()
                        paths[name][1]()
                        times[name].append(time.perf_counter() - began)
                        holds[name].append(max(held, default=0.0))
                    seeded.reset()
        finally:
            flow.close()
    return _report(paths, times, holds)


class LockHolds(list[float]):
    """How long each write transaction held SQLite's write lock (the writer queue's turn), while in use."""

    def __enter__(self) -> LockHolds:
        self._enter, self._leave = WriterQueue.enter, WriterQueue.leave
        started: dict[int, float] = {}

        def enter(queue: WriterQueue) -> None:
            self._enter(queue)
            started[id(queue)] = time.perf_counter()

        def leave(queue: WriterQueue) -> None:
            self.append(time.perf_counter() - started.pop(id(queue), time.perf_counter()))
            self._leave(queue)

        WriterQueue.enter, WriterQueue.leave = enter, leave  # type: ignore[method-assign, assignment]
        return self

    def __exit__(self, *_: object) -> None:
        WriterQueue.enter, WriterQueue.leave = self._enter, self._leave  # type: ignore[method-assign]


def _report(paths: dict[str, tuple[str, Callable[[], None]]], times: dict[str, list[float]],
            holds: dict[str, list[float]]) -> int:
    medians = {name: statistics.median(values) for name, values in times.items()}
    longest = {name: max(values) for name, values in holds.items()}
    groups: dict[str, dict[str, float]] = {}
    for name, (group, _) in paths.items():
        groups.setdefault(group, {})[name] = medians[name]
    spreads = {}
    for group, members in groups.items():
        fastest = min(members.values())
        spreads[group] = max(members.values()) / fastest
        print(f"{group}: slowest / fastest median {spreads[group]:.3f}x "
              f"({'within' if spreads[group] <= TARGET else 'NOT within'} 10 %)")
        for name, median in sorted(members.items(), key=lambda item: item[1]):
            print(f"  {name:<36} {1000 * median:8.1f} ms  ({median / fastest:.3f}x)  "
                  f"write lock held at most {1000 * longest[name]:.1f} ms")
    wrong_pin_hold = max(longest[n] for n, (group, _) in paths.items() if group == "PIN")
    print(f"a PIN failure held the write lock at most {1000 * wrong_pin_hold:.1f} ms (target < 5 ms)")
    print_summary("failure_timing", {"spread": spreads, "median_ms": {n: 1000 * m for n, m in medians.items()},
                                     "pin_failure_lock_ms": 1000 * wrong_pin_hold,
                                     "within_10_percent": all(s <= TARGET for s in spreads.values())})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
