"""The page phase of `bench.api_load`: signed-in staff browsing and acting through the pages, as at a front desk.

Untimed: N staff users (default 16) get a password while seeding (hashed at the tests' low Argon2 cost, so that
seeding is quick) and sign in over HTTP like a browser: the sign-in page's nonce cookie, then the form. Timed: one
connection per user, each going round a visit of five pages with its own session cookie: the home page (the
four worklists' counts), a patient search, the patient's page, the enrollment's page, and the action
"enable portal access" posted from it (CSRF token, the version the page showed, the step's input): a transition
committed and the answer page rendered. Each visit acts on an enrollment of its own, so every POST moves one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from bench.api_load_server import HOST

PASSWORD = "bench clerk password"
_NONCE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Visits:
    """The request stream of the page phase, and how many actions it has sent (each is answered: the client
    waits for every answer of what it sent)."""

    cookies: list[str]
    enrollments: list[str]
    patients: list[str]
    acts: int = 0
    pages: int = 0
    _steps: Iterator[bytes] = field(init=False)

    def __post_init__(self) -> None:
        self._steps = self._all()

    def __iter__(self) -> Iterator[bytes]:
        return self._steps

    def _all(self) -> Iterator[bytes]:
        for number, (enrollment, patient) in enumerate(zip(self.enrollments, self.patients, strict=True)):
            cookie = self.cookies[number % len(self.cookies)]
            token = cookie.split("=", 1)[1]
            csrf = hmac.new(token.encode(), b"portalflow csrf", hashlib.sha256).hexdigest()
            for path in ("/app/home", f"/app/patients?q={patient}", f"/app/patients/{patient}",
                         f"/app/enrollments/{enrollment}"):
                self.pages += 1
                yield page_request("GET", path, cookie)
            form = urlencode({"csrf_token": csrf, "version": "1", "step.enable_access": "onboarding_tool"})
            self.acts += 1
            yield page_request("POST", f"/app/enrollments/{enrollment}/act/enable_portal_access", cookie,
                               form.encode())


def page_request(method: str, path: str, cookie: str, form: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Accept: text/html", f"Cookie: {cookie}"]
    if form is not None:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(form)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (form or b"")


def sign_in(port: int, user: str) -> str:
    """Sign in as a browser does; the session cookie as `name=value`."""
    with httpx.Client(base_url=f"http://{HOST}:{port}", follow_redirects=False, timeout=60) as client:
        page = client.get("/app/sign-in")
        nonce = _NONCE.search(page.text)
        if nonce is None:
            raise SystemExit("the sign-in page has no CSRF field")
        answer = client.post("/app/sign-in", data={"user_id": user, "password": PASSWORD, "next": "/app/home",
                                                   "csrf_token": nonce[1]})
        session = answer.cookies.get("pf_session")
        if answer.status_code != 303 or not session:
            raise SystemExit(f"{user} could not sign in: {answer.status_code} {answer.text[:300]}")
        return f"pf_session={session}"


def visits(port: int, users: list[str], enrollments: list[str], patients: list[str]) -> Visits:
    return Visits([sign_in(port, u) for u in users], enrollments, patients)


def clerks(count: int) -> list[str]:
    return [f"clerk{n:02d}" for n in range(1, count + 1)]

